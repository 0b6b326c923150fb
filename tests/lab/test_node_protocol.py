"""Both kinds of node implement the lab door's ``NodeLike`` protocol, member by member and
with the same parameters, so a runbook written against one runs against the other."""

from __future__ import annotations

import inspect

import pytest

from runbook_exec.lab import LiveNode, Node
from runbook_exec.lab.live import NodeLike, kind_for_containerd, parse_containerd_version

MEMBERS = [m for m in vars(NodeLike) if not m.startswith("_")] + list(NodeLike.__annotations__)


@pytest.mark.parametrize("cls", [Node, LiveNode])
@pytest.mark.parametrize("member", sorted(set(MEMBERS)))
def test_node_kinds_have_every_protocol_member(cls: type, member: str) -> None:
    # a class attribute or property, or an attribute every instance sets in __init__
    assert hasattr(cls, member) or f"self.{member} = " in inspect.getsource(cls.__init__), member
    want = getattr(NodeLike, member, None)
    have = getattr(cls, member, None)
    if inspect.isfunction(want):
        assert inspect.isfunction(have), f"{cls.__name__}.{member} is not a method"
        wanted = [(p.name, p.kind) for p in inspect.signature(want).parameters.values()]
        got = [(p.name, p.kind) for p in inspect.signature(have).parameters.values()]
        assert got == wanted, f"{cls.__name__}.{member}{inspect.signature(have)}"
    if isinstance(want, property):  # a read-only member: a property or a plain attribute
        assert isinstance(have, property) or f"self.{member} = " in inspect.getsource(
            cls.__init__), f"{cls.__name__}.{member} is neither a property nor an attribute"


def test_live_node_reads_containerd_version_and_kind() -> None:
    out = "containerd github.com/containerd/containerd v1.7.1 1677a17964311325ed1c31e2c0\n"
    assert parse_containerd_version(out) == "1.7.1"
    assert kind_for_containerd("1.7.1") == "v0.20.0"
    assert kind_for_containerd("2.3.4") == "v0.33.0"
    assert kind_for_containerd("1.6.0") is None
