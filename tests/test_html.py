"""Tests for conformance.html: the page built from hand-made assessments (what it shows, that everything a server
sent is escaped, the policy, the caps), and `conformance run --html` / `conformance report` as a user runs them.
The page in a real browser: tests/test_html_browser.py."""

from __future__ import annotations

import base64
import hashlib
import html as markup
import re
from html.parser import HTMLParser

import pytest

from conformance import catalogue, html
from conformance.http import Exchange
from conformance.record import CaseRecord, Inbound
from conformance.events import CheckEvent
from conformance.results import assess
from conformance.resultsfile import ResultsFile
from test_cli import conformance

HOSTILE = ('</pre></details><script>fetch("http://127.0.0.1:9/s")</script>'
           '<img src="http://127.0.0.1:9/i" onerror="fetch(\'http://127.0.0.1:9/e\')"><a href="http://x/">x</a>')


def exchange(body: str = "VX-1\nVX-2", **fields) -> Exchange:
    values = {"method": "GET", "url": "http://server.test/API/item/notification",
              "request_headers": {"accept": "text/plain", "authorization": "Basic ***"}, "request_body": "",
              "status": 200, "response_headers": {"content-type": "text/plain"}, "response_body": body,
              "elapsed": 0.0042, "curl": "curl -sS -X GET http://server.test/API/item/notification", "label": "list"}
    return Exchange(**{**values, **fields})


def record(case: str, events: list[tuple[str, str, str]], exchanges=(), outcome: str = "failed") -> CaseRecord:
    made = CaseRecord(case, tuple(dict.fromkeys(requirement for requirement, _, _ in events)), "vidicore")
    for requirement, result, message in events:
        made.emit(CheckEvent(requirement, result, case, message))
    made.exchanges = list(exchanges)
    made.outcome = outcome
    return made


def assessed(*records: CaseRecord):
    return assess({"vidicore": catalogue.load("vidicore")}, records)


def failing():
    failed = record("cases/test_list.py::test_list_text_crlf[item]",
                    [("VC-LIST-TEXT", "fail", "lines are not separated by CRLF")], [exchange()])
    failed.rerun = "conformance run vidicore -k 'test_list_text_crlf[item]'"
    return assessed(failed,
                    record("cases/test_list.py::test_list[item]", [("VC-LIST", "pass", "")], [exchange()], "passed"))


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text of its <style> and <script>."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: dict[str, str] = {}
        self._in: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("style", "script") else None

    def handle_data(self, data):
        if self._in:
            self.inline[self._in] = self.inline.get(self._in, "") + data

    def handle_endtag(self, tag):
        self._in = None


def test_the_page_shows_the_verdict_every_requirement_and_the_evidence_of_a_failure():
    assessment = failing()
    page = html.render(assessment, {"started": 0.0, "finished": 2.5})
    assert '<header class="banner bad" id="verdict"><h1>NOT CONFORMANT</h1>' in page
    assert markup.escape(assessment.verdict.line) in page
    rows = re.findall(r'<tr data-status="([^"]+)" data-protocol="vidicore" data-level="(MUST|SHOULD)"><td>(?:<a[^>]*>)?'
                      r'([A-Z0-9-]+)', page)
    assert len(rows) == len(catalogue.load("vidicore").requirements)
    assert ("FAIL", "MUST", "VC-LIST-TEXT") in rows and ("PASS", "MUST", "VC-LIST") in rows
    finding = page.split('id="finding-VC-LIST-TEXT"', 1)[1].split("</section>", 1)[0]
    assert "lines are not separated by CRLF" in finding and "test_list_text_crlf[item]" in finding
    assert markup.escape(exchange().render()) in finding  # the seam's own rendering of the exchange
    assert '<pre class="curl">curl -sS -X GET http://server.test/API/item/notification</pre>' in finding
    assert f'<pre class="curl">rerun: {markup.escape("conformance run vidicore -k ")}' in finding  # the case again
    assert "4.2 ms" in finding
    assert 'id="finding-VC-LIST"' not in page  # a pass has no finding
    assert "started</dt><dd>1970-01-01 00:00:00 UTC" in page and "duration</dt><dd>2.5 s" in page


