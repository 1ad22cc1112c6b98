"""Fixtures of the Spectra S3 cases: the resolved target, a signing client and job triggers per case, each
cleaning up after itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.run import ProcessRun, report_leftovers
from conformance.spectra.client import SpectraClient
from conformance.spectra.triggers import Jobs


@pytest.fixture(scope="session")
def spectra_endpoint(conformance_run: ProcessRun):
    return conformance_run.endpoint("spectra")


@pytest.fixture
def sp(spectra_endpoint, names, request) -> Iterator[SpectraClient]:
    client = SpectraClient(spectra_endpoint.client, spectra_endpoint.settings, names)
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
