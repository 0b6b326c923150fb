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
