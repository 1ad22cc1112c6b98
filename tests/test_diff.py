"""Tests for conformance.diff: what counts as regressed, fixed, changed, added and removed between two results
files, the three renderings, bad input, and `conformance diff` as a user runs it."""

from __future__ import annotations

import json

import pytest

from conformance import diff
from conformance.resultsfile import ResultsFile
from test_cli import conformance


def document(*entries: tuple[str, str], verdict: str = "VERDICT: X", started: float | None = None) -> ResultsFile:
    """A results file: (id, status) pairs; ids starting with SP- are spectra's, the rest vidicore's."""
    return ResultsFile("x.json", {
        "meta": {"started": started} if started is not None else {}, "verdict": {"line": verdict},
        "requirements": [{"id": rid, "status": status, "level": "SHOULD" if rid.endswith("-S") else "MUST",
                          "text": f"text of {rid}", "protocol": "spectra" if rid.startswith("SP-") else "vidicore"}
                         for rid, status in entries]})


@pytest.mark.parametrize("old, new, kind", [
    ("PASS", "FAIL", "regressed"), ("PASS", "WARN", "regressed"), ("N-A", "BLOCKED", "regressed"),
    ("WAIVED", "FAIL", "regressed"), ("PASS", "NOT CHECKED", "regressed"), ("WARN", "FAIL", "regressed"),
    ("BLOCKED", "WARN", "regressed"),
    ("FAIL", "PASS", "fixed"), ("WARN", "PASS", "fixed"), ("BLOCKED", "PASS", "fixed"), ("WAIVED", "PASS", "fixed"),
    ("FAIL", "WARN", "changed"), ("FAIL", "WAIVED", "changed"), ("PASS", "N-A", "changed"), ("N-A", "PASS", "changed"),
    ("PASS", "NOT RUN", "changed"), ("NOT RUN", "FAIL", "changed"), ("NOT RUN", "PASS", "changed"),
    ("PASS", "SOMETHING NEW", "changed"), ("SOMETHING NEW", "FAIL", "changed"),
    ("FAIL", "FAIL", "unchanged"), ("NOT RUN", "NOT RUN", "unchanged"),
])
def test_each_change_of_status_has_one_kind(old, new, kind):
    comparison = diff.compare(document(("VC-A", old)), document(("VC-A", new)))
    found = {name: [change.id for change in getattr(comparison, name)] for name in diff.KINDS}
    assert found == {name: (["VC-A"] if name == kind else []) for name in diff.KINDS}
    assert comparison.exit_code == (1 if kind == "regressed" else 0)


def test_a_should_requirement_regresses_like_a_must():
    comparison = diff.compare(document(("VC-B-S", "PASS")), document(("VC-B-S", "WARN")))
    assert [(c.id, c.level, c.old, c.new) for c in comparison.regressed] == [("VC-B-S", "SHOULD", "PASS", "WARN")]


def test_catalogue_changes_are_added_and_removed_and_no_regression():
    comparison = diff.compare(document(("VC-A", "PASS"), ("VC-GONE", "FAIL")),
                              document(("VC-A", "PASS"), ("VC-NEW", "FAIL")))
    assert [(c.id, c.old, c.new) for c in comparison.added] == [("VC-NEW", None, "FAIL")]
    assert [(c.id, c.old, c.new) for c in comparison.removed] == [("VC-GONE", "FAIL", None)]
    assert comparison.exit_code == 0  # a new requirement failing is the run's own verdict, not a regression


def test_a_protocol_run_on_one_side_only_is_neither_added_nor_removed():
    comparison = diff.compare(document(("VC-A", "PASS"), ("SP-A", "PASS")), document(("VC-A", "FAIL")),
                              labels=("old.json", "new.json"))
    assert comparison.one_sided == {"spectra": "old.json"}
    assert diff.compare(document(("SP-A", "PASS")), document(("SP-A", "PASS"), ("VC-A", "PASS")),
                        labels=("same.json", "same.json")).one_sided == {"vidicore": "same.json"}
    assert not comparison.removed and [c.id for c in comparison.regressed] == ["VC-A"]
    assert "spectra compared in old.json only" in diff.summary(comparison)


def test_markdown_is_a_table_per_kind_with_cells_made_safe():
    old = document(("VC-A", "PASS"), ("VC-B", "FAIL"), ("VC-C", "PASS"), verdict="VERDICT: CONFORMANT — a | b",
                   started=0.0)
    new = document(("VC-A", "FAIL"), ("VC-B", "PASS"), ("VC-C", "PASS"), verdict="VERDICT: NOT CONFORMANT")
    new.document["requirements"][0]["text"] = "pipes | and\nnewlines"
    text = diff.markdown(diff.compare(old, new, labels=("old.json", "new.json")))
    assert "| verdict | VERDICT: CONFORMANT — a \\| b | VERDICT: NOT CONFORMANT |" in text
    assert "| started | 1970-01-01 00:00 UTC | unknown |" in text
    assert diff.when(float("inf")) == "inf"  # a results file edited by hand
    assert "**1 regressed**, 1 fixed, 0 changed, 1 unchanged, 0 added, 0 removed." in text
    assert "### Regressed (newly failing)" in text and "### Fixed (newly passing)" in text
    assert "| VC-A | MUST | PASS | FAIL | pipes \\| and newlines |" in text
    assert "### Changed" not in text and "### Unchanged" not in text  # only what has entries


def test_text_and_json_say_the_same():
    comparison = diff.compare(document(("VC-A", "PASS"), ("VC-B", "WARN")),
                              document(("VC-A", "FAIL"), ("VC-B", "PASS")))
    text = diff.text(comparison)
    assert "Regressed (newly failing):" in text and "VC-A" in text.split("Fixed")[0]
    data = json.loads(diff.as_json(comparison))
    assert data["counts"] == {"regressed": 1, "fixed": 1, "changed": 0, "unchanged": 0, "added": 0, "removed": 0}
    assert data["regressed"][0] == {"id": "VC-A", "level": "MUST", "protocol": "vidicore", "text": "text of VC-A",
                                    "old": "PASS", "new": "FAIL"}
    assert data["exit_code"] == 1


def test_conformance_diff_of_two_real_runs(tmp_path):
    """A clean run and the same run with a fault: the fault's requirement regressed (exit 1); the other way round
    it is fixed (exit 0); Markdown fit for a pull-request comment."""
    for name, extra in (("clean", ()), ("broken", ("--fault", "list-text-lf"))):
        done = conformance("run", "-k", "VC-LIST-TEXT and item", "--results", f"{name}.json", *extra, cwd=tmp_path)
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr
    worse = conformance("diff", "clean.json", "broken.json", "--format", "md", cwd=tmp_path)
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "| VC-LIST-TEXT | MUST | PASS | FAIL |" in worse.stdout and "**1 regressed**" in worse.stdout
    better = conformance("diff", "broken.json", "clean.json", cwd=tmp_path)
    assert better.returncode == 0 and "Fixed (newly passing):" in better.stdout
    as_json = conformance("diff", "clean.json", "broken.json", "--format", "json", cwd=tmp_path)
    assert json.loads(as_json.stdout)["regressed"][0]["id"] == "VC-LIST-TEXT"


@pytest.mark.parametrize("files", [("missing.json", "missing.json"), ("garbage.json", "garbage.json")])
def test_conformance_diff_bad_input_is_one_line_and_exit_2(tmp_path, files):
    (tmp_path / "garbage.json").write_text("{not json")
    done = conformance("diff", *files, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"conformance diff: error: {files[0]}: ")