def test_everything_the_server_sent_is_escaped():
    """Evidence from a hostile server (url, headers, bodies, messages, deliveries, leftovers) and metadata are
    text on the page: no element, attribute or link of theirs."""
    made = record(f"case[{HOSTILE}]", [("VC-LIST-TEXT", "fail", HOSTILE)],
                  [exchange(HOSTILE, url=f"http://server.test/{HOSTILE}", request_body=HOSTILE, label=HOSTILE,
                            response_headers={HOSTILE: HOSTILE}, curl=HOSTILE)])
    made.mailboxes = [f"http://receiver.test/{HOSTILE}"]
    made.inbound = [Inbound(made.mailboxes[0], "POST", f"/{HOSTILE}", {HOSTILE: HOSTILE}, HOSTILE, 0.0, 200)]
    made.leftovers = [HOSTILE]
    page = html.render(assessed(made), {"argv": [HOSTILE], HOSTILE: {HOSTILE: [HOSTILE, {"x": HOSTILE}]},
                                        "targets": {"vidicore": {"base_url": HOSTILE}}})
    elements = Elements(page)
    assert {tag for tag, _ in elements.tags} <= {"html", "head", "meta", "title", "style", "body", "header", "h1",
                                                 "h2", "h3", "h4", "p", "span", "nav", "a", "main", "div",
                                                 "fieldset", "legend", "label", "input", "select", "option", "table",
                                                 "thead", "tbody", "tr", "th", "td", "section", "ul", "li", "details",
                                                 "summary", "code", "pre", "b", "dl", "dt", "dd", "script",
                                                 # the pictures (conformance.charts): inline SVG, its text escaped
                                                 "svg", "g", "line", "circle", "rect", "text", "path", "polyline"}
    assert [tag for tag, _ in elements.tags].count("script") == 1 and elements.inline["script"] == html.SCRIPT
    attributes = {name: value for _, attrs in elements.tags for name, value in attrs.items()}
    assert not any(name.startswith("on") or name in ("src", "srcdoc", "style") for name in attributes)
    assert all(attrs["href"].startswith("#") for tag, attrs in elements.tags if "href" in attrs)
    assert page.count(markup.escape(HOSTILE)) >= 10


