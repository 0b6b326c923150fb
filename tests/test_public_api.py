"""The public surface: each room's ``__all__`` names exactly what it exports, and runbooks
import nothing else.

Public are the modules the package docstring lists (:data:`PUBLIC_MODULES`) and, in each,
the names of its ``__all__``. A runbook may import those modules and those names, and use
``module.name`` for such names; anything else (``runbook_exec.archive.reader``, ``proc._echo``)
is private, and ``reaches_past_all`` says where. The checker is itself checked on a fixture
runbook that reaches past ``__all__`` on purpose.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import mkdocsyml
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNBOOKS = sorted((ROOT / "runbooks").glob("*.py"))
FIXTURE = ROOT / "tests" / "fixtures" / "public_api" / "reaches_past_all.py"

PUBLIC_MODULES = (
    "runbook_exec.lab",
    "runbook_exec.archive",
    "runbook_exec.archive.refs",
    "runbook_exec.writers",
    "runbook_exec.doctor",
    "runbook_exec.engines",
    "runbook_exec.engines.toolchain",
    "runbook_exec.proc",
    "runbook_exec.errors",
)

def public_names(module: str) -> set[str]:
    mod = importlib.import_module(module)
    return set(getattr(mod, "__all__", ()))


def defined_here(module: str) -> set[str]:
    """Names a module (or package) defines itself that do not start with ``_``."""
    mod = importlib.import_module(module)
    room = module if hasattr(mod, "__path__") else None
    names = set()
    for name, value in vars(mod).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        origin = getattr(value, "__module__", None)
        if (inspect.isclass(value) or inspect.isfunction(value)) and origin and (
            origin == module or (room is not None and origin.startswith(room + "."))
        ):
            names.add(name)
    return names


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_all_names_exist_and_are_unique(module: str) -> None:
    mod = importlib.import_module(module)
    names = list(getattr(mod, "__all__", ()))
    assert names, f"{module} has no __all__"
    assert sorted(names) == sorted(set(names))
    assert [n for n in names if not hasattr(mod, n)] == []


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_what_looks_public_is_in_all(module: str) -> None:
    """A class or function of the room without a leading ``_`` is exported, or renamed private."""
    assert defined_here(module) - public_names(module) == set()


def reaches_past_all(path: Path) -> list[str]:
    """``line: what`` for each private thing of runbook_exec that ``path`` imports or uses."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound: dict[str, str] = {}  # local name -> the public module it stands for
    found: list[str] = []

    def private(line: int, what: str) -> None:
        found.append(f"{line}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("runbook_exec"):
            source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                local = alias.asname or alias.name
                if full in PUBLIC_MODULES:
                    bound[local] = full
                elif source not in PUBLIC_MODULES or alias.name not in public_names(source):
                    private(node.lineno, full)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "runbook_exec" or alias.name in PUBLIC_MODULES:
                    bound[alias.asname or alias.name] = alias.name
                elif alias.name.startswith("runbook_exec."):
                    private(node.lineno, alias.name)
                if alias.asname is None and "." in alias.name:  # `import a.b` binds `a`
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def module_of(expr: ast.expr) -> str | None:
        """The public module an expression names (``proc``, ``runbook_exec.lab``), if any."""
        if isinstance(expr, ast.Name):
            return bound.get(expr.id)
        if isinstance(expr, ast.Attribute):
            outer = module_of(expr.value)
            if outer is not None and f"{outer}.{expr.attr}" in PUBLIC_MODULES:
                return f"{outer}.{expr.attr}"
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            module = module_of(node.value)
            if module is None or re.fullmatch(r"__\w+__", node.attr):
                continue
            full = f"{module}.{node.attr}"
            if module == "runbook_exec":
                if full not in PUBLIC_MODULES:
                    private(node.lineno, full)
            elif full not in PUBLIC_MODULES and node.attr not in public_names(module):
                private(node.lineno, full)
    return sorted(set(found), key=lambda s: (int(s.split(":")[0]), s))


def test_the_checker_sees_a_runbook_reaching_past_all() -> None:
    assert reaches_past_all(FIXTURE) == [
        "6: runbook_exec.lab._deps",
        "8: runbook_exec.archive.reader.blob_path",
        "9: runbook_exec.engines._select_nothing",
        "11: runbook_exec.writers.source.image_from_save",
        "13: runbook_exec.proc._echo",
        "14: runbook_exec.lab._deps",
    ]


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda p: p.stem)
def test_runbooks_use_only_the_public_surface(runbook: Path) -> None:
    assert reaches_past_all(runbook) == []


def test_version_is_known() -> None:
    import runbook_exec

    assert re.fullmatch(r"\d+\.\d+\.\d+.*", runbook_exec.__version__)


def test_doctor_links_point_at_the_published_site(monkeypatch: pytest.MonkeyPatch) -> None:
    from runbook_exec.doctor import findings

    monkeypatch.delenv("RUNBOOK_EXEC_HANDBOOK_URL", raising=False)
    # one configured site_url: the doctor reads what a build of mkdocs.yml would get
    seen = []
    for env in ({}, {"HANDBOOK_SITE_URL": "https://handbook.dev/kind/"},
                {"HANDBOOK_SITE_URL": "https://kind.example.org/"}):
        monkeypatch.delenv("HANDBOOK_SITE_URL", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        site_url = mkdocsyml.load(**env)["site_url"] or ""
        assert findings._configured_url() == site_url
        if findings.handbook_url() is None:  # unset or a placeholder: never printed
            assert not site_url or findings._PLACEHOLDER.match(site_url)
            assert findings.page_url("errors/wrong-diff-id") == "en/errors/wrong-diff-id/"
        else:
            assert f"{site_url}en/errors/wrong-diff-id/" == findings.page_url("errors/wrong-diff-id")
        seen.append(findings.handbook_url())
    assert seen == [None, "https://handbook.dev/kind/", None]  # unset, set, placeholder
