"""Shared fixtures of the project's own tests (the conformance cases have theirs in the package)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


@pytest.hookimpl(optionalhook=True)  # only pytest-xdist (the dev extra) defines this hook
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core. Most of this project's test time is spent waiting on sockets, servers
    and deliveries, so a second worker per core overlaps the waits (measured: see the closing notes)."""
    return 2 * (os.cpu_count() or 1)


# The longest tests of the project (minutes each, under a loaded CI): started first, they run beside the rest; started
# last, they alone would set when a run on two cores ends.
LONGEST = ("test_clean_reference_server_passes_certify", "test_parallel.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not any(name in item.nodeid for name in LONGEST))  # stable: the rest keep order


# What an in-process run imports but never changes: loaded once per test process, before pytester's snapshot of
# sys.modules, so every run keeps it. pytester removes whatever a run imported when the run ends; without this, each
# of the project's 200-odd in-process runs imported xmlschema and the reference server again and built every XSD
# again (about a fifth of a small run's CPU), and a module of one run could meet a class of the run before it (a
# DocumentError of another import, not caught). The protocols' cases are left out: each run collects them afresh.
LIBRARIES = ("xmlschema", "elementpath", "defusedxml.ElementTree", "hypothesis.stateful")


@pytest.fixture(scope="session")
def _preloaded() -> None:
    import importlib
    import pkgutil

    import conformance
    from conformance import validation

    for name in LIBRARIES:
        importlib.import_module(name)
    for module in pkgutil.walk_packages(conformance.__path__, "conformance."):
        if ".cases" not in module.name and module.name != "conformance.__main__":
            importlib.import_module(module.name)
    for schema in validation.schemas_dir().rglob("*.xsd"):
        validation.get_schema(schema.relative_to(validation.schemas_dir()).as_posix())


@pytest.fixture
def run_suite(_preloaded: None, pytester: pytest.Pytester):
    """Run conformance cases in-process with pytester; returns (RunResult, results.json as a dict)."""

    def run(*args: str, protocol: str = "conformance.vidicore"):
        out = pytester.path / "results.json"
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q", "--assert=plain", "--pyargs", protocol,
                                              "--conformance-results", str(out), *args)
        data = json.loads(out.read_text()) if out.exists() else None
        return result, data

    return run


def toml(data: dict, path: tuple[str, ...] = ()) -> str:
    """TOML for nested tables of strings, numbers and booleans (a target file as a vendor would write it)."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = [f"[{'.'.join(path)}]"] if path and (scalars or not tables) else []
    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in scalars.items()]
    text = "\n".join(lines) + ("\n" if lines else "")
    return text + "".join(toml(value, (*path, key)) for key, value in tables.items())


def statuses(data: dict, *wanted: str) -> set[str]:
    """Requirement ids of a results.json with one of the wanted statuses."""
    assert data is not None, "the run wrote no results.json (it ended before its summary)"
    return {r["id"] for r in data["requirements"] if r["status"] in wanted}


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).parent


def once(name: str, tmp_path_factory: pytest.TempPathFactory, make):
    """`make(folder)` run once for the whole test session, whichever pytest-xdist worker asks first (the others wait
    for it and read what it left): for the few end-to-end runs several tests judge. `make` returns JSON-able data
    and may leave files in `folder`; returns (data, folder)."""
    import fcntl

    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root  # the session's, shared by the workers
    folder = root / f"once-{name}"
    with open(root / f"once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / f"once-{name}.json"
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_text(json.dumps(make(folder)))
    return json.loads(done.read_text()), folder