def test_the_policy_forbids_every_fetch_and_runs_only_the_page_s_own_style_and_script():
    page = html.render(failing(), {})
    elements = Elements(page)
    policy = next(attrs["content"] for tag, attrs in elements.tags
                  if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert directives == {"default-src": "'none'", "style-src": digest(elements.inline["style"]),
                          "script-src": digest(elements.inline["script"]), "base-uri": "'none'",
                          "form-action": "'none'"}
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:|//)", page) and "@import" not in page


def test_metadata_shows_every_key_and_needs_none():
    assert "NOT CONFORMANT" in html.render(failing(), {})  # no metadata at all: still a page
    odd = html.render(failing(), {"started": 1e300, "finished": "soon", "targets": ["odd"], "exit_code": True})
    assert "<dt>started</dt><dd>1e+300</dd>" in odd and "<dt>exit code</dt><dd>yes</dd>" in odd
    meta = {"started": 86400.0, "suite_version": "1.4.0", "server_headers": {"vidicore": ["Werkzeug/3.1"]},
            "waivers": [{"id": "VC-X", "reason": "known", "expires": "2027-01-01"}], "exit_code": 1,
            "deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}, "shard": None, "faults": ["list-text-lf"]}
    run = html.render(failing(), meta).split('<h2 id="run">', 1)[1]
    assert "<dt>started</dt><dd>1970-01-02 00:00:00 UTC</dd>" in run
    assert "<dt>suite version</dt><dd>1.4.0</dd>" in run
    assert "<dt>server headers</dt><dd><dl><dt>vidicore</dt><dd>Werkzeug/3.1</dd></dl></dd>" in run
    assert "<dt>id</dt><dd>VC-X</dd><dt>reason</dt><dd>known</dd>" in run
    assert "<dt>shard</dt><dd><span class=\"muted\">none</span>" in run and "list-text-lf" in run
    assert "{&quot;g&quot;: 1}" in run  # nested deeper than the page shows as tables: as JSON


def test_statuses_the_page_does_not_know_are_shown_neutrally_with_their_findings():
    assessment = failing()
    results = {result.requirement.id: result for result in assessment.results}
    results["VC-LIST-TEXT"].status = "WAIVED"
    results["VC-LIST"].status = "SOMETHING NEW"
    page = html.render(assessment, {})
    assert '<tr data-status="WAIVED"' in page and '<tr data-status="SOMETHING NEW"' in page
    assert 'name="status" value="WAIVED" checked' in page and 'name="status" value="SOMETHING NEW" checked' in page
    assert '<section class="finding" data-status="WAIVED" id="finding-VC-LIST-TEXT">' in page
    assert '<section class="finding" data-status="SOMETHING NEW" id="finding-VC-LIST">' in page
    assert 'status[data-status="SOMETHING NEW"]' not in html.STYLE  # no style of its own: the neutral badge


def test_a_case_s_evidence_is_shown_once_and_linked_from_its_other_requirements():
    made = record("cases/test_roles.py::test_reader[item]", [("VC-ROLE-READ", "n/a", "no reader configured"),
                                                              ("VC-ROLE-WRITE", "n/a", "no reader configured")],
                  [exchange()], "skipped")
    page = html.render(assessed(made), {})
    assert page.count('id="case-cases_test_roles_py__test_reader_item_"') == 1
    assert page.count(markup.escape(exchange().render())) == 1
    assert '<a href="#case-cases_test_roles_py__test_reader_item_">' in page.split('id="finding-VC-ROLE-WRITE"')[1]


def test_evidence_is_capped_per_case_and_per_page_and_the_page_says_so():
    """Bodies of four-byte characters: the caps count bytes. One case with many exchanges keeps its last ones;
    many such cases keep the page under 2 MB."""
    big = "\U0001F600" * 16_000
    many = [exchange(big, label=f"request {n}") for n in range(1, 41)]
    one = html.render(assessed(record("cases/test_list.py::test_big[item]",
                                      [("VC-LIST-TEXT", "fail", "no")], many)), {})
    assert "The first 39 of 40 exchanges of this case are not shown" in one
    assert "request 40" in one and "· request 39<" not in one
    assert "1 case(s) are shown in part or not at all" in one
    smaller = [exchange("\U0001F600" * 4_000, label=f"request {n}") for n in range(1, 4)]  # 48 KB a case
    cases = [record(f"cases/test_list.py::test_big[{n}]", [("VC-LIST-TEXT", "fail", "no")], smaller)
             for n in range(200)]
    page = html.render(assessed(*cases), {})
    assert len(page.encode()) < 2_000_000
    first = page.split('id="case-cases_test_list_py__test_big_0_"', 1)[1].split("</details></details>", 1)[0]
    assert first.count('<details class="exchange"') == 3  # the first cases whole, until the page is full
    assert "Case <code>cases/test_list.py::test_big[199]</code>: not shown (the page's size cap)" in page
    cut = int(re.search(r"(\d+) case\(s\) are shown in part or not at all", page).group(1))
    assert 150 < cut < 200
    assert page.count("<tr data-status=") == len(catalogue.load("vidicore").requirements)  # the table is whole


def test_the_comparison_with_a_baseline_uses_the_run_to_run_diff():
    baseline = {"meta": {"started": 0.0}, "verdict": {"line": "VERDICT: CONFORMANT — old"},
                "requirements": [{"id": "VC-LIST-TEXT", "status": "PASS", "level": "MUST", "protocol": "vidicore",
                                  "text": "t"}, {"id": "VC-LIST", "status": "FAIL", "level": "MUST",
                                                 "protocol": "vidicore", "text": "t"}]}
    page = html.render(failing(), {}, ResultsFile("old.json", baseline))
    section = page.split('<h2 id="comparison">', 1)[1].split('<h2 id="requirements">', 1)[0]
    assert "VERDICT: CONFORMANT — old" in section and "1 regressed, 1 fixed" in section
    assert "<h3>Regressed (newly failing)</h3>" in section and "VC-LIST-TEXT" in section.split("Fixed")[0]
    row = page.split('data-level="MUST"><td><a href="#finding-VC-LIST-TEXT">', 1)[1].split("</tr>", 1)[0]
    assert '<span class="was">was PASS</span>' in row
    assert '<a href="#comparison">Comparison</a>' in page


def test_the_run_writes_the_page_and_report_rebuilds_the_same_from_the_results_file(tmp_path):
    """`conformance run --html` (the plugin's consumer) and `conformance report` (the results file re-assessed)
    show the same requirements and the same findings: one source."""
    run = conformance("run", "-k", "VC-LIST-TEXT and item", "--fault", "list-text-lf", "--results", "r.json",
                      "--html", "live.html", cwd=tmp_path)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr
    report = conformance("report", "r.json", "--html", "out/again.html", cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "written to out/again.html" in report.stdout and "VERDICT: NOT CONFORMANT" in report.stdout
    live, again = ((tmp_path / name).read_text() for name in ("live.html", "out/again.html"))

    def part(page: str, start: str, end: str) -> str:
        return page.split(start, 1)[1].split(end, 1)[0]

    for start, end in (('<header class="banner', "</header>"), ("<tbody>", "</tbody>"), ('id="findings"', 'id="run"')):
        assert part(live, start, end) == part(again, start, end)
    assert "lines are not separated by CRLF" in part(live, 'id="findings"', 'id="run"')


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_the_plugin_writes_the_page_and_compares_with_a_baseline(run_suite, pytester, workers):
    """`--conformance-html` and `--conformance-baseline`: the controller's consumer, under pytest-xdist too."""
    clean, _ = run_suite("-k", "VC-LIST-TEXT and item", *workers)
    assert clean.ret == 0
    baseline = (pytester.path / "results.json").rename(pytester.path / "baseline.json")
    result, _ = run_suite("-k", "VC-LIST-TEXT and item", "--reference-fault", "list-text-lf", *workers,
                          "--conformance-html", "page.html", "--conformance-baseline", str(baseline))
    assert result.ret == 1
    result.stdout.fnmatch_lines(["results written to *results.json", "HTML report written to page.html"])
    page = (pytester.path / "page.html").read_text()
    assert '<h1>NOT CONFORMANT</h1>' in page and "lines are not separated by CRLF" in page
    assert "<h3>Regressed (newly failing)</h3>" in page and '<span class="was">was PASS</span>' in page


def test_a_baseline_without_a_page_is_a_usage_error(run_suite):
    result, data = run_suite("-k", "VC-LIST-TEXT", "--conformance-baseline", "old.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR and data is None
    assert "--conformance-baseline is compared in the HTML report: give --conformance-html FILE" in result.stderr.str()


@pytest.mark.parametrize("args, message", [
    (("report", "missing.json", "--html", "x.html"), "conformance report: error: missing.json: file not found"),
    (("report", "garbage.json", "--html", "x.html"), "conformance report: error: garbage.json: not JSON"),
    (("report", "other.json", "--html", "x.html"), "conformance report: error: other.json: not a results file"),
    (("report", "other.json"), "conformance report: error: nothing to write"),
    (("run", "--baseline", "missing.json"), "--conformance-baseline: missing.json: file not found"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"requirements": []}')
    done = conformance(*args, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr
    assert message in done.stderr and "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "x.html").exists()


def test_a_requirement_no_generated_example_reached_has_its_reason_among_the_findings():
    generated = record("cases/test_generated.py::test_generated_round_trip", [("VC-LIST", "pass", "")],
                       outcome="passed")
    generated.requirements = ("VC-LIST", "VC-RETRIEVE")
    generated.unreached = ["VC-RETRIEVE"]
    page = html.render(assessed(generated), {"started": 0.0, "finished": 1.0})
    assert 'id="finding-VC-RETRIEVE"' in page and "none of its generated examples reached it" in page
    assert 'href="#finding-VC-RETRIEVE"' in page
    assert 'id="finding-VC-CREATE-200"' not in page  # NOT RUN, deselected: no finding


def delivery_case(name: str, answers: list[tuple[float, int, float]], mailboxes: int = 1) -> CaseRecord:
    """A delivery case that started a job at 100.0 s and got deliveries (arrival, answer status, answer delay) at
    its first mailbox."""
    made = record(name, [("VC-DLV-RETRY", "pass", "")], [
        exchange(label="create placeholder item", at=99.9),
        exchange(method="POST", label="start import job", at=100.0)], outcome="passed")
    made.started, made.duration, made.area = 99.8, 2.0, "delivery"
    made.mailboxes = [f"http://receiver.test/cb/t/{n}-retry" for n in range(1, mailboxes + 1)]
    made.inbound = [Inbound(made.mailboxes[0], "POST", "/cb/t/1-retry", {}, "", 100.0 + at, status, delay)
                    for at, status, delay in answers]
    return made


def test_the_time_section_draws_areas_the_slowest_cases_and_each_delivery_s_timeline():
    """Time per area and the slowest cases as bars, each protocol's latency in words, and every delivery case from
    its job's start: a retry (a refusing answer, then 2xx) comes first, its attempts said in words too."""
    once = delivery_case("cases/test_delivery.py::test_once", [(0.25, 200, 0.0)])
    retried = delivery_case("cases/test_delivery.py::test_retry", [(0.25, 500, 0.0), (1.5, 200, 0.5)], mailboxes=2)
    page = html.render(assessed(once, retried), {"started": 0.0, "finished": 4.5})
    time = markup.unescape(page.split('<h2 id="time">', 1)[1].split('<h2 id="run">', 1)[0])
    assert "wall time 4.5 s; the cases' time summed: 4 s (2 cases" in time
    assert "vidicore: 4 requests answered, median 4.2 ms, 95th percentile 4.2 ms" in time
    assert "vidicore · delivery: 2 cases, 4 s" in time and "<h3>The slowest 2 cases</h3>" in time
    deliveries = time.split("<h3>Deliveries (2 cases)</h3>", 1)[1]
    assert deliveries.index("test_retry") < deliveries.index("test_once")  # a retry first
    assert "from its job's start: 1-retry: 500 at 250 ms, 200 at 1.5 s; 2-retry: nothing arrived" in deliveries
    assert "1-retry: attempt 2, POST arrived 1.5 s after the job's start, answered 200 after a 500 ms delay" \
        in deliveries
    assert deliveries.count('<svg class="chart"') == 2 and deliveries.count("<title>job 1 started at 0 s") == 2
    assert '<a href="#time">Time</a>' in page
