"""Fixtures of the VidiCore cases: the resolved target, a client per case that cleans up after itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.ledger import Book, Ledger
from conformance.run import ProcessRun, report_leftovers
from conformance.vidicore.client import VidiCoreClient
from conformance.vidicore.triggers import Jobs


@pytest.fixture(scope="session")
def vidicore_endpoint(conformance_run: ProcessRun):
    return conformance_run.endpoint("vidicore")


@pytest.fixture(scope="session")
def vidicore_ledger(vidicore_endpoint, ledger: Ledger | None) -> Book | None:
    """Where the run writes down what it makes on this target (None: no ledger kept)."""
    return None if ledger is None else ledger.book("vidicore", vidicore_endpoint.settings.base_url,
                                                   vidicore_endpoint.origin)


@pytest.fixture
def vc(vidicore_endpoint, vidicore_ledger, names, request) -> Iterator[VidiCoreClient]:
    client = VidiCoreClient(vidicore_endpoint.client, vidicore_endpoint.settings, names, ledger=vidicore_ledger)
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
def jobs(vc, vidicore_endpoint, readable_uri, request) -> Iterator[Jobs]:
    made = Jobs(vc, vidicore_endpoint.settings.jobs, readable_uri)
    yield made
    report_leftovers(request, made.cleanup())
