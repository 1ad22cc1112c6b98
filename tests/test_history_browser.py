"""The history page in a real browser (headless Chromium, as tests/test_html_browser.py drives it): built from 30
results files of real runs against the embedded reference server, a fault switched on and off between them
(tests/history_runs.py: one process looping over tiny runs). It shows the verdict timeline, the requirement that
flipped as flaky, its grid filters work, and it asks nothing of the network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conformance import history
from history_runs import FAULTY, FLIPPING
from test_html_browser import browser, opened  # noqa: F401 (the fixture)

RUNS = 30


def test_the_history_of_30_real_runs_shows_verdicts_the_flaky_requirement_and_filters(browser, tmp_path):  # noqa: F811
    runs = tmp_path / "runs"
    runs.mkdir()
    made = subprocess.run([sys.executable, str(Path(__file__).with_name("history_runs.py")), str(runs), str(RUNS)],
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    page_path = tmp_path / "history.html"
    found = history.build([str(runs)])
    assert len(found.runs) == RUNS and not found.skipped
    page_path.write_text(history.render(found), encoding="utf-8")

    page, requests = opened(browser, page_path)
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)

    marks = page.locator('svg[aria-label="verdict timeline"] circle')  # one mark per run, coloured by verdict
    assert marks.count() == RUNS and page.locator('svg[aria-label="verdict timeline"] circle.bad').count() == \
        len(FAULTY)
    assert [n for n in range(RUNS) if marks.nth(n).get_attribute("class") == "bad"] == sorted(n - 1 for n in FAULTY)
    assert "NOT CONFORMANT" in marks.nth(min(FAULTY) - 1).locator("title").text_content()

    flaky = page.locator("#flaky-table tbody tr")  # the requirement that flipped, with the runs it flipped in
    assert flaky.count() == 1 and flaky.first.get_attribute("data-id") == FLIPPING
    assert f"#{min(FAULTY)}" in flaky.first.inner_text() and "PASS→FAIL" in flaky.first.inner_text()

    rows = page.locator("#grid tbody tr")
    shown = page.locator("#f-shown")
    first = rows.first  # the latest change first, marked flaky, one cell per run
    assert first.get_attribute("data-id") == FLIPPING and first.locator(".flaky").is_visible()
    assert first.locator("td.c").count() == RUNS and first.locator("td.c.sF").count() == len(FAULTY)
    visible = page.locator("#grid tbody tr:visible")
    total = rows.count()
    assert visible.count() == 3 and shown.inner_text() == f"3 of {total} requirements shown"  # NOT RUN unticked

    page.locator("#f-flaky").check()  # flaky only
    assert visible.count() == 1 and first.is_visible()
    page.locator("#f-flaky").uncheck()
    page.locator('input[name="status"][value="PASS"]').uncheck()  # the latest status: PASS rows hide
    assert visible.count() == 0 and shown.inner_text() == f"0 of {total} requirements shown"
    page.locator('input[name="status"][value="PASS"]').check()
    page.locator("#f-search").fill("crlf")  # the search box
    assert visible.count() == 1 and first.is_visible()
    page.locator("#f-search").fill("")
    page.locator("#f-level").select_option("SHOULD")
    assert visible.count() == 0
    page.locator("#f-level").select_option("")
    page.locator("#f-protocol").select_option("vidicore")
    assert visible.count() == 3

    first.locator("td.c").nth(min(FAULTY) - 1).hover()  # a cell names its requirement, status and run
    said = page.locator("#f-cell").inner_text()
    assert said.startswith(f"{FLIPPING}: FAIL · #{min(FAULTY)} ") and "NOT CONFORMANT" in said

    assert page.locator('svg[aria-label="time per area and wall time per run"] line.wall').count() == RUNS
    assert page.locator('svg[aria-label="request latency per run"] circle').count() == 2 * RUNS
    page.wait_for_load_state("networkidle")
    assert requests == [page_path.as_uri()], f"the page requested {requests[1:]}"
