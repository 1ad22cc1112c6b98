"""Sharding a run over CI jobs, and merging the shards' results into the run they are parts of (a feature plugin).

`--conformance-shard K/N` (`conformance run --shard K/N`) keeps a stable 1/N of the selected cases: cases are
grouped by area (the area their module declares, per protocol: CRUD, roles, deliveries, ...; see
`conformance.collection`), so a shard's cases share their set-up, and the groups are dealt largest first to the
shard with the fewest cases so far (ties: the lower shard), a deal every shard computes alike from the same
selection (after every other selection, -k and -m included). The N shards together run every selected case exactly
once.

`conformance merge A.json B.json ... -o run.json` reads each shard's results file (its cases' records, the
passed ones as digests without evidence, its processes' summaries, its waivers) and assesses them again as one
run: the statuses, the environment rule, the waivers and the verdict are those a single run of every case would
have had. The merged metadata is the run's (`conformance.reports.assessed_meta`); shards whose suite version,
catalogue, target file, generation settings or waivers differ are not parts of one run, and are refused.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable, Generator, Sequence
from typing import Any

import pytest

from conformance import catalogue, collection, protocols, resultsfile
from conformance.options import Option, add_to
from conformance.record import CaseRecord, ProcessSummary, utc
from conformance.reports import assessed_meta
from conformance.results import Assessment, assess
from conformance.resultsfile import ResultsFileError
from conformance.status import ExitCode, Status, exit_help
from conformance.waivers import Waiver

# what every shard of one run has alike in its metadata (the merge refuses shards that differ)
SAME_IN_EVERY_SHARD = ("suite_version", "catalogue_sha256", "target_sha256", "generation", "strict_waivers")


class ShardError(ValueError):
    """A shard spec or a set of results files that cannot be merged; str() is one line."""


def parse(spec: str) -> tuple[int, int]:
    """"K/N" -> (K, N), 1 <= K <= N."""
    k, sep, n = spec.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise ShardError(f"expected K/N with 1 <= K <= N (e.g. 2/4), got {spec!r}")
    return int(k), int(n)


def _shard(value: str) -> str:
    try:
        parse(value)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


SHARD = Option("conformance_shard", "run only the K-th of N shards of the selected cases (grouped by area; for CI "
               "fleets: one job per shard, then `conformance merge` their results files)",
               pytest="--conformance-shard", cli=("--shard",), metavar="K/N", type=_shard, default_text="all")
OPTIONS = (SHARD,)


def group(item: pytest.Item) -> str:
    """What a case is dealt to a shard with: its protocol's area ("vidicore:crud")."""
    found = collection.facts(item)
    return f"{found.protocol}:{found.area}" if found is not None else item.nodeid.split("::", 1)[0]


def deal(groups: Sequence[str], shards: int) -> dict[str, int]:
    """Group -> shard (1-based), given each case's group: largest groups first, each to the shard with the fewest
    cases so far."""
    sizes: dict[str, int] = {}
    for name in groups:
        sizes[name] = sizes.get(name, 0) + 1
    load = [0] * shards
    dealt = {}
    for name in sorted(sizes, key=lambda name: (-sizes[name], name)):
        shard = min(range(shards), key=lambda s: (load[s], s))
        dealt[name] = shard + 1
        load[shard] += sizes[name]
    return dealt


def read(path: str) -> tuple[dict[str, Any], list[CaseRecord], list[ProcessSummary]]:
    """One results file: its metadata, its cases' records (the passed ones without evidence) and its processes'
    summaries."""
    found = resultsfile.read(path)
    return found.meta, found.records(), found.processes()


def rebuild(path: str) -> tuple[Assessment, dict[str, Any]]:
    """The run one results file holds, assessed again (as `merge` does, its waivers applied again), with the
    file's own metadata: what `conformance report` builds reports from."""
    meta, records, processes = read(path)
    assessment = _assess(records, processes, [meta], path)
    meta.update(environment_error=assessment.environment_error, exit_code=assessment.exit_code)
    return assessment, meta


