"""Tests for conformance.names: every name a run makes is unique across its cases and its workers."""

from __future__ import annotations

import re
import threading

from conformance.names import RUN_MARKER, Names, new_run_token, started
from conformance.spectra.client import SpectraClient
from conformance.spectra.settings import SpectraTarget
from conformance.vidicore.client import VidiCoreClient

BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")  # an S3 bucket name


def test_one_counter_per_process_whatever_the_client():
    """The bug this replaces: a counter per client, and each case had its own, so every case's first bucket was
    <run>-b1: against a server that keeps a bucket a cleanup could not remove, every later case was BLOCKED.
    Each case's client is now handed the process's one `Names`."""
    names = Names("abc123")
    settings = SpectraTarget("http://bp", True, 1.0, 1024, {})
    first_case, second_case = SpectraClient(None, settings, names), SpectraClient(None, settings, names)
    assert first_case.name("b") != second_case.name("b")
    assert first_case.marker() != second_case.marker()
    vidicore = VidiCoreClient(None, None, names)
    assert vidicore.marker() != VidiCoreClient(None, None, names).marker()
    assert len({names.name("b") for _ in range(1000)}) == 1000


def test_workers_of_one_run_never_collide_and_share_the_run_id():
    token = new_run_token()
    serial, gw0, gw1 = Names(token), Names(token, "gw0"), Names(token, "gw1")
    assert serial.run_id == gw0.run_id == gw1.run_id == f"conformance-{token}"
    made = [n.name("b") for n in (serial, gw0, gw1) for _ in range(50)]
    made += [n.marker() for n in (serial, gw0, gw1) for _ in range(50)]
    assert len(set(made)) == len(made)
    assert len({serial.token, gw0.token, gw1.token}) == 3


def test_names_are_valid_bucket_names_and_markers_name_nothing_real():
    names = Names(new_run_token(), "gw12")
    bucket = names.name("b")
    assert BUCKET.fullmatch(bucket) and bucket.startswith(names.run_id)
    marker = names.marker("n")
    assert marker.startswith(f"http://conformance.invalid/{names.run_id}/gw12-n")


def test_names_are_unique_across_threads():
    names = Names("t0k3n")
    made: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        mine = [names.name("o") for _ in range(500)]
        with lock:
            made.extend(mine)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 2000


def test_two_runs_have_different_tokens():
    assert len({new_run_token() for _ in range(100)}) == 100


def test_a_run_token_says_when_its_run_began_and_the_marker_is_found_in_whatever_carries_it():
    token = new_run_token(now=1_767_225_600)
    assert len(token) == 16 and token.startswith("6955b900") and started(token) == 1_767_225_600.0
    assert started(f"conformance-{token}") == 1_767_225_600.0 and started("abc123") is None  # an older token
    names = Names(token, "gw1")
    for carrier in (names.marker("n"), names.name("b"), f"http://runner:9/cb/{names.token}/3-once"):
        found = RUN_MARKER.search(carrier)
        assert found is not None and found.group(1) == token, carrier
    assert RUN_MARKER.search("http://hooks.example/conformance-checks/0123456789abcdef0") is None
