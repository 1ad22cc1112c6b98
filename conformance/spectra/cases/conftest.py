"""Fixtures of the Spectra S3 cases: the resolved target, a signing client and job triggers per case, each
cleaning up after itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.ledger import Book, Ledger
from conformance.run import ProcessRun, report_leftovers
from conformance.spectra.client import SpectraClient
from conformance.spectra.triggers import Jobs


@pytest.fixture(scope="session")
def spectra_endpoint(conformance_run: ProcessRun):
    return conformance_run.endpoint("spectra")


@pytest.fixture(scope="session")
def spectra_ledger(spectra_endpoint, ledger: Ledger | None) -> Book | None:
    """Where the run writes down what it makes on this target (None: no ledger kept)."""
    return None if ledger is None else ledger.book("spectra", spectra_endpoint.settings.base_url,
                                                   spectra_endpoint.origin)


@pytest.fixture
def sp(spectra_endpoint, spectra_ledger, names, request) -> Iterator[SpectraClient]:
    client = SpectraClient(spectra_endpoint.client, spectra_endpoint.settings, names, ledger=spectra_ledger)
    yield client
    report_leftovers(request, client.cleanup())


@pytest.fixture
def jobs(sp, request) -> Iterator[Jobs]:
    made = Jobs(sp)
    yield made
    report_leftovers(request, made.cleanup())


@pytest.fixture
def ordinary(check, sp) -> str:
    """The ordinary (non-administrator) user's role name; not applicable when the target names none."""
    if not sp.has_user("user"):
        check.not_applicable("the target names no ordinary user ([spectra.users.user])")
    return "user"
