"""Tests for conformance.history: many results files read (their heads alone), ordered, joined where they are shards
of one run, skipped in one line where they are none; each requirement's timeline, last pass and first failure since;
flaky requirements; the page, Markdown and JSON; `conformance history` as a user runs it. Real runs in a real
browser: tests/test_history_browser.py."""

from __future__ import annotations

import html as markup
import json
from pathlib import Path

import pytest

from conformance import cli, history
from conformance.status import Status, VerdictKind
from test_cli import conformance
from test_html import HOSTILE, Elements

OLDER = Path(__file__).parent / "results"
WERKZEUG = {"Server": ["Werkzeug/3.1"]}
TIMING = {"areas": {"vidicore": {"crud": {"cases": 3, "seconds": 1.5}, "delivery": {"cases": 1, "seconds": 2.0}}},
          "latency": {"vidicore": {"requests": 12, "median": 0.002, "p95": 0.009, "unanswered": 0}}}
REQUIREMENTS = {"VC-A": ("MUST", "vidicore", "text of A"), "VC-B": ("MUST", "vidicore", "text of B"),
                "VC-C": ("SHOULD", "vidicore", "text of C"), "SP-A": ("MUST", "spectra", "text of SP-A")}


def results(path: Path, started: float, statuses: dict[str, str], *, kind: str | None = None, suite: str = "1.0",
            identity: dict | None = None, timing: dict | None = TIMING, **meta) -> Path:
    """A results file's head as a run of this suite writes it (the parts history reads), and a tail it never
    reads."""
    failed = [id for id, status in statuses.items() if status == "FAIL"]
    kind = kind or ("NOT CONFORMANT" if failed else "CONFORMANT")
    document = {
        "format": 3,
        "meta": {"started": started, "finished": started + 60.0, "suite_version": suite, "catalogue_sha256": "c" * 64,
                 "targets": {"vidicore": {"base_url": "http://vs.test/API", "origin": "target file"}},
                 "server_identity": {"vidicore": identity if identity is not None else WERKZEUG},
                 "faults": [], **meta},
        "verdict": {"line": f"VERDICT: {kind} — {', '.join(failed) or 'fine'}", "kind": kind},
        "requirements": [{"id": id, "level": REQUIREMENTS[id][0], "protocol": REQUIREMENTS[id][1],
                          "text": REQUIREMENTS[id][2], "status": status} for id, status in statuses.items()],
        "timing": timing,
    }
    text = json.dumps(document, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text[:-2] + ',\n  "events": [NOT READ]}')  # history reads the head alone
    return path


def row(found: history.History, id: str) -> history.Row:
    return next(row for row in found.rows if row.id == id)


def test_runs_are_ordered_by_their_start_and_what_is_no_results_file_is_named_and_skipped(tmp_path):
    """Files and folders (searched for *.json) in any order; a file that is none, one that is missing, and a copy
    of a run already read, each skipped with one line."""
    results(tmp_path / "ci" / "b" / "results.json", 2000.0, {"VC-A": "PASS"})
    results(tmp_path / "ci" / "a" / "results.json", 1000.0, {"VC-A": "FAIL"})
    later = results(tmp_path / "later.json", 3000.0, {"VC-A": "PASS"})
    (tmp_path / "ci" / "bench.json").write_text('{"figures": []}')
    (tmp_path / "ci" / "notes.txt").write_text("not json, not looked at")
    (tmp_path / "garbage.json").write_text("{garbage")
    (tmp_path / "copy.json").write_bytes(later.read_bytes())
    found = history.build([str(later), str(tmp_path / "ci"), str(tmp_path / "garbage.json"),
                           str(tmp_path / "missing.json"), str(tmp_path / "copy.json"), str(later)])
    assert [run.started for run in found.runs] == [1000.0, 2000.0, 3000.0]
    assert [run.number for run in found.runs] == [1, 2, 3] and found.runs[0].kind is VerdictKind.NOT_CONFORMANT
    assert [(Path(path).name, why) for path, why in found.skipped] == [
        ("bench.json", "not a results file of this suite (no list of requirements)"),
        ("garbage.json", "not JSON (Expecting value: line 1 column 2 (char 1))"),
        ("missing.json", "file not found"),
        ("copy.json", f"the same run as {later}")]
    assert found.files == 3


