"""Tests for `conformance cleanup` (conformance.sweep and each protocol's sweeper) against a reference server in this
process: what earlier runs left (in a ledger, or only carrying their run marker) goes; what anybody else made stays.
The end-to-end proof after a run that was SIGKILLed is in test_interrupting.py."""

from __future__ import annotations

import argparse
import json

import httpx
import pytest

from conformance import cli, reference
from conformance.ledger import Ledger, read
from conformance.names import new_run_token
from conformance.spectra.signing import SpectraAuth
from conformance.sweep import duration
from conftest import toml

DOCUMENT = ('<NotificationDocument xmlns="http://xml.vidispine.com/schema/vidispine"><action><http><url>{url}</url>'
            '<method>POST</method></http></action><trigger><job><finished/></job></trigger></NotificationDocument>')
REGISTRATIONS = "_rest_/job_completed_notification_registration"


class Target:
    """A reference server with things of two earlier runs (one old, one that began just now) and other users'."""

    def __init__(self, server, tmp_path) -> None:
        self.server, self.tmp_path = server, tmp_path
        data = server.target_data()
        (tmp_path / "target.toml").write_text(toml(data))
        self.vidicore = data["vidicore"]["base_url"]
        self.spectra = data["spectra"]["base_url"]
        self.basic = ("admin", server.env["CONFORMANCE_REFERENCE_ADMIN_PASSWORD"])
        admin = data["spectra"]["users"]["admin"]
        self.signer = SpectraAuth(admin["access_id"], server.env[admin["secret_key_env"]])

    def notification(self, url: str) -> str:
        answer = httpx.post(f"{self.vidicore}/item/notification", content=DOCUMENT.format(url=url), auth=self.basic,
                            headers={"Content-Type": "application/xml"})
        assert answer.status_code == 200, answer.text
        return answer.text.split("<uri>")[1].split("</uri>")[0]

    def registration(self, endpoint: str) -> str:
        answer = httpx.post(f"{self.spectra}/{REGISTRATIONS}", params={"notification_end_point": endpoint},
                            auth=self.signer)
        assert answer.status_code == 201
        return answer.text.split("<Id>")[1].split("</Id>")[0]

    def bucket(self, name: str) -> None:
        assert httpx.post(f"{self.spectra}/_rest_/bucket", params={"name": name}, auth=self.signer).status_code == 201

    def left(self) -> dict[str, set[str]]:
        vidicore, spectra = self.server.apps["vidicore"], self.server.apps["spectra"]
        return {"notifications": set(vidicore.store.notifications), "registrations": set(spectra.registrations),
                "buckets": set(spectra.jobs.buckets)}


@pytest.fixture
def target(tmp_path, monkeypatch):
    with reference.start(("vidicore", "spectra")) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield Target(server, tmp_path)


def cleanup(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["cleanup", "--target", "target.toml", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_what_runs_left_goes_and_what_others_made_stays(target, capsys):
    old = new_run_token(now=1_000_000_000)  # a run of 2001
    foreign = {"notifications": {target.notification("http://someone.else.invalid/hook")},
               "registrations": {target.registration("http://someone.else.invalid/hook")}, "buckets": set()}
    target.bucket("someone-elses-bucket")
    foreign["buckets"].add("someone-elses-bucket")
    # one run wrote a ledger: a notification it made (its URL carries no marker: the ledger alone names it)
    ledgered = target.notification("http://example.invalid/plain")
    book = Ledger("reports/ledger.jsonl", f"conformance-{old}", f"conformance-{old}").book(
        "vidicore", target.vidicore, "target.toml")
    book.made("notification", f"item/notification/{ledgered}", user="admin")
    # what carries the run marker, whatever the ledger says: a notification, a registration at a receiver path,
    # a bucket named by the run
    target.notification(f"http://conformance.invalid/conformance-{old}/n1")
    target.registration(f"http://127.0.0.1:9/cb/conformance-{old}-gw0/3-x")
    target.bucket(f"conformance-{old}-gw1-b4")
    assert target.left() != foreign

    code, out = cleanup(capsys)
    assert code == 0, out
    assert target.left() == foreign
    assert out.count("removed: ") == 4 and "from the ledger" in out and out.count("found by its run marker") == 3
    assert out.splitlines()[-1] == "conformance cleanup: 4 removed, 0 could not be removed"
    assert [entry.open for entry in read("reports/ledger.jsonl")] == []  # compacted: nothing is left
    again = cleanup(capsys)
    assert again[0] == 0 and again[1].splitlines()[-1] == "conformance cleanup: 0 removed, 0 could not be removed"


def test_older_than_keeps_a_run_still_going(target, capsys):
    now, old = new_run_token(), new_run_token(now=1_000_000_000)
    target.notification(f"http://conformance.invalid/conformance-{now}/n1")
    target.notification(f"http://conformance.invalid/conformance-{old}/n1")
    before = len(target.left()["notifications"])
    code, out = cleanup(capsys, "--older-than", "1h")
    assert code == 0 and len(target.left()["notifications"]) == before - 1
    assert "kept: vidicore notification" in out and f"conformance-{now}" in out.split("kept: ")[1]
    assert out.splitlines()[-1].startswith("conformance cleanup: 1 removed, 0 could not be removed, 1 kept")


def test_a_dry_run_removes_nothing_and_says_what_it_would(target, capsys):
    target.bucket(f"conformance-{new_run_token()}-b1")
    before = target.left()
    code, out = cleanup(capsys, "--dry-run")
    assert code == 1 and target.left() == before
    assert "would remove: spectra bucket _rest_/bucket/conformance-" in out and "nothing was removed" in out


def test_what_could_not_be_removed_is_said_and_exit_1(target, capsys):
    book = Ledger("reports/ledger.jsonl", "conformance-0000000000000001", "p").book(
        "vidicore", target.vidicore, "target.toml")
    book.made("item", "item/" + target.server.apps["vidicore"].store.provisioned["item"], user="admin")  # 403
    code, out = cleanup(capsys)
    assert code == 1 and "could not remove: vidicore item item/" in out and ": answered 403" in out
    assert [entry.why for entry in read("reports/ledger.jsonl") if entry.open] == ["conformance cleanup: answered 403"]


@pytest.mark.parametrize("args, ledger, message", [
    (("--target", "missing.toml"), None, "missing.toml: file not found"),
    (("--target", "target.toml", "--ledger", "none.jsonl"), None, "none.jsonl: no ledger there"),
    (("--target", "target.toml"), "not json\n", "reports/ledger.jsonl: line 1: not a ledger line"),
])
def test_bad_input_is_one_line_and_exit_2(target, capsys, args, ledger, message):
    if ledger is not None:
        (target.tmp_path / "reports").mkdir()
        (target.tmp_path / "reports" / "ledger.jsonl").write_text(ledger)
    code = cli.main(["cleanup", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_durations():
    assert [duration(text) for text in ("90", "90s", "15m", "2h", "1d", "0.5h")] == [90, 90, 900, 7200, 86400, 1800]
    with pytest.raises(argparse.ArgumentTypeError, match="expected a duration"):
        duration("soon")


def test_the_ledger_lines_hold_no_secret(target):
    """What a sweeper writes back (removed / left) names entries only."""
    book = Ledger("reports/ledger.jsonl", "conformance-0000000000000001", "p").book(
        "vidicore", target.vidicore.replace("http://", "http://admin:admin-secret@"), "target.toml")
    book.made("notification", "item/notification/VX-999", user="admin")
    text = (target.tmp_path / "reports" / "ledger.jsonl").read_text()
    assert "admin-secret" not in text and all(json.loads(line) for line in text.splitlines())
