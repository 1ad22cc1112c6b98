"""The layers of ARCHITECTURE.md, checked on every module's imports (at the top and inside functions); and no import
circle anywhere in the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"
PROTOCOL_PACKAGES = ("vidicore", "spectra")

DATA = {"conformance", "conformance.descriptor", "conformance.catalogue", "conformance.tables", "conformance.names",
        "conformance.protocols", "conformance.status", "conformance.events", "conformance.options",
        *(f"conformance.{p}" for p in PROTOCOL_PACKAGES)}  # a package's __init__: data
CORE = {"conformance.results", "conformance.record", "conformance.check", "conformance.http", "conformance.generation",
        "conformance.validation", "conformance.judging", "conformance.target", "conformance.receiver",
        "conformance.waivers", "conformance.cleanup", "conformance.interruption", "conformance.ledger",
        "conformance.timing", "conformance.setup"}
RUN = {"conformance.run", "conformance.plugin", "conformance.hooks", "conformance.cli", "conformance.collection",
       "conformance.__main__",
       # the feature plugins (conformance.plugin.FEATURES), and what only commands use
       "conformance.preflight", "conformance.selection", "conformance.shards", "conformance.waiving",
       "conformance.generating",
       "conformance.timelimit", "conformance.exclusive", "conformance.receiving", "conformance.progress",
       "conformance.reports", "conformance.terminal", "conformance.resultsfile", "conformance.junit",
       "conformance.html", "conformance.allure_report", "conformance.diff", "conformance.interrupting",
       "conformance.ledgering", "conformance.sweep", "conformance.charts", "conformance.history"}
REFERENCE_MAY_READ = {"conformance.protocols", "conformance.descriptor",
                      *(f"conformance.{p}" for p in PROTOCOL_PACKAGES)}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(path: Path, name: str) -> set[str]:
    """Every conformance module `path` imports, resolved to module names (relative imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            known = modules()
            for alias in node.names:  # `from conformance import tables` imports conformance.tables
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    known = modules()
    return {module for module in found if module in known}


def layer(module: str) -> str:
    if module.startswith("conformance.reference"):
        return "reference"
    if module in DATA or module.startswith("conformance.catalogue"):
        return "data"
    if module in CORE:
        return "core"
    if module in RUN:
        return "run"
    if any(module.startswith(f"conformance.{p}.") for p in PROTOCOL_PACKAGES):
        return "protocols"
    raise AssertionError(f"{module}: in no layer of ARCHITECTURE.md")


def protocol_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in PROTOCOL_PACKAGES else None


ALLOWED = {"data": {"data"}, "core": {"data", "core"}, "protocols": {"data", "core", "protocols", "run"},
           "run": {"data", "core", "protocols", "run", "reference"}}
RUN_MAY_START_REFERENCE = {"conformance.run", "conformance.plugin", "conformance.cli", "conformance.preflight"}


@pytest.mark.parametrize("module", sorted(modules()))
def test_module_imports_only_what_its_layer_may(module):
    path = modules()[module]
    mine = layer(module)
    for other in sorted(imported(path, module) - {module}):
        theirs = layer(other)
        if mine == "reference":
            assert theirs == "reference" or other in REFERENCE_MAY_READ, \
                f"{module} (reference) imports {other}: the reference server shares no code with the suite"
            continue
        assert theirs in ALLOWED[mine], f"{module} ({mine}) may not import {other} ({theirs})"
        if mine == "data" and module == "conformance.protocols":
            continue
        if theirs == "reference":
            assert module in RUN_MAY_START_REFERENCE, f"{module} imports the reference server"
        if mine == "protocols" and theirs == "protocols":
            assert protocol_of(other) == protocol_of(module), f"{module} imports another protocol's {other}"
        # a protocol package reaching the run layer: test_cases_fixtures_alone_reach_the_run


def test_cases_fixtures_alone_reach_the_run():
    """A protocol package's cases fixtures may use `conformance.run` (the process's endpoints); nothing else of
    a protocol package reaches the run layer."""
    for module, path in modules().items():
        if layer(module) != "protocols":
            continue
        reached = {other for other in imported(path, module) if layer(other) == "run"}
        if module.endswith(".cases.conftest"):
            assert reached <= {"conformance.run"}, f"{module} imports {reached}"
        else:
            assert not reached, f"{module} imports {reached}"


def test_no_import_circle_anywhere_in_the_package():
    """Every import of the package (at the top or inside a function) forms a graph without a circle: a module can
    be read, tested and changed knowing only what it imports."""
    known = modules()
    graph = {name: imported(path, name) - {name} for name, path in known.items()}
    state: dict[str, str] = {}

    def visit(module: str, path: tuple[str, ...]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import circle: {' -> '.join((*path, module))}"
        state[module] = "open"
        for other in sorted(graph[module]):
            if other != "conformance" or module.count(".") == 0:  # `from conformance import x` names x, not the package
                visit(other, (*path, module))
        state[module] = "done"

    for module in sorted(graph):
        visit(module, ())


def test_every_feature_plugin_is_in_the_run_layer():
    from conformance import plugin

    assert set(plugin.FEATURES) <= RUN