def test_each_requirement_names_its_last_pass_its_first_failure_since_and_the_latest_change_comes_first(tmp_path):
    runs = [{"VC-A": "PASS", "VC-B": "PASS", "VC-C": "PASS"}, {"VC-A": "FAIL", "VC-B": "PASS", "VC-C": "PASS"},
            {"VC-A": "FAIL", "VC-B": "PASS", "VC-C": "NOT RUN"}, {"VC-A": "FAIL", "VC-B": "BLOCKED", "VC-C": "WARN"}]
    found = history.build([str(results(tmp_path / f"{n}.json", n * 100.0, statuses))
                           for n, statuses in enumerate(runs, start=1)])
    a, b, c = row(found, "VC-A"), row(found, "VC-B"), row(found, "VC-C")
    assert (a.last_passed, a.failed_since, a.last_change, a.now) == (1, 2, 2, Status.FAIL)
    assert (b.last_passed, b.failed_since, b.last_change, b.now) == (3, None, 4, Status.BLOCKED)
    assert (c.last_passed, c.failed_since, c.last_change) == (2, 4, 4)  # NOT RUN is no evidence either way
    assert c.statuses == ["PASS", "PASS", "NOT RUN", "WARN"]
    assert [r.id for r in found.rows] == ["VC-B", "VC-C", "VC-A"]  # the latest change first, then catalogue order
    assert not any(r.flaky for r in found.rows)


def test_flaky_is_a_status_that_came_back_on_the_same_suite_catalogue_and_server(tmp_path):
    """PASS, FAIL, PASS on one suite version and server identity is flaky, with the runs it flipped in; the same
    with another server in the middle is a change of server, not a flake; NOT RUN in between is no flip."""
    other = {"Server": ["nginx"]}
    plan = [({"VC-A": "PASS", "VC-B": "PASS", "VC-C": "PASS"}, WERKZEUG),
            ({"VC-A": "FAIL", "VC-B": "FAIL", "VC-C": "NOT RUN"}, WERKZEUG),
            ({"VC-A": "PASS", "VC-B": "FAIL", "VC-C": "PASS"}, WERKZEUG),
            ({"VC-A": "PASS", "VC-B": "PASS", "VC-C": "FAIL"}, other),
            ({"VC-A": "PASS", "VC-B": "PASS", "VC-C": "PASS"}, WERKZEUG)]
    found = history.build([str(results(tmp_path / f"{n}.json", n * 100.0, statuses, identity=identity))
                           for n, (statuses, identity) in enumerate(plan, start=1)])
    assert [r.id for r in found.flaky] == ["VC-B", "VC-A"]  # the latest change first
    assert row(found, "VC-A").flips == [history.Flip(2, "PASS", "FAIL"), history.Flip(3, "FAIL", "PASS")]
    assert row(found, "VC-B").flips == [history.Flip(2, "PASS", "FAIL"), history.Flip(5, "FAIL", "PASS")]
    assert not row(found, "VC-C").flaky  # its failure was on another server
    suites = history.build([str(results(tmp_path / f"s{n}.json", n * 100.0, {"VC-A": status}, suite=suite))
                            for n, (status, suite) in enumerate([("PASS", "1.0"), ("FAIL", "1.1"), ("PASS", "1.0")])])
    assert not suites.flaky  # a new suite version judged differently once: no flake


def test_shards_of_one_run_not_merged_are_one_run_judged_as_a_merge_would(tmp_path):
    """Each requirement's best evidence over the shards (PASS in one, NOT RUN in the other: PASS; a FAIL stays),
    the verdict made from those; a lone shard says which are missing; a merged file is one run as it is."""
    shard = {"shard": None, "generation": {"profile": "ci", "seed": None}}
    paths = [results(tmp_path / "s1.json", 100.0, {"VC-A": "PASS", "VC-B": "NOT RUN", "VC-C": "NOT RUN"},
                     **{**shard, "shard": "1/2"}),
             results(tmp_path / "s2.json", 110.0, {"VC-A": "NOT RUN", "VC-B": "FAIL", "VC-C": "PASS"},
                     **{**shard, "shard": "2/2"}),
             results(tmp_path / "late.json", 100_000.0, {"VC-A": "PASS", "VC-B": "PASS", "VC-C": "PASS"},
                     **{**shard, "shard": "1/3"}),
             results(tmp_path / "merged.json", 200_000.0, {"VC-A": "PASS", "VC-B": "PASS", "VC-C": "PASS"},
                     merged=["x1.json", "x2.json"], shards=["1/2", "2/2"]),
             results(tmp_path / "edited.json", 300_000.0, {"VC-A": "PASS"}, shard="one of two")]
    found = history.build([str(path) for path in paths])
    joined, lone, merged, edited = found.runs
    assert edited.shards == [] and edited.paths == [str(paths[-1])]  # a shard this suite never wrote: a run
    assert joined.paths == [str(paths[0]), str(paths[1])] and joined.shards == ["1/2", "2/2"]
    assert joined.statuses == {"VC-A": "PASS", "VC-B": "FAIL", "VC-C": "PASS"}
    assert joined.kind is VerdictKind.NOT_CONFORMANT and "VC-B" in joined.line
    assert joined.timing is not None and joined.timing.areas["vidicore"]["crud"].seconds == 3.0
    assert joined.timing.latency == {}  # a median of medians is none
    assert (joined.started, joined.finished) == (100.0, 170.0)
    assert lone.note == "shards 1/3 not merged (missing: 2/3, 3/3)" and lone.kind is VerdictKind.CONFORMANT
    assert merged.merged == 2 and merged.shards == []


