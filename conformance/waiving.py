"""Waivers in a run (a feature plugin): which waivers file, read and checked before any case runs, handed to the
workers, checked against the collection, and given to the assessment (`given`), which alone applies them.

The file is `--conformance-waivers FILE`, or the target file's `waivers = "FILE"` (one or the other). An expired entry
is a usage error at once (one line naming the file, the entry and its id). Every waiver must name a requirement of
the catalogue or a case of the collection, taken before any selection (-k, -m, --conformance-shard): a waiver of a
case this shard leaves out is still known. An unknown id is a configuration error: no case runs, and the controller
reports it in one line (a worker that raised a usage error at collection would crash).
"""

from __future__ import annotations

import pytest

from conformance import catalogue, waivers
from conformance.options import STORE_TRUE, Option, add_to
from conformance.run import process_run
from conformance.waivers import Waiver, WaiverError

WAIVERS = Option("conformance_waivers", "waivers file (TOML: [[waiver]] id, reason, expires, link): a failure it "
                 "covers is WAIVED and does not fail the run", pytest="--conformance-waivers", cli=("--waivers",),
                 metavar="FILE", default_text="the target file's waivers = \"FILE\", else none")
STRICT = Option("conformance_strict_waivers", "a waiver whose requirement or case passed (stale) fails the run "
                "(exit 1)", pytest="--conformance-strict-waivers", cli=("--strict-waivers",), action=STORE_TRUE)
OPTIONS = (WAIVERS, STRICT)
KEY = pytest.StashKey[list[Waiver]]()
COLLECTED_KEY = pytest.StashKey[list[str]]()  # every node id collected, before any selection
WORKER_INPUT = "conformance_waivers"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def given(config: pytest.Config) -> tuple[list[Waiver], bool]:
    """The run's waivers, and whether a stale one fails it (--conformance-strict-waivers)."""
    return config.stash.get(KEY, []), bool(config.getoption(STRICT.dest, False))


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, "workerinput", None)
    config.stash[KEY] = [Waiver.from_dict(data) for data in worker.get(WORKER_INPUT, ())] if worker else \
        _load(config)
    config.stash[COLLECTED_KEY] = []


def _load(config: pytest.Config) -> list[Waiver]:
    """The run's waivers: --conformance-waivers, or the target file's `waivers`; read and checked."""
    path = config.getoption(WAIVERS.dest, None)
    target = process_run(config).target
    named = target.waivers if target is not None else None
    if path and named and target is not None:
        raise pytest.UsageError(f"--conformance-waivers {path}: the target file {target.source} already names a "
                                f"waivers file ({named}); give one or the other")
    chosen = path or named
    try:
        return waivers.load(chosen) if chosen else []
    except WaiverError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: the controller hands each worker the run's waivers
def pytest_configure_node(node: object) -> None:
    node.workerinput[WORKER_INPUT] = [waiver.as_dict() for waiver in node.config.stash[KEY]]  # type: ignore[attr-defined]


def pytest_itemcollected(item: pytest.Item) -> None:
    item.config.stash[COLLECTED_KEY].append(item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.stash[KEY]
    if not chosen:
        return
    collected: list[str] = config.stash[COLLECTED_KEY]
    problem = waivers.unknown(chosen, catalogue.load_all(), collected)
    if problem:
        process_run(config).problem = problem
        items[:] = []
