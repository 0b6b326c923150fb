"""The exception tree: drawn once in ``errors.py``'s docstring, defined there, and nowhere else.

Every subclass of :class:`RunbookExecError` found by importing every module of the package
must be a class of ``runbook_exec.errors``, drawn in the tree under the parent it really has.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import runbook_exec
from runbook_exec import errors

ERRORS_PY = Path(errors.__file__)

def drawn_tree(doc: str) -> dict[str, str | None]:
    """``{class: parent}`` from the box drawing (``├──``/``└──``, 4 columns a level)."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in doc.splitlines():
        m = re.match(r"^( *)((?:[│ ]   )*)(?:[├└]── )?([A-Z]\w*Error|RunbookExecError|\w+Timeout)\b",
                     line)
        if not m or not line.startswith("    "):
            continue
        name = m.group(3)
        branch = re.search(r"[├└]── ", line)
        depth = 0 if branch is None else (branch.start() - 4) // 4 + 1
        del stack[depth:]
        parents[name] = stack[-1] if stack else None
        stack.append(name)
    return parents


def all_modules() -> list[str]:
    names = ["runbook_exec"]
    for info in pkgutil.walk_packages(runbook_exec.__path__, "runbook_exec."):
        names.append(info.name)
    return names


def subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *subclasses(sub)}
    return found


def test_drawing_parses() -> None:
    tree = drawn_tree(errors.__doc__ or "")
    assert tree["RunbookExecError"] is None
    assert tree["CommandTimeout"] == "CommandError"
    assert tree["LedgerFormatError"] == "ExecutorError"
    assert len(tree) >= 12


def test_every_class_in_errors_py_is_drawn_under_its_real_parent() -> None:
    tree = drawn_tree(errors.__doc__ or "")
    defined = {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, errors.RunbookExecError)
    }
    assert sorted(defined) == sorted(tree)
    for name, cls in defined.items():
        parent = tree[name]
        if parent is None:
            continue
        own_bases = [b for b in cls.__bases__ if issubclass(b, errors.RunbookExecError)]
        assert [b.__name__ for b in own_bases] == [parent], name


def test_no_error_class_lives_outside_errors_py() -> None:
    for module in all_modules():
        importlib.import_module(module)
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in subclasses(errors.RunbookExecError)
        if cls.__module__ != "runbook_exec.errors" and cls.__module__.startswith("runbook_exec")
    )
    assert outside == [], (
        "define these in runbook_exec/errors.py and draw them in its tree: " + ", ".join(outside)
    )


def test_errors_imports_nothing_of_the_package() -> None:
    """errors.py is the leaf every room imports; it must not import back (errors ⇄ proc)."""
    tree = ast.parse(ERRORS_PY.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not any(name.startswith(".") or name.startswith("runbook_exec") for name in imported)


def test_value_errors_stay_value_errors() -> None:
    """Callers that caught ValueError before the classes joined the tree still catch them."""
    assert issubclass(errors.LedgerFormatError, ValueError)
    assert issubclass(errors.IndexFormatError, ValueError)
    assert errors.LedgerFormatError("x").exit_code == 2


def test_only_cli_main_prints_error_lines() -> None:
    """A handler raises a RunbookExecError; cli.main alone turns it into `error:` and a code."""
    src = Path(runbook_exec.__file__).parent
    printing = set()
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print"):
                continue
            text = "".join(
                part.value
                for arg in node.args
                for part in ast.walk(arg)
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
            )
            if "error:" in text:
                printing.add(path.relative_to(src.parent).as_posix())
    # the one-file doctor's entry point is a second ``main`` (kind-doctor.pyz has no cli.py)
    mains = {"runbook_exec/cli.py", "runbook_exec/doctor/standalone.py"}
    assert printing - mains == set()
