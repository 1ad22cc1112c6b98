"""Sharding a run over CI jobs, and merging the shards' results into the run they are parts of.

`--conformance-shard K/N` (`conformance run --shard K/N`) keeps a stable 1/N of the selected cases: cases are
grouped by area (their module: CRUD, roles, deliveries, ...; `AREAS` names each area, for `-m` too), so a
shard's cases share their set-up, and the groups are dealt largest first to the shard with the fewest cases so far
(ties: the lower shard), a deal every shard computes alike from the same selection. The N shards together run
every selected case exactly once.

`conformance merge A.json B.json ... -o run.json` reads each shard's results file (its cases' records, the
passed ones as digests without evidence, its processes' summaries, its waivers) and assesses them again as one
run: the statuses, the environment rule, the waivers and the verdict are those a single run of every case would
have had. The merged metadata is the run's (`conformance.reports.assessed_meta`); shards whose suite version,
catalogue, target file, generation settings or waivers differ are not parts of one run, and are refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from conformance import catalogue, protocols
from conformance.record import CaseRecord, ProcessSummary, utc
from conformance.reports import assessed_meta
from conformance.results import Assessment, assess
from conformance.waivers import Waiver

# what every shard of one run has alike in its metadata (the merge refuses shards that differ)
SAME_IN_EVERY_SHARD = ("suite_version", "catalogue_sha256", "target_sha256", "generation", "strict_waivers")


class ShardError(ValueError):
    """A shard spec or a results file that cannot be used; str() is one line."""


def parse(spec: str) -> tuple[int, int]:
    """"K/N" -> (K, N), 1 <= K <= N."""
    k, sep, n = spec.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise ShardError(f"expected K/N with 1 <= K <= N (e.g. 2/4), got {spec!r}")
    return int(k), int(n)


# Area (a selection marker, `-m crud`) -> what it holds and the case modules that hold it (`protocol/module` for one
# protocol's only): one module is one concern, so a case's area is its module's (the unit the shards are dealt by).
# A module may be in two areas: `delivery` is every case that waits for a delivery (`-m "not delivery"` needs no
# receiver the target can reach).
AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "crud": ("create, retrieve, change, delete and list (VidiCore paths with and without a trailing slash too)",
             ("test_create.py", "test_retrieve.py", "test_change.py", "test_delete.py", "test_list.py",
              "test_paths.py", "test_registrations.py")),
    "not_found": ("unknown ids and entities: 404", ("test_not_found.py",)),
    "invalid": ("refused input: invalid documents and requests answer 400 (404 for an unknown job) and store "
                "nothing", ("test_invalid.py",)),
    "negotiation": ("formats and media types: JSON bodies, text/plain answers, Content-Type of XML answers",
                    ("test_negotiation.py",)),
    "roles": ("authentication and who may do what", ("test_access.py",)),
    "delivery": ("every case that waits for a delivery from the server to the suite's receiver",
                 ("test_delivery.py", "test_naming.py", "test_bookkeeping.py", "spectra/test_generated_model.py")),
    "naming": ("the Spectra payload in every naming convention, format and method", ("test_naming.py",)),
    "bookkeeping": ("the delivery bookkeeping of Spectra registrations", ("test_bookkeeping.py",)),
    "generated": ("cases whose inputs Hypothesis generates (-m 'not generated' leaves them out)",
                  ("test_generated.py", "test_generated_model.py")),
}


def area(nodeid: str) -> str:
    """A case's area: its module (`conformance/vidicore/cases/test_delivery.py`)."""
    return nodeid.split("::", 1)[0]


def areas(protocol: str, nodeid: str) -> tuple[str, ...]:
    """The names of a case's area (`AREAS`): none for a module no area holds."""
    module = area(nodeid).rpartition("/")[2]
    return tuple(name for name, (_, modules) in AREAS.items()
                 if module in modules or f"{protocol}/{module}" in modules)


def deal(nodeids: Sequence[str], shards: int) -> dict[str, int]:
    """Area -> shard (1-based): largest areas first, each to the shard with the fewest cases so far."""
    sizes: dict[str, int] = {}
    for nodeid in nodeids:
        sizes[area(nodeid)] = sizes.get(area(nodeid), 0) + 1
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
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        parts = [*data.get("cases", ()), *data["digests"]]
        summaries = [ProcessSummary.from_dict(p) for p in data["processes"]]
        return dict(data["meta"]), [CaseRecord.from_dict(part) for part in parts], summaries
    except FileNotFoundError:
        raise ShardError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ShardError(f"{path}: not JSON ({exc})") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ShardError(f"{path}: not a results file of this suite (with digests and processes): "
                         f"{' '.join(str(exc).split())[:200]}") from None


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
        raise ShardError(f"{path}: made with another requirement catalogue (sha256 {digests.pop()}) than this "
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
                raise ShardError(f"{path}: case {record.case} is also in an earlier file (the same shard twice?)")
            records[record.case] = record
        processes.extend(summaries)
    for key in SAME_IN_EVERY_SHARD:
        _same(paths, metas, key, lambda meta: meta.get(key))
    _same(paths, metas, "waivers", lambda meta: [_waiver(use) for use in meta.get("waivers", ())])
    assessment = _assess(list(records.values()), processes, metas, paths[0])
    started = min(meta.get("started", time.time()) for meta in metas)
    finished = max(meta.get("finished", time.time()) for meta in metas)
    meta = {
        "started": started, "finished": finished, "started_at": utc(started), "finished_at": utc(finished),
        "merged": list(paths), "shards": [meta.get("shard") for meta in metas],
        "python": metas[0].get("python"), "faults": sorted({f for meta in metas for f in meta.get("faults", ())}),
        **{key: metas[0].get(key) for key in ("target_file", "target_sha256", "generation")},
        **assessed_meta(assessment),
    }
    return assessment, meta


def _waiver(use: dict[str, Any]) -> tuple:
    """What makes a waiver the same one in two shards (not what it did there)."""
    return use["id"], use["reason"], use["expires"], use.get("link")


def _same(paths: Sequence[str], metas: list[dict[str, Any]], key: str, value: Callable[[dict], Any]) -> None:
    """The shards are parts of one run: `key` is the same in every shard's metadata (absent in older files)."""
    first = value(metas[0])
    for path, meta in zip(paths[1:], metas[1:]):
        if value(meta) != first:
            raise ShardError(f"{path}: {key} not the same as in {paths[0]}: the shards are not parts of one run "
                             "(the same suite, catalogue, target file, generation profile and seed, waivers)")
