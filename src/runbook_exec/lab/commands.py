"""``runbook-exec lab live``: flags in, the live stack started, exit status out."""

from __future__ import annotations

import argparse

# the defaults of livestack.py, repeated so the parser needs no lab import
DEFAULT_LIVE_DOCKER = "25.0.0"
DEFAULT_LIVE_KIND = "v0.20.0"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lab = sub.add_parser("lab", help="lab set-ups (the live target made of lab parts)")
    lsub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    live = lsub.add_parser(
        "live", help="run a command against a live target built from lab parts",
        description="Start a real dockerd of --docker and kind node containers of --kind in it, "
        "put that release's docker CLI and the real kind CLI first on PATH, set "
        "RUNBOOK_TARGET=live and DOCKER_HOST, run COMMAND, then remove everything. "
        "Needs root. Exit status: COMMAND's.",
    )
    live.add_argument("--docker", default=DEFAULT_LIVE_DOCKER, help="Docker release "
                      f"(default {DEFAULT_LIVE_DOCKER})")
    live.add_argument("--kind", default=DEFAULT_LIVE_KIND, help="kind release of the nodes "
                      f"(default {DEFAULT_LIVE_KIND})")
    live.add_argument("--kubelet", action="store_true", help="run a kubelet in the nodes")
    live.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    live.set_defaults(handler=_live)


def _live(args: argparse.Namespace) -> int:
    from .livestack import run_in_live_stack

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    return run_in_live_stack(command, docker=args.docker, kind=args.kind, kubelet=args.kubelet)
