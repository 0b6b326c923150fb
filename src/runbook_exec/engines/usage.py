"""Which engines a process used, for the executor's cache key and the verification page.

The executor sets ``RUNBOOK_ENGINES_USED`` to a file before it starts a runbook's kernel;
every engine the lab starts is appended there as one JSON line (name, module, Go, digest).
Nothing is recorded when the variable is unset.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "RUNBOOK_ENGINES_USED"


def record_use(name: str, entry: dict[str, object]) -> None:
    """Append one engine use to the file named by ``RUNBOOK_ENGINES_USED`` (if set)."""
    target = os.environ.get(ENV)
    if not target:
        return
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"name": name, **entry}, sort_keys=True) + "\n")


def used(path: Path) -> dict[str, dict[str, object]]:
    """The engines recorded in ``path``: name -> its last record (empty if none)."""
    found: dict[str, dict[str, object]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return found
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("name"), str):
            found[record["name"]] = record
    return found
