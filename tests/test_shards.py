"""Tests for conformance.shards: a stable deal of the cases by area, and a merge of the shards' results that is
the whole run's (statuses, counts, verdict, exit code), as a CI fleet runs it: one `conformance run --shard K/N`
per job, then `conformance merge`."""

from __future__ import annotations

import json

import pytest

from conformance import shards
from test_cli import conformance


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1/0", "a/b", "3", "1/3/2", ""])
def test_a_bad_shard_spec_is_refused(spec):
    with pytest.raises(shards.ShardError, match="expected K/N"):
        shards.parse(spec)


def test_the_deal_is_stable_keeps_areas_together_and_covers_everything_once():
    groups = [f"vidicore:a{m}" for m in range(7) for n in range(m * 3 + 1)]  # one entry per case: its group
    dealt = shards.deal(groups, 3)
    assert dealt == shards.deal(list(reversed(groups)), 3)  # the order of collection does not matter
    assert set(dealt) == set(groups) and set(dealt.values()) == {1, 2, 3}
    load = {k: sum(1 for g in groups if dealt[g] == k) for k in (1, 2, 3)}
    assert max(load.values()) - min(load.values()) <= max(m * 3 + 1 for m in range(7))


def outcome(data: dict) -> tuple:
    return {r["id"]: (r["status"], r["counts"]) for r in data["requirements"]}, data["verdict"]["line"]


def test_merged_shards_report_what_the_whole_run_reports(tmp_path):
    """Three shards of a Spectra run with a fault on: the merge has every requirement's status and counts, the
    verdict and the exit code of one run of every case."""
    fault = ("--fault", "sp-delete-200")
    hand_written = ("--", "-m", "not generated")  # CI time: the shards' merge does not depend on what a case is
    whole = conformance("run", "spectra", *fault, "--results", "whole.json", *hand_written, cwd=tmp_path)
    assert whole.returncode == 1, whole.stdout[-2000:] + whole.stderr
    for k in (1, 2, 3):
        shard = conformance("run", "spectra", *fault, "--shard", f"{k}/3", "--results", f"s{k}.json", *hand_written,
                            cwd=tmp_path)
        assert shard.returncode in (0, 1), shard.stdout[-2000:] + shard.stderr
        assert "deselected" in shard.stdout  # a part of the run, not all of it
    merged = conformance("merge", "s1.json", "s2.json", "s3.json", "-o", "run.json", cwd=tmp_path)
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert "VERDICT: NOT CONFORMANT" in merged.stdout and "SP-DELETE" in merged.stdout
    expected = json.loads((tmp_path / "whole.json").read_text())
    got = json.loads((tmp_path / "run.json").read_text())
    assert outcome(got) == outcome(expected)
    assert got["meta"]["cases"] == expected["meta"]["cases"]
    assert sorted(got["meta"]["shards"]) == ["1/3", "2/3", "3/3"]
    for key in ("suite_version", "catalogue_sha256", "protocols", "server_identity", "generation", "target_sha256"):
        assert got["meta"][key] == expected["meta"][key], key
    assert got["meta"]["started_at"].endswith("Z") and got["meta"]["finished_at"] >= got["meta"]["started_at"]


@pytest.mark.parametrize("files, message", [
    (("missing.json",), "missing.json: file not found"),
    (("garbage.json",), "garbage.json: not JSON"),
    (("notours.json",), "notours.json: not a results file of this suite"),
    (("s.json", "s.json"), "s.json: case"),
    (("other.json",), "other.json: made with another requirement catalogue (sha256 0000"),
])
def test_merge_errors_are_one_line_and_exit_2(tmp_path, files, message):
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "notours.json").write_text('{"requirements": []}')
    if "s.json" in files or "other.json" in files:
        done = conformance("run", "-k", "VC-LIST-TEXT and item-entity", "--results", "s.json", cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-2000:]
        other = json.loads((tmp_path / "s.json").read_text())
        other["meta"]["catalogue_sha256"] = "0" * 64
        (tmp_path / "other.json").write_text(json.dumps(other))
    merged = conformance("merge", *files, cwd=tmp_path)
    assert merged.returncode == 2 and message in merged.stderr and "Traceback" not in merged.stderr
    assert len(merged.stderr.strip().splitlines()) == 1


def test_a_bad_shard_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    done = conformance("run", "--shard", "0/2", cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "expected K/N" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
