"""Allure (a feature plugin): each case's evidence on its Allure result, where the case ran (Allure writes its results
in that process), with labels for protocol, requirement and level; a no-op when allure-pytest writes nothing.
`conformance run --alluredir DIR` passes allure-pytest's own option on."""

from __future__ import annotations

import pytest

from conformance import catalogue
from conformance.options import Option
from conformance.record import CaseRecord

ALLUREDIR = Option("allure_report_dir", "write Allure results with HTTP evidence", cli=("--alluredir",),
                   passes="--alluredir", metavar="DIR")
OPTIONS = (ALLUREDIR,)  # the pytest side is allure-pytest's own


@pytest.hookimpl
def pytest_conformance_record(record: CaseRecord, item: pytest.Item) -> None:
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency, but a stripped install still runs
        return
    if record.protocol:
        allure.dynamic.label("protocol", record.protocol)
    known = catalogue.load_all()
    for requirement in record.requirements:
        allure.dynamic.label("requirement", requirement)
    for level in dict.fromkeys(known[r].level for r in record.requirements if r in known):
        allure.dynamic.label("level", level)  # MUST, SHOULD: Allure's filters group by any label
    if record.exchanges:
        allure.attach(record.render(), name="HTTP exchanges", attachment_type=allure.attachment_type.TEXT)
    if record.mailboxes:
        allure.attach(record.render_inbound(), name="inbound deliveries", attachment_type=allure.attachment_type.TEXT)
