"""proc's echo switch: set for a block, restored after it, error or not."""

from __future__ import annotations

import pytest

from runbook_exec import proc


def test_echo_to_restores_the_echo_before_even_on_error() -> None:
    outer: list[str] = []
    inner: list[str] = []
    with proc.echo_to(outer.append):
        with pytest.raises(RuntimeError), proc.echo_to(inner.append):
            proc.echo("inside")
            raise RuntimeError("boom")
        proc.echo("after")
        with proc.quiet():
            proc.echo("hidden")
    assert inner == ["inside"] and outer == ["after"]


def test_terminations_calls_the_handler_and_puts_the_old_ones_back() -> None:
    import os
    import signal

    seen: list[int] = []
    before = signal.getsignal(signal.SIGTERM)
    with proc.terminations(seen.append):
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGTERM)
    assert seen == [signal.SIGHUP, signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is before
