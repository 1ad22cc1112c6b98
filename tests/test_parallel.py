"""A vendor's run, as a CI engineer runs it against a staging server: both protocols named by one target file whose
secrets come from environment variables, one reference server shared by the run (with a fault of each protocol on,
so failing cases write their evidence: every exchange, every delivery, the curl lines), every report asked for, the
generated cases included; once serially and once on four pytest-xdist workers. From those two runs:

- a parallel run reports exactly what a serial run reports (every requirement's status and counts, the verdict):
  each case's record travels on its report to the controller, which alone assembles the run; "nothing was stored"
  is judged by the case's own marker; delete-all and the other exclusive cases hold the server alone;
- neither run leaves anything behind on the server, and both keep what someone else made there;
- no secret is ever written: the terminal output and every file either run wrote (its ledger included) are searched
  for each password and secret key, and for the forms they travel in (HTTP Basic credentials).
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from conformance import reference
from conformance.spectra.signing import SpectraAuth
from conformance.vidicore.client import ALL_FORMS
from conftest import once, toml
from test_cli import conformance

FAULTS = ("list-text-lf", "sp-book-no-code")  # a failing case of each protocol: its evidence is written out
RUNS = {"serial": (), "parallel": ("-n", "4")}


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


def secret_forms(data: dict, env: dict[str, str]) -> dict[str, str]:
    """What must never appear -> which secret it is: every password and secret key as is, and each VidiCore
    user's Basic credentials (base64 of user:password)."""
    found = {}
    for protocol in ("vidicore", "spectra"):
        for role, user in data[protocol]["users"].items():
            variable = user.get("password_env") or user["secret_key_env"]
            secret = env[variable]
            found[secret] = f"{protocol} {role}'s secret ({variable})"
            if "username" in user:
                basic = base64.b64encode(f"{user['username']}:{secret}".encode()).decode()
                found[basic] = f"{protocol} {role}'s Basic credentials"
    return found


def _vendor_runs(folder: Path) -> dict:
    media = folder / "media.bin"
    media.write_bytes(b"conformance media\n")
    with reference.start(("vidicore", "spectra"), FAULTS) as server:
        data = server.target_data()
        data["vidicore"]["jobs"] = {"readable_uri": media.as_uri()}
        (folder / "target.toml").write_text(toml(data))
        admin = data["spectra"]["users"]["admin"]
        signer = SpectraAuth(admin["access_id"], server.env[admin["secret_key_env"]])
        foreign = httpx.post(f"{data['spectra']['base_url']}/_rest_/job_completed_notification_registration",
                             params={"notification_end_point": "http://someone.else.invalid/hook"}, auth=signer)
        assert foreign.status_code == 201
        runs: dict = {"secrets": secret_forms(data, server.env), "before": leftovers(server)}
        for name, workers in RUNS.items():
            out = f"{name}"
            done = conformance("run", "--target", "target.toml", "--results", f"{out}/results.json", "--junitxml",
                               f"{out}/junit.xml", "--html", f"{out}/report.html", "--alluredir", f"{out}/allure", "-v",
                               *workers, cwd=folder, env=server.env, timeout=600)
            runs[name] = {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
                          "after": leftovers(server)}
    return runs


@pytest.fixture
def vendor_runs(tmp_path_factory) -> tuple[dict, Path]:
    return once("vendor-runs", tmp_path_factory, _vendor_runs)


def results(folder: Path, name: str) -> dict:
    import json

    return json.loads((folder / name / "results.json").read_text())


def test_four_workers_report_what_one_process_reports(vendor_runs):
    runs, folder = vendor_runs
    for name in RUNS:
        run = runs[name]
        assert run["code"] == 1, f"{name}: {run['stdout'][-3000:]}{run['stderr'][-2000:]}"
        assert "VERDICT: NOT CONFORMANT" in run["stdout"] and "VC-LIST-TEXT" in run["stdout"] \
            and "SP-BOOK-SUCCESS" in run["stdout"], name
    serial, parallel = outcome(results(folder, "serial")), outcome(results(folder, "parallel"))
    assert parallel == serial
    assert {r for r, status in serial[0].items() if status == "FAIL"} == {"VC-LIST-TEXT", "SP-BOOK-SUCCESS"}
    assert serial[0]["VC-DELETE-ALL"] == "PASS"  # delete-all ran (holding the server alone under the workers)


def test_neither_run_leaves_anything_and_both_keep_what_others_made(vendor_runs):
    runs, _ = vendor_runs
    assert runs["before"]["registrations"], "the foreign registration was not made"
    for name in RUNS:
        assert runs[name]["after"] == runs["before"], f"{name}: left something behind or removed someone else's"


def test_no_secret_reaches_the_output_or_any_file_either_run_writes(vendor_runs):
    runs, folder = vendor_runs
    secrets = runs["secrets"]
    assert len(secrets) >= 7 and all(len(secret) >= 8 for secret in secrets)
    texts = {}
    for name in RUNS:
        written = [path for path in (folder / name).rglob("*") if path.is_file()]
        names = {path.name for path in written}
        assert {"results.json", "junit.xml", "report.html", "ledger.jsonl"} <= names  # the ledger beside the results
        assert any(n.endswith("-result.json") for n in names)
        assert any(n.endswith("-attachment.txt") for n in names), f"{name}: Allure got no evidence attached"
        texts[f"{name}: terminal output"] = runs[name]["stdout"] + runs[name]["stderr"]
        texts.update({str(path.relative_to(folder)): path.read_bytes().decode("utf-8", "replace")
                      for path in written})
        evidence = texts[f"{name}/results.json"]
        assert "curl " in evidence and "$CONFORMANCE_REFERENCE_ADMIN_PASSWORD" in evidence  # the evidence is there
    leaks = [f"{what} in {where}" for where, text in texts.items() for secret, what in secrets.items()
             if secret in text]
    assert leaks == []


def test_the_search_finds_a_secret_where_there_is_one():
    """The test above can fail: a password written in clear is found by the same search."""
    data = {"vidicore": {"users": {"admin": {"username": "admin", "password_env": "PW"}}},
            "spectra": {"users": {"admin": {"access_id": "a", "secret_key_env": "KEY"}}}}
    secrets = secret_forms(data, {"PW": "s3cret-password", "KEY": "s3cret-key"})
    basic = base64.b64encode(b"admin:s3cret-password").decode()
    text = f"Authorization: Basic {basic}\n"
    assert [what for secret, what in secrets.items() if secret in text] == ["vidicore admin's Basic credentials"]
