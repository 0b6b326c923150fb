"""The lab registry loses the race for 127.0.0.1:5000 to another run and moves to a free port
instead of failing (two runs at once, e.g. CI beside a reader's own run)."""

from __future__ import annotations

import socket

import pytest

from runbook_exec import proc
from runbook_exec.lab import registry as registry_mod


@pytest.mark.daemons
def test_registry_moves_to_a_free_port_when_its_port_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        real = registry_mod._free_port
        # the probe says "free" for a port another process then holds: the race, made certain
        monkeypatch.setattr(registry_mod, "_free_port",
                            lambda preferred=5000: busy if preferred else real(0))
        with proc.quiet(), registry_mod.Registry() as reg:
            reg.start()
            assert reg.port not in (0, busy)
            assert reg.host == f"127.0.0.1:{reg.port}"
