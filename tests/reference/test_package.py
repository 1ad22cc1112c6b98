"""The reference package's own rooms: its modules import one another without a cycle, and nothing from the suite.

Read from the source (ast), so an import made only for type checking or inside a function counts as well. Importing
`a.b.c` also runs the package `a.b`'s __init__, so it counts as importing that package too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import conformance.reference

PACKAGE = "conformance.reference"
ROOT = Path(conformance.reference.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join((PACKAGE, *parts))


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, as absolute names (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # `from . import x` may name a module
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for imported in _imports(path):
            parts = imported.split(".")
            # importing a.b.c runs a.b's __init__ first (and a's, which every module of the package shares)
            targets |= {".".join(parts[:n]) for n in range(3, len(parts) + 1)} & set(modules)
        graph[name] = targets - {name, *_parents(name)}
    return graph


def _parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts))}


# The one thing of the suite the reference reads: its list of protocols (descriptors: data, no code of theirs).
DESCRIPTOR_LIST = {"conformance.protocols", "conformance.protocols.PROTOCOLS"}


def test_the_reference_package_imports_nothing_from_the_suite() -> None:
    for path in ROOT.rglob("*.py"):
        suite = sorted(name for name in _imports(path)
                       if name.startswith("conformance.") and not name.startswith(PACKAGE + ".")
                       and name not in ("conformance", PACKAGE, *DESCRIPTOR_LIST))
        assert suite == [], f"{path.relative_to(ROOT)} imports {suite}"


def test_the_modules_of_the_reference_package_form_no_import_cycle() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path[path.index(name):], name))}"
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())
    assert {f"{PACKAGE}.vidicore.jobs", f"{PACKAGE}.spectra.jobs", f"{PACKAGE}.spectra.app"} <= set(graph)  # the rooms
    assert f"{PACKAGE}.spectra.app" not in graph[f"{PACKAGE}.spectra.jobs"]  # the job engine is below the app
