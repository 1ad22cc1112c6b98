"""Tests for conformance.timing: time per area and each protocol's request latency, from case records."""

from __future__ import annotations

import json
import statistics

import pytest

from conformance.http import Exchange
from conformance.record import CaseRecord
from conformance.timing import UNRECORDED, AreaTime, Latency, Timing, percentile, slowest


def case(name: str, protocol: str, area: str, duration: float, *elapsed: float, errors: int = 0) -> CaseRecord:
    record = CaseRecord(name, ("X",), protocol, area=area)
    record.duration = duration
    record.exchanges = [Exchange("GET", "http://h/", {}, "", status=200, elapsed=value) for value in elapsed]
    record.exchanges += [Exchange("GET", "http://h/", {}, "", error="refused", elapsed=5.0) for _ in range(errors)]
    return record


def test_percentiles_interpolate_between_ranks_as_the_standard_library_does():
    values = [0.004, 0.001, 0.003, 0.002, 0.010, 0.005, 0.002]
    assert percentile(values, 50) == statistics.median(values)
    inclusive = statistics.quantiles(values, n=20, method="inclusive")
    assert percentile(values, 95) == pytest.approx(inclusive[18])
    assert percentile([0.5], 95) == 0.5 and percentile([], 50) == 0.0


def test_time_per_area_and_latency_per_protocol():
    generated = case("b", "vidicore", "crud", 2.0, 0.004)
    generated.earlier_elapsed, generated.earlier_unanswered = [0.002], 1  # its earlier examples' requests
    records = [case("a", "vidicore", "crud", 1.0, 0.001, 0.003, 0.0), generated,  # 0.0: an older digest's
               case("c", "vidicore", "delivery", 5.0, 0.010, errors=1), case("d", "spectra", "", 0.5)]
    timing = Timing.of(records)
    assert timing.areas == {"vidicore": {"delivery": AreaTime(1, 5.0), "crud": AreaTime(2, 3.0)},
                            "spectra": {UNRECORDED: AreaTime(1, 0.5)}}  # longest first; an older record: no area
    assert timing.latency == {"vidicore": Latency(5, 0.003, 0.0088, unanswered=2)}  # a refusal's time is no latency
    assert timing.seconds == 8.5
    assert [record.case for record in slowest(records, 2)] == ["c", "b"]


def test_timing_reads_back_and_refuses_another_shape():
    timing = Timing.of([case("a", "vidicore", "crud", 1.0, 0.001)])
    assert Timing.from_dict(json.loads(json.dumps(timing.as_dict()))) == timing
    for bad in ({}, {"areas": [], "latency": {}}, {"areas": {"vidicore": {"crud": {"cases": -1, "seconds": 1}}},
                                                    "latency": {}},
                {"areas": {}, "latency": {"vidicore": {"requests": 1, "median": "fast", "p95": 1}}}):
        with pytest.raises(ValueError, match="^timing: not of the shape this suite writes"):
            Timing.from_dict(bad)
