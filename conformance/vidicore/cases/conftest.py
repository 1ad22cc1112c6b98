"""Fixtures of the VidiCore cases: the resolved target, a client per case that cleans up after itself."""

from __future__ import annotations

import secrets

import pytest

from conformance.plugin import ConformanceRun
from conformance.vidicore.client import VidiCoreClient


@pytest.fixture(scope="session")
def run_id() -> str:
    """Run-unique token carried by everything the run creates on a target."""
    return "conformance-" + secrets.token_hex(6)


@pytest.fixture(scope="session")
def vidicore_endpoint(conformance_run: ConformanceRun):
    return conformance_run.endpoint("vidicore")


@pytest.fixture
def vc(vidicore_endpoint, run_id, request) -> VidiCoreClient:
    client = VidiCoreClient(vidicore_endpoint.client, vidicore_endpoint.settings, run_id)
    yield client
    left = client.cleanup()
    if left:
        request.node.add_report_section("teardown", "cleanup", "could not remove: " + "; ".join(left))

