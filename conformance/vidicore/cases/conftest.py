"""Fixtures of the VidiCore cases: the resolved target, a client per case that cleans up after itself."""

from __future__ import annotations

import pytest

from conformance.plugin import ConformanceRun, report_leftovers
from conformance.vidicore.client import Form
from conformance.vidicore.client import VidiCoreClient
from conformance.vidicore.triggers import Jobs


# --conformance-sample: the resources that stand for all 21 (whole and single-entity forms, the one with no
# single form, the placeholder with its own roles, and a name with "-" in its role names).
SAMPLE_FORMS = frozenset({Form("item"), Form("item", single=True), Form("storage/file"), Form(None),
                          Form("deletion-lock", single=True)})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("conformance_sample", False):
        return
    dropped = [item for item in items if _form(item) not in (None, *SAMPLE_FORMS)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(dropped)
        items[:] = [item for item in items if item not in gone]


def _form(item: pytest.Item) -> Form | None:
    callspec = getattr(item, "callspec", None)
    form = callspec.params.get("form") if callspec is not None else None
    return form if isinstance(form, Form) else None


@pytest.fixture(scope="session")
def vidicore_endpoint(conformance_run: ConformanceRun):
    return conformance_run.endpoint("vidicore")


@pytest.fixture
def vc(vidicore_endpoint, run_id, request) -> VidiCoreClient:
    client = VidiCoreClient(vidicore_endpoint.client, vidicore_endpoint.settings, run_id)
    yield client
    report_leftovers(request, client.cleanup())



@pytest.fixture(scope="session")
def readable_uri(vidicore_endpoint, tmp_path_factory) -> str | None:
    """A URI the server can read: the target's, or for the embedded server a file made here."""
    configured = vidicore_endpoint.settings.jobs.readable_uri
    if configured or not vidicore_endpoint.embedded:
        return configured
    media = tmp_path_factory.mktemp("media") / "conformance.bin"
    media.write_bytes(b"conformance media\n")
    return media.as_uri()


@pytest.fixture
def jobs(vc, vidicore_endpoint, readable_uri, request) -> Jobs:
    made = Jobs(vc, vidicore_endpoint.settings.jobs, readable_uri)
    yield made
    report_leftovers(request, made.cleanup())
