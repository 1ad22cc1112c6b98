"""The HTML report in a real browser: headless Chromium (Debian's `chromium` package; `.ci/run` installs it),
driven by Playwright. A failing run's page shows the verdict, the failing requirement and its evidence, and its
filters hide rows; the page asks nothing of the network, not even with a hostile server's evidence on it.

Without Chromium these tests are skipped, saying how to install it, except under CI (the environment variable
`CI` set), where they fail: the browser check is part of the gate."""

from __future__ import annotations

import os
import shutil

import pytest

from conformance import html
from test_html import HOSTILE, assessed, exchange, record

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL = "apt-get install -y chromium"


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set: the browser check cannot be skipped there)")
    pytest.skip(what)


@pytest.fixture
def browser(tmp_path):
    """A fresh headless Chromium (its own profile under tmp_path), as a Playwright browser context."""
    executable = shutil.which("chromium")
    if executable is None:
        _missing(f"no Chromium to check the HTML report in: install it with `{INSTALL}` (Debian)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()


def opened(context, path):
    """The page at `path` (file://), and the URL of every request it made (anything but file:// is refused)."""
    requests: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                  else route.abort())
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("networkidle")
    return page, requests


def failing_run(run_suite, pytester):
    report = pytester.path / "report.html"
    result, data = run_suite("--reference-fault", "list-text-lf", "-k", "test_list and item",
                             "--conformance-html", str(report))
    assert result.ret == 1 and data["verdict"]["line"].startswith("VERDICT: NOT CONFORMANT")
    return report, data


def test_a_failing_run_s_report_shows_verdict_failure_evidence_and_filters(run_suite, pytester, browser, tmp_path):
    report, data = failing_run(run_suite, pytester)
    page, _ = opened(browser, report)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

    banner = page.locator("header.banner")
    assert banner.is_visible() and banner.locator("h1").inner_text() == "NOT CONFORMANT"
    assert data["verdict"]["line"] in banner.inner_text()

    rows = page.locator("#requirements tbody tr")
    failing = page.locator('#requirements tbody tr[data-status="FAIL"]')
    passing = page.locator('#requirements tbody tr[data-status="PASS"]')
    assert failing.count() == 1 and failing.locator("td").first.inner_text() == "VC-LIST-TEXT"
    assert failing.is_visible() and passing.count() >= 1 and passing.first.is_visible()
    assert page.locator('#requirements tbody tr[data-status="NOT RUN"]').first.is_hidden()  # unticked at first
    shown = page.locator("#f-shown")
    visible = failing.count() + passing.count()
    assert shown.inner_text() == f"{visible} of {rows.count()} requirements shown"

    failing.locator("a").click()  # to the requirement's findings: its cases, messages, exchanges, curl lines
    finding = page.locator("#finding-VC-LIST-TEXT")
    assert finding.is_visible() and "lines are not separated by CRLF" in finding.inner_text()
    case = finding.locator("details.case[open]").first
    listing = case.locator("details.exchange", has_text="GET").first
    assert listing.locator("pre").first.is_visible()
    assert "< 200" in listing.locator("pre").first.inner_text() and "text/plain" in listing.inner_text()
    curl = listing.locator("pre.curl")
    assert curl.is_visible() and curl.inner_text().startswith("curl -sS -X GET ")

    page.locator('input[name="status"][value="PASS"]').click()  # the status filter: PASS rows hide
    assert passing.first.is_hidden() and failing.is_visible()
    assert shown.inner_text() == f"{failing.count()} of {rows.count()} requirements shown"
    page.locator('input[name="status"][value="FAIL"]').click()
    assert failing.is_hidden() and shown.inner_text() == f"0 of {rows.count()} requirements shown"
    page.locator('input[name="status"][value="FAIL"]').click()
    page.locator('input[name="status"][value="PASS"]').click()
    page.locator("#f-level").select_option("SHOULD")  # the level filter: every visible row is MUST here
    assert failing.is_hidden() and passing.first.is_hidden()
    page.locator("#f-level").select_option("")
    page.locator("#f-search").fill("crlf")  # the search box: the one requirement whose text says CRLF
    assert failing.is_visible() and passing.first.is_hidden()


def test_the_page_makes_no_network_request(run_suite, pytester, browser, tmp_path):
    """A run's page, and a page whose evidence a hostile server wrote (scripts, images, links), every case and
    exchange unfolded: the browser requests the file itself and nothing else. A control page that does load an
    image shows the request log sees requests."""
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/control.png">')
    _, requests = opened(browser, control)
    assert "http://127.0.0.1:9/control.png" in requests

    hostile = tmp_path / "hostile.html"
    made = record(f"case[{HOSTILE}]", [("VC-LIST-TEXT", "fail", HOSTILE)],
                  [exchange(HOSTILE, url=f"http://127.0.0.1:9/{HOSTILE}", response_headers={"x": HOSTILE})])
    hostile.write_text(html.render(assessed(made), {HOSTILE: HOSTILE}), encoding="utf-8")
    report, _ = failing_run(run_suite, pytester)
    for path in (report, hostile):
        page, requests = opened(browser, path)
        closed = page.locator("details:not([open]) > summary:visible")
        for _ in range(200):  # unfold everything, outside in
            if not closed.count():
                break
            closed.first.click()
        assert closed.count() == 0
        page.locator("#f-search").fill("<img")
        page.wait_for_load_state("networkidle")
        assert requests == [path.as_uri()], f"{path.name} requested {requests[1:]}"
        assert page.locator("img, iframe, object, embed").count() == 0
    assert HOSTILE in page.locator("#findings ~ section").first.inner_text()  # the hostile text, shown as text
