"""A parallel run reports exactly what a serial run reports.

Each case's record travels on its pytest report to the controller, which alone assembles the run; so a run on
pytest-xdist workers must give the same status of every requirement, the same counts of checks, and the same
verdict as a serial run — against the embedded server (one per worker) and against one server shared by every
worker, as a CI engineer runs the suite against a staging server (where "nothing was stored" must be judged by
the case's own marker, and delete-all must not run beside other cases).
"""

from __future__ import annotations

import httpx

from conformance import reference
from conformance.spectra.signing import SpectraAuth
from conformance.vidicore.client import ALL_FORMS
from conftest import toml

WORKERS = "4"


def outcome(data: dict) -> tuple[dict, dict, str]:
    """(status of each requirement, counts of each requirement's checks, verdict line)."""
    assert data is not None, "the run wrote no results"
    return ({r["id"]: r["status"] for r in data["requirements"]}, {r["id"]: r["counts"] for r in data["requirements"]},
            data["verdict"]["line"])


def leftovers(server) -> dict[str, list[str]]:
    """What is left on a reference server: notifications on every resource, registrations, buckets."""
    vidicore = server.target_data()["vidicore"]
    left: dict[str, list[str]] = {}
    with httpx.Client(auth=("admin", server.env["CONFORMANCE_REFERENCE_ADMIN_PASSWORD"])) as client:
        for form in ALL_FORMS:
            path = form.path(vidicore["entities"].get(form.entity) if form.single else None)
            text = client.get(f"{vidicore['base_url']}/{path}", headers={"Accept": "text/plain"}).text
            if text.strip():
                left[path] = text.split()
    spectra = server.apps["spectra"]
    if spectra.registrations:
        left["registrations"] = sorted(spectra.registrations)
    if spectra.jobs.buckets:
        left["buckets"] = sorted(spectra.jobs.buckets)
    return left


def test_parallel_and_serial_runs_report_the_same(run_suite, pytester, monkeypatch, tmp_path):
    # the hand-written cases here (CI time). Workers with an embedded server each (`conformance run -n 2`, the
    # generated cases included) are compared with a serial run in test_cli.py; generated cases leave no trace on a
    # shared server in test_plugin.py
    serial, serial_data = run_suite("-m", "not generated", protocol="conformance")
    assert serial.ret == 0, serial.stdout.str()[-3000:]
    expected = outcome(serial_data)
    assert expected[2].startswith("VERDICT: CONFORMANT")

    # one server for every worker: a staging server as a CI engineer meets it
    media = tmp_path / "media.bin"
    media.write_bytes(b"conformance media\n")
    with reference.start(("vidicore", "spectra")) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        data = server.target_data()
        data["vidicore"]["jobs"] = {"readable_uri": media.as_uri()}
        pytester.makefile(".toml", target=toml(data))
        admin = data["spectra"]["users"]["admin"]
        signer = SpectraAuth(admin["access_id"], server.env[admin["secret_key_env"]])
        foreign = httpx.post(f"{data['spectra']['base_url']}/_rest_/job_completed_notification_registration",
                             params={"notification_end_point": "http://someone.else.invalid/hook"}, auth=signer)
        assert foreign.status_code == 201
        before = leftovers(server)
        shared, shared_data = run_suite("--conformance-target", "target.toml", "-m", "not generated", "-n", WORKERS,
                                        protocol="conformance")
        assert shared.ret == 0, shared.stdout.str()[-3000:]
        assert outcome(shared_data) == expected
        assert leftovers(server) == before, "the parallel run left something behind or removed someone else's"
