"""The Go map model against its definition and against real Go: the toolchain that built
Docker 25.0.0 (go1.21.6, the classic map; Go >= 1.24 iterates Swiss tables differently)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from runbook_exec import proc
from runbook_exec.engines import table, toolchain
from runbook_exec.errors import EngineError
from runbook_exec.writers.gomap import GO_CHECK, GoMap, iteration_order, p_in_order

GO_PROGRAM = GO_CHECK
TRIALS = 20000
TOLERANCE = 0.02


DOCKER_25_GO = table.spec("dockerd-25.0.0").go


def _run_go(tmp_path: Path, *args: str) -> dict[int, tuple[float, float]]:
    try:
        go = toolchain.go_binary()
    except EngineError as exc:
        pytest.fail(str(exc))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "GOCACHE": str(tmp_path / "gocache"),
        # the toolchain comes from the module proxy once per machine (module cache)
        "GOTOOLCHAIN": f"go{DOCKER_25_GO}",
        "GOPROXY": os.environ.get("GOPROXY", "https://proxy.golang.org,direct"),
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
    }
    version = proc.run([go, "version"], timeout=300, env=env, echo=False).stdout
    assert f"go{DOCKER_25_GO} " in version, version
    res = proc.run([go, "run", str(GO_PROGRAM), *args], timeout=120, env=env, echo=False)
    table: dict[int, tuple[float, float]] = {}
    for line in res.stdout.splitlines():
        n, frac, adjacent = line.split()
        table[int(n)] = (float(frac), float(adjacent))
    return table


def _adjacent(order: list[int]) -> int:
    return sum(1 for a, b in zip(order, order[1:], strict=False) if a + 1 == b)


def test_gomap_small_maps_iterate_as_a_rotation() -> None:
    rng = random.Random(7)
    for n in range(1, 9):
        keys = list(range(n))
        for _ in range(50):
            order = iteration_order(keys, rng)
            assert sorted(order) == keys
            # one bucket: slots visited from a random offset with wrap-around, so the
            # order is the insertion order cut once and swapped
            start = order.index(0)
            assert order[start:] + order[:start] == keys


def test_gomap_duplicates_collapse_to_first_slot() -> None:
    order = iteration_order(["a", "b", "a", "c", "b"], random.Random(3))
    assert sorted(order) == [0, 1, 2]


def test_gomap_seed_fixes_the_order() -> None:
    keys = [f"k{i}" for i in range(20)]
    assert iteration_order(keys, random.Random(11)) == iteration_order(keys, random.Random(11))


def test_gomap_grows_and_keeps_every_key() -> None:
    m = GoMap(random.Random(5))
    for k in range(1000):
        m.assign(k)
        m.assign(k // 2)  # re-assignments move evacuation on, as in Go
    assert m.count == 1000
    assert sorted(m.iterate()) == list(range(1000))


def test_gomap_p_in_order_matches_real_go(tmp_path: Path) -> None:
    real = _run_go(tmp_path, "-trials", str(TRIALS), "-min", "1", "-max", "16")
    rng = random.Random(20240119)
    rows = []
    for n in range(1, 17):
        model = p_in_order(n, TRIALS, rng)
        rows.append((n, model, real[n][0]))
    report = "\n".join(f"n={n:2d} model={m:.4f} go={g:.4f}" for n, m, g in rows)
    print(report)
    assert all(abs(m - g) <= TOLERANCE for _, m, g in rows), report
    # the published figures, (9-n)/8 for one bucket
    for n in (2, 5, 8):
        assert abs(rows[n - 1][1] - (9 - n) / 8) <= TOLERANCE


def test_gomap_growth_in_progress_matches_real_go(tmp_path: Path) -> None:
    """From 27 keys the map is often iterated while it grows from 4 to 8 buckets; the
    in-order fraction is ~0 there, so compare the mean count of adjacent pairs."""
    trials = 3000
    real = _run_go(tmp_path, "-trials", str(trials), "-min", "26", "-max", "29")
    rng = random.Random(27)
    for n in range(26, 30):
        keys = list(range(n))
        mean = sum(_adjacent(iteration_order(keys, rng)) for _ in range(trials)) / trials
        assert abs(mean - real[n][1]) <= 0.15, (n, mean, real[n][1])
