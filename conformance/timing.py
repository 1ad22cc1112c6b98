"""Where a run's time went: time per area, the slowest cases, each protocol's request latency.

`Timing.of(records)` computes it from the case records (a live run's, or those a results file holds: a digest keeps
each exchange's elapsed time and its case's area), and results.json carries it as its `timing` section (written by
`conformance.resultsfile`) so that a reader of many runs (`conformance history`) finds it at the head of the file
and reads nothing else. The single-run page (`conformance.html`) and the history page draw it.

- `areas`: protocol -> area -> how many cases ran there and the seconds they took (summed: on N workers the sum
  exceeds the run's wall time);
- `latency`: protocol -> the requests that got an answer, their median and 95th percentile time (seconds, from the
  request sent to its whole answer read), and how many got none (refused, timed out: their time says nothing
  about the server's speed); a generated case's earlier examples count too (their exchanges are dropped, their
  times kept: `CaseRecord.earlier_elapsed`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from conformance.record import ELAPSED_DIGITS, CaseRecord

UNRECORDED = "(not recorded)"  # the area of a case whose record has none (a results file of an older suite)
DIGITS = 6                     # seconds are kept to the microsecond


@dataclass(frozen=True)
class AreaTime:
    cases: int
    seconds: float


@dataclass(frozen=True)
class Latency:
    requests: int      # requests that got an answer
    median: float      # seconds
    p95: float         # seconds
    unanswered: int = 0


@dataclass(frozen=True)
class Timing:
    areas: dict[str, dict[str, AreaTime]]
    latency: dict[str, Latency]

    @classmethod
    def of(cls, records: Iterable[CaseRecord]) -> Timing:
        """The timing of a run from its cases' records."""
        durations: dict[str, dict[str, list[float]]] = {}
        elapsed: dict[str, list[float]] = {}
        unanswered: dict[str, int] = {}
        for record in records:
            protocol = record.protocol or ""
            durations.setdefault(protocol, {}).setdefault(record.area or UNRECORDED, []).append(record.duration)
            times = elapsed.setdefault(protocol, [])
            times += record.earlier_elapsed  # a generated case's earlier examples: requests of the run too
            unanswered[protocol] = unanswered.get(protocol, 0) + record.earlier_unanswered
            for exchange in record.exchanges:
                if exchange.error:
                    unanswered[protocol] += 1
                elif exchange.elapsed > 0:  # 0: not measured (a digest of an older suite kept no time)
                    times.append(round(exchange.elapsed, ELAPSED_DIGITS))  # as a digest keeps it: the same
                                                                           # figures from a results file
        areas = {protocol: {area: AreaTime(len(found), round(sum(found), DIGITS))
                            for area, found in sorted(by_area.items(), key=lambda item: -sum(item[1]))}
                 for protocol, by_area in durations.items()}
        latency = {protocol: Latency(len(times), round(percentile(times, 50), DIGITS),
                                     round(percentile(times, 95), DIGITS), unanswered.get(protocol, 0))
                   for protocol, times in elapsed.items() if times or unanswered.get(protocol)}
        return cls(areas, latency)

    def as_dict(self) -> dict[str, Any]:
        return {"areas": {protocol: {area: asdict(time) for area, time in by_area.items()}
                          for protocol, by_area in self.areas.items()},
                "latency": {protocol: asdict(latency) for protocol, latency in self.latency.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timing:
        """The timing a results file holds; ValueError (one line) when it is not of this shape."""
        try:
            areas = {str(protocol): {str(area): AreaTime(_count(time["cases"]), _seconds(time["seconds"]))
                                     for area, time in by_area.items()}
                     for protocol, by_area in data["areas"].items()}
            latency = {str(protocol): Latency(_count(found["requests"]), _seconds(found["median"]),
                                              _seconds(found["p95"]), _count(found.get("unanswered", 0)))
                       for protocol, found in data["latency"].items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"timing: not of the shape this suite writes ({type(exc).__name__}: {exc})") from None
        return cls(areas, latency)

    @property
    def seconds(self) -> float:
        """The cases' time, summed over every protocol and area."""
        return sum(time.seconds for by_area in self.areas.values() for time in by_area.values())


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`, interpolated between the two nearest ranks (the common definition:
    numpy's default, `statistics.quantiles(method="inclusive")`); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def slowest(records: Iterable[CaseRecord], count: int) -> list[CaseRecord]:
    """The `count` cases that took longest, longest first."""
    return sorted(records, key=lambda record: -record.duration)[:count]


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"expected a count, got {value!r}")
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise TypeError(f"expected seconds, got {value!r}")
    return float(value)