def _assess(records: Sequence[CaseRecord], processes: Sequence[ProcessSummary], metas: Sequence[dict[str, Any]],
            path: str) -> Assessment:
    """The records assessed as one run, with the waivers and settings the (first) file's metadata names; refused
    when a file was made with another requirement catalogue than this suite's."""
    digests = {meta.get("catalogue_sha256") for meta in metas} - {None}
    if digests and digests != {catalogue.digest()}:
        raise ResultsFileError(f"{path}: made with another requirement catalogue (sha256 {digests.pop()}) than this "
                         f"suite's ({catalogue.digest()}); use the suite version that made it "
                         f"({metas[0].get('suite_version')})")
    catalogues = {protocol: catalogue.load(protocol) for protocol in protocols.NAMES}
    interrupted = [str(meta.get("interrupted")) for meta in metas if meta.get("interrupted")]
    given = [Waiver.from_dict(use) for use in metas[0].get("waivers", ())]
    return assess(catalogues, list(records), list(processes), "; ".join(interrupted) or None, given,
                  bool(metas[0].get("strict_waivers")))


def merge(paths: Sequence[str]) -> tuple[Assessment, dict[str, Any]]:
    """The run the shards' results files are parts of, assessed again; and its merged metadata."""
    records: dict[str, CaseRecord] = {}
    processes: list[ProcessSummary] = []
    metas = []
    for path in paths:
        meta, shard_records, summaries = read(path)
        metas.append(meta)
        for record in shard_records:
            if record.case in records:
                raise ResultsFileError(f"{path}: case {record.case} is also in an earlier file (the same shard twice?)")
            records[record.case] = record
        processes.extend(summaries)
    for key in SAME_IN_EVERY_SHARD:
        _same(paths, metas, key, functools.partial(_get, key=key))
    _same(paths, metas, "waivers", lambda meta: [_waiver(use) for use in meta.get("waivers", ())])
    assessment = _assess(list(records.values()), processes, metas, paths[0])
    started = min(meta.get("started", time.time()) for meta in metas)
    finished = max(meta.get("finished", time.time()) for meta in metas)
    meta = {
        "started": started, "finished": finished, "started_at": utc(started), "finished_at": utc(finished),
        "merged": list(paths), "shards": [meta.get("shard") for meta in metas],
        "python": metas[0].get("python"), "faults": sorted({f for meta in metas for f in meta.get("faults", ())}),
        "behaviours": sorted({b for meta in metas for b in meta.get("behaviours", ())}),
        **{key: metas[0].get(key) for key in ("target_file", "target_sha256", "generation")},
        **assessed_meta(assessment),
    }
    return assessment, meta


def _get(meta: dict[str, Any], key: str) -> Any:
    return meta.get(key)


def _waiver(use: dict[str, Any]) -> tuple:
    """What makes a waiver the same one in two shards (not what it did there)."""
    return use["id"], use["reason"], use["expires"], use.get("link")


def _same(paths: Sequence[str], metas: list[dict[str, Any]], key: str, value: Callable[[dict], Any]) -> None:
    """The shards are parts of one run: `key` is the same in every shard's metadata (absent in older files)."""
    first = value(metas[0])
    for path, meta in zip(paths[1:], metas[1:], strict=False):
        if value(meta) != first:
            raise ResultsFileError(f"{path}: {key} not the same as in {paths[0]}: the shards are not parts of one run "
                             "(the same suite, catalogue, target file, generation profile and seed, waivers)")


# --- the plugin: --conformance-shard K/N ----------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def pytest_conformance_meta(config: pytest.Config) -> dict[str, Any]:
    return {"shard": config.getoption(SHARD.dest, None)}


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None, None, None]:
    """After every other selection: keep this shard's groups."""
    yield
    spec = config.getoption(SHARD.dest, None)
    if not spec:
        return
    k, n = parse(spec)
    dealt = deal([group(item) for item in items], n)
    dropped = [item for item in items if dealt[group(item)] != k]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if dealt[group(item)] == k]


# --- `conformance merge` --------------------------------------------------------------------------------------


def add_command(commands: Any) -> None:
    merge_parser = commands.add_parser("merge", help="join shards' results files into the results of the whole run",
                                       epilog=exit_help())
    merge_parser.add_argument("results", nargs="+", metavar="SHARD.json", help="each shard's results file (--results)")
    merge_parser.add_argument("-o", "--output", metavar="FILE", default=os.path.join("reports", "results.json"),
                              help="the whole run's results file (default: %(default)s)")
    merge_parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> ExitCode:
    try:
        assessment, meta = merge(args.results)
    except ResultsFileError as exc:
        print(f"conformance merge: error: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    resultsfile.write(args.output, assessment, meta)
    for result in assessment.results:
        if result.status is not Status.PASS:
            print(f"{result.status:<12}{result.requirement.level:<7}{result.requirement.id}")
    print(f"{len(assessment.records)} cases from {len(args.results)} results files; written to {args.output}")
    print(assessment.verdict.line)
    return assessment.exit_code
