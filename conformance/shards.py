"""Sharding a run over CI jobs, and merging the shards' results into the run they are parts of.

`--conformance-shard K/N` (`conformance run --shard K/N`) keeps a stable 1/N of the selected cases: cases are
grouped by area (their module: CRUD, roles, deliveries, registrations, ...), so a shard's cases share their
set-up, and the groups are dealt largest first to the shard with the fewest cases so far (ties: the lower
shard), a deal every shard computes alike from the same selection. The N shards together run every selected
case exactly once.

`conformance merge A.json B.json ... -o run.json` reads each shard's results file (its cases' records, the
passed ones as digests without evidence, and its processes' summaries) and assesses them again as one run: the
statuses, the environment rule and the verdict are those a single run of every case would have had.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from conformance import catalogue, protocols
from conformance.record import CaseRecord, ProcessSummary
from conformance.results import Assessment, assess


class ShardError(ValueError):
    """A shard spec or a results file that cannot be used; str() is one line."""


def parse(spec: str) -> tuple[int, int]:
    """"K/N" -> (K, N), 1 <= K <= N."""
    k, sep, n = spec.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise ShardError(f"expected K/N with 1 <= K <= N (e.g. 2/4), got {spec!r}")
    return int(k), int(n)


def area(nodeid: str) -> str:
    """A case's area: its module (`conformance/vidicore/cases/test_delivery.py`)."""
    return nodeid.split("::", 1)[0]


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
    """The run one results file holds, assessed again (as `merge` does), with the file's own metadata: what
    `conformance report` builds reports from."""
    meta, records, processes = read(path)
    assessment = _assess(records, processes, [meta])
    meta.update(environment_error=assessment.environment_error, exit_code=assessment.exit_code)
    return assessment, meta


def _assess(records: Sequence[CaseRecord], processes: Sequence[ProcessSummary],
            metas: Sequence[dict[str, Any]]) -> Assessment:
    catalogues = {protocol: catalogue.load(protocol) for protocol in protocols.NAMES}
    interrupted = [str(meta.get("interrupted")) for meta in metas if meta.get("interrupted")]
    return assess(catalogues, list(records), list(processes), "; ".join(interrupted) or None)


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
    assessment = _assess(list(records.values()), processes, metas)
    meta = {
        "started": min(meta.get("started", time.time()) for meta in metas),
        "finished": max(meta.get("finished", time.time()) for meta in metas),
        "merged": list(paths), "shards": [meta.get("shard") for meta in metas],
        "python": metas[0].get("python"), "faults": sorted({f for meta in metas for f in meta.get("faults", ())}),
        "targets": _targets(metas), "environment_error": assessment.environment_error,
        "exit_code": assessment.exit_code, "cases": len(assessment.records),
        "leftovers": [item for meta in metas for item in meta.get("leftovers", ())],
    }
    return assessment, meta


def _targets(metas: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    targets: dict[str, dict[str, Any]] = {}
    for meta in metas:
        for protocol, target in meta.get("targets", {}).items():
            known = targets.setdefault(protocol, {**target, "requests": 0})
            known["requests"] += target.get("requests", 0)
    return targets
