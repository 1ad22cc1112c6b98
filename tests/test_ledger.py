"""Tests for conformance.ledger: whole lines from every writer, read back as entries, compacted to what is left."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from conformance.ledger import Ledger, LedgerError, append, compact, open_entries, public_url, read


def book(path, run="conformance-0000000000000001", prefix=None, base_url="http://vs:8080/API"):
    return Ledger(str(path), run, prefix or run).book("vidicore", base_url, "target.toml")


def test_each_thing_is_written_when_made_and_marked_when_removed_or_left(tmp_path):
    path = tmp_path / "reports" / "ledger.jsonl"
    target = book(path)
    first = target.made("notification", "item/notification/VX-1", user="admin")
    second = target.made("item", "item/VX-2", name="VX-2")
    assert [entry.entry for entry in open_entries(str(path))] == [first, second]  # on disk at once
    target.removed(first)
    target.left(second, "answered 500")
    entries = read(str(path))
    assert [(e.kind, e.path, e.removed, e.why) for e in entries] == [
        ("notification", "item/notification/VX-1", True, None), ("item", "item/VX-2", False, "answered 500")]
    assert entries[1].describe() == "vidicore item item/VX-2 on http://vs:8080/API"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["run", "made", "made", "removed", "left"]


def test_a_session_that_makes_nothing_writes_nothing(tmp_path):
    Ledger(str(tmp_path / "ledger.jsonl"), "conformance-0000000000000001", "p").close()
    assert not (tmp_path / "ledger.jsonl").exists()


def test_no_user_info_reaches_the_ledger(tmp_path):
    assert public_url("http://user:s3cret@vs.example:8080/API") == "http://vs.example:8080/API"
    assert public_url("http://[::1]:80/") == "http://[::1]:80/"
    path = tmp_path / "ledger.jsonl"
    book(path, base_url="http://user:s3cret@vs:8080/API").made("notification", "notification/VX-1", user="admin")
    assert "s3cret" not in path.read_text() and "user:" not in path.read_text()


def _write(path: str, worker: str) -> None:
    target = book(path, prefix=f"conformance-0000000000000001-{worker}")
    for number in range(200):
        target.removed(target.made("notification", f"item/notification/{worker}-{number}" + "x" * 300))


def test_the_workers_of_a_run_write_whole_lines(tmp_path):
    path = str(tmp_path / "ledger.jsonl")
    workers = [multiprocessing.get_context("fork").Process(target=_write, args=(path, f"gw{n}")) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    entries = read(path)  # every line whole (a torn one would not parse)
    assert len(entries) == 600 and all(entry.removed for entry in entries)


def test_a_line_cut_off_by_a_killed_writer_is_dropped_and_anything_else_named(tmp_path):
    path = tmp_path / "ledger.jsonl"
    target = book(path)
    target.made("notification", "notification/VX-1")
    with open(path, "a") as stream:
        stream.write('{"event": "made", "run": "conformance-00')  # SIGKILL mid-write: no newline
    assert len(read(str(path))) == 1
    path.write_text('{"event": "run", "run": "r"}\nnot json\n')
    with pytest.raises(LedgerError, match=r"ledger.jsonl: line 2: not a ledger line"):
        read(str(path))
    path.write_text('{"event": "run", "run": "r", "ledger": 9}\n')
    with pytest.raises(LedgerError, match="ledger format 9"):
        read(str(path))
    with pytest.raises(LedgerError, match="no ledger there"):
        read(str(tmp_path / "missing.jsonl"))


def test_compacting_keeps_what_earlier_runs_left_and_drops_the_rest(tmp_path):
    path = tmp_path / "ledger.jsonl"
    done = book(path, run="conformance-0000000000000001")
    done.removed(done.made("notification", "notification/VX-1"))
    killed = book(path, run="conformance-0000000000000002")
    left = killed.made("notification", "notification/VX-2")
    killed.removed(killed.made("notification", "notification/VX-3"))
    gone = Ledger(str(path), "conformance-0000000000000003", "p3").book("vidicore", "http://127.0.0.1:9/API",
                                                                        "embedded reference server")
    gone.made("notification", "notification/VX-4")
    still = compact(str(path), gone=lambda entry: entry.origin == "embedded reference server")
    assert [entry.entry for entry in still] == [left]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["event"], line["run"][-1]) for line in lines] == [("run", "2"), ("made", "2")]
    assert compact(str(tmp_path / "none.jsonl")) == []


def test_the_sweeper_appends_what_it_removed(tmp_path):
    path = tmp_path / "ledger.jsonl"
    target = book(path)
    entry = target.made("bucket", "_rest_/bucket/b", user="admin")
    append(str(path), [{"event": "removed", "run": "conformance-0000000000000001", "entry": entry, "at": 0.0}])
    assert open_entries(str(path)) == []