def test_files_of_older_suite_versions_and_of_one_protocol_read(tmp_path):
    """Real files of format 1 (vidicore only) and 2 (spectra only) beside one of today's: each protocol's
    requirements are absent (no cell) where a run did not run it; older runs carry no timing."""
    today = results(tmp_path / "today.json", 4_000_000_000.0, {"VC-A": "PASS", "SP-A": "PASS"})
    found = history.build([str(OLDER), str(today)])
    assert [run.format for run in found.runs] == [1, 2, 3] and not found.skipped
    assert [run.timing is None for run in found.runs] == [True, True, False]
    assert found.runs[1].kind is VerdictKind.NOT_CONFORMANT and found.runs[1].faults == ["sp-list-omits-newest"]
    assert row(found, "VC-LIST-TEXT").statuses == ["PASS", None, None]
    assert row(found, "SP-LIST").statuses == [None, "FAIL", None]
    assert row(found, "VC-A").statuses == [None, None, "PASS"]
    page = history.render(found)
    assert page.count('<td class="c sX"></td>') > 100 and "format 1" in page and "format 2" in page


def test_the_page_is_offline_and_everything_a_file_holds_is_text(tmp_path):
    """Its policy forbids every request and runs its own hashed style and script alone; a hostile file's suite
    version, targets, server identity, requirement text and status are escaped; every link is in the page."""
    path = results(tmp_path / "hostile.json", 100.0, {"VC-A": "PASS"}, suite=HOSTILE,
                   identity={"Server": [HOSTILE]}, faults=[HOSTILE])
    document = json.loads(path.read_text().replace(',\n  "events": [NOT READ]}', "}"))
    document["requirements"][0].update(text=HOSTILE, status=HOSTILE)
    document["meta"]["targets"]["vidicore"]["base_url"] = HOSTILE
    path.write_text(json.dumps(document))
    results(tmp_path / "fine.json", 200.0, {"VC-A": "FAIL"})
    page = history.render(history.build([str(tmp_path)]))
    elements = Elements(page)
    assert [tag for tag, _ in elements.tags].count("script") == 1 and elements.inline["script"] == history.SCRIPT
    assert elements.inline["style"] == history.STYLE
    policy = next(attrs["content"] for tag, attrs in elements.tags if attrs.get("http-equiv") ==
                  "Content-Security-Policy")
    assert policy.startswith("default-src 'none'; style-src 'sha256-") and "script-src 'sha256-" in policy
    assert not {tag for tag, _ in elements.tags} & {"img", "iframe", "object", "embed", "link", "form", "base"}
    attributes = {name for _, attrs in elements.tags for name in attrs}
    assert not any(name.startswith("on") or name in ("src", "srcdoc", "style") for name in attributes)
    assert all(attrs["href"].startswith("#") for _, attrs in elements.tags if "href" in attrs)
    assert page.count(markup.escape(HOSTILE)) >= 5


def test_markdown_says_the_runs_what_the_latest_changed_and_what_flakes(tmp_path):
    plan = [{"VC-A": "PASS", "VC-C": "WARN"}, {"VC-A": "FAIL", "VC-C": "WARN"}, {"VC-A": "PASS", "VC-C": "WARN"},
            {"VC-A": "FAIL", "VC-C": "PASS"}]
    paths = [str(results(tmp_path / f"{n}.json", n * 86_400.0, statuses)) for n, statuses in enumerate(plan, 1)]
    (tmp_path / "x.json").write_text("[]")
    text = history.markdown(history.build([*paths, str(tmp_path / "x.json")]))
    assert text.startswith("## Conformance history: 4 runs\n\nFrom 1970-01-02 00:00 UTC to 1970-01-05 00:00 UTC: "
                           "2 CONFORMANT, 2 NOT CONFORMANT.")
    assert "| #4 | 1970-01-05 00:00 UTC | VERDICT: NOT CONFORMANT — VC-A | 1 min 00 s | 1.0 | vidicore: " \
           "http://vs.test/API (target file) |" in text
    assert "### Newly failing in the latest run (regressed): 1\n\n| requirement | level | was | now | failed since" \
           in text and "| VC-A | MUST | PASS | FAIL | #4 | text of A |" in text
    assert "### Fixed in the latest run: 1" in text and "| VC-C | SHOULD | WARN | PASS | — | text of C |" in text
    assert "### Flaky: 1" in text and "| VC-A | MUST | 3 | #2 PASS→FAIL, #3 FAIL→PASS, #4 PASS→FAIL |" in text
    assert f"- `{tmp_path / 'x.json'}`: not a results file of this suite (no list of requirements)" in text


def test_json_holds_every_run_and_requirement(tmp_path):
    paths = [str(results(tmp_path / f"{n}.json", n * 100.0, {"VC-A": status}))
             for n, status in enumerate(["PASS", "FAIL", "PASS"], 1)]
    data = json.loads(history.as_json(history.build(paths)))
    assert [run["verdict"] for run in data["runs"]] == ["CONFORMANT", "NOT CONFORMANT", "CONFORMANT"]
    assert data["runs"][0]["timing"] == TIMING and data["runs"][0]["wall"] == 60.0
    assert data["requirements"] == [{"id": "VC-A", "level": "MUST", "protocol": "vidicore", "text": "text of A",
                                     "statuses": ["PASS", "FAIL", "PASS"], "latest": "PASS", "last_passed": 3,
                                     "failed_since": None, "last_change": 3, "flaky": True,
                                     "flips": [{"run": 2, "was": "PASS", "now": "FAIL"},
                                               {"run": 3, "was": "FAIL", "now": "PASS"}]}]
    assert data["flaky"] == ["VC-A"] and data["latest"]["fixed"] == ["VC-A"] and data["skipped"] == []


def _older_and_garbage(folder: Path) -> None:
    folder.mkdir()
    for name in ("format1-vidicore.json", "format2-spectra-failing.json"):
        (folder / name).write_bytes((OLDER / name).read_bytes())
    (folder / "garbage.json").write_text("garbage")


def test_the_command_writes_the_page_and_names_each_file_it_skipped(tmp_path):
    """`conformance history` in a real process: the page at reports/history.html by default, a file that is no
    results file one line on standard error."""
    _older_and_garbage(tmp_path / "runs")
    page = conformance("history", "runs", cwd=tmp_path)
    assert page.returncode == 0, page.stderr
    assert page.stdout == "2 runs from 2 results files; written to reports/history.html\n"
    assert page.stderr.startswith("conformance history: skipped runs/garbage.json: not JSON (")
    assert len(page.stderr.splitlines()) == 1
    assert "<h1>Conformance history: 2 runs</h1>" in (tmp_path / "reports" / "history.html").read_text()


def test_the_command_s_other_formats_and_its_errors(tmp_path, monkeypatch, capsys):
    """Markdown and JSON on standard output (or -o FILE); no results file at all, or an output it cannot write:
    one line, exit 2."""
    _older_and_garbage(tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["history", "runs", "--format", "md"]) == 0
    assert capsys.readouterr().out.startswith("## Conformance history: 2 runs")
    assert cli.main(["history", "runs/format1-vidicore.json", "--format", "json", "-o", "h.json"]) == 0
    assert json.loads((tmp_path / "h.json").read_text())["runs"][0]["format"] == 1
    capsys.readouterr()
    assert cli.main(["history", "runs/garbage.json", "missing"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == \
        "conformance history: error: no results file among the 2 file(s) given"
    (tmp_path / "taken").write_text("a file where a folder should be")
    assert cli.main(["history", "runs", "-o", "taken/page.html"]) == 2
    assert "conformance history: error: taken/page.html: cannot be written" in capsys.readouterr().err


@pytest.mark.parametrize("word", ["PASS", "NOT CHECKED", "EXCELLENT"])
def test_a_cell_is_coloured_by_its_status_and_a_status_of_another_version_is_shown_neutrally(word):
    assert history._code(word) == {"PASS": "P", "NOT CHECKED": "N", "EXCELLENT": "U"}[word]
    assert history._code(None) == "X"
