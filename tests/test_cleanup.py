"""Tests for conformance.cleanup: the one delete-and-collect-leftovers loop, and the clients and triggers of both
protocols that remove what a case made through it (their leftover lines as the record and the report show them).

The network is swapped through `HttpClient(transport=httpx.MockTransport(...))`: each test's server answers
every DELETE by its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace

import httpx
import pytest

from conformance import interruption
from conformance.cleanup import NOT_TRIED, REMOVED, Made, remove_all
from conformance.http import HttpClient
from conformance.ledger import Ledger, open_entries
from conformance.names import Names
from conformance.spectra.client import REGISTRATIONS, SpectraClient
from conformance.spectra.settings import SpectraTarget, SpectraUser
from conformance.spectra.triggers import Jobs as SpectraJobs
from conformance.vidicore.client import Bound, Form, VidiCoreClient
from conformance.vidicore.settings import JobSettings
from conformance.vidicore.triggers import Jobs as VidiCoreJobs

BASE = "http://target.invalid"


class Server:
    """Answers each request by its path (`answers`: path -> status, or an exception to raise: no answer), 204
    otherwise; remembers the requests in order."""

    def __init__(self, answers: Mapping[str, int | Exception]) -> None:
        self.answers = dict(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.get(request.url.path, 204)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)

    @property
    def deleted(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def http(server: Server) -> HttpClient:
    return HttpClient(BASE, transport=httpx.MockTransport(server), stop_after=100)


def refused() -> httpx.ConnectError:
    return httpx.ConnectError("connection refused")


# ------------------------------------------------------------------ the loop


def test_every_thing_is_deleted_last_made_first_and_taken_out_of_the_list():
    server = Server({"/t/3": 404})
    client = http(server)
    made = ["1", "2", "3"]
    left = remove_all(made, lambda thing: client.request("DELETE", f"t/{thing}"), lambda thing: f"thing {thing}")
    assert left == [] and made == []
    assert server.deleted == ["DELETE /t/3", "DELETE /t/2", "DELETE /t/1"]
    assert REMOVED == {200, 204, 404}  # 404: gone already, not a leftover


def test_what_could_not_be_removed_is_one_line_each_what_and_why():
    server = Server({"/t/a": 500, "/t/b": refused(), "/t/c": 200, "/t/d": 403})
    client = http(server)
    left = remove_all(["a", "b", "c", "d"], lambda thing: client.request("DELETE", f"t/{thing}"),
                      lambda thing: f"thing {thing}")
    assert left[0] == "thing d: 403" and left[2] == "thing a: 500"
    assert left[1].startswith("thing b: DELETE http://target.invalid/t/b: ConnectError") and len(left) == 3
    worded = remove_all(["a"], lambda thing: client.request("DELETE", f"t/{thing}"), lambda thing: thing,
                        refused=lambda status: f"answered {status}")
    assert worded == ["a: answered 500"]


def test_an_error_that_is_not_a_transport_error_stops_the_cleanup_and_keeps_the_rest():
    def delete(thing: str):
        raise RuntimeError(thing)

    made = ["1", "2"]
    with pytest.raises(RuntimeError, match="2"):
        remove_all(made, delete, str)
    assert made == ["1"]


# ------------------------------------------------------------------ the ledger: written when made, marked when done


def ledger_book(tmp_path):
    return Ledger(str(tmp_path / "ledger.jsonl"), "conformance-0000000000000001", "p").book(
        "vidicore", BASE, "target.toml")


def test_a_made_list_writes_each_thing_down_when_added_and_marks_it_when_removed_or_left(tmp_path):
    book = ledger_book(tmp_path)
    made = Made(book, lambda thing: {"kind": "notification", "path": f"t/{thing}", "user": "admin"})
    made.append("a")
    made += ["b", "c"]
    made.extend(["d"])
    assert made == ["a", "b", "c", "d"] and len(open_entries(book.ledger.path)) == 4
    server = Server({"/t/b": 500})
    client = http(server)
    made.forget(lambda thing: thing == "d")  # the case removed it itself
    assert made == ["a", "b", "c"]
    left = remove_all(made, lambda thing: client.request("DELETE", f"t/{thing}"), lambda thing: f"thing {thing}")
    assert left == ["thing b: 500"]
    still = open_entries(book.ledger.path)
    assert [(entry.path, entry.why) for entry in still] == [("t/b", "500")]


def test_after_the_signal_the_cleanup_stops_trying_when_the_grace_is_spent(tmp_path, monkeypatch):
    """What it could not try in the grace is listed as left (in the record and the ledger), never silently."""
    monkeypatch.setattr(interruption, "spent", lambda: True)
    book = ledger_book(tmp_path)
    made = Made(book, lambda thing: {"kind": "notification", "path": f"t/{thing}"}, ["a"])
    server = Server({})
    left = remove_all(made, lambda thing: http(server).request("DELETE", f"t/{thing}"), lambda thing: thing)
    assert left == [f"a: {NOT_TRIED}"] and server.requests == []
    assert [entry.why for entry in open_entries(book.ledger.path)] == [NOT_TRIED]


def test_spectra_jobs_go_with_their_bucket_in_the_ledger(tmp_path):
    server = Server({"/_rest_/bucket/b2": 409})
    ledger = Ledger(str(tmp_path / "ledger.jsonl"), "conformance-0000000000000001", "p")
    sp = spectra(server)
    sp.ledger = ledger.book("spectra", BASE, "target.toml")
    jobs = SpectraJobs(sp)
    jobs.buckets += [("b1", "user"), ("b2", "admin")]
    jobs.started += [("j1", "b1", "user"), ("j2", "b2", "admin")]
    assert jobs.cleanup() == ["bucket b2: 409"]
    still = open_entries(ledger.path)
    assert [(entry.kind, entry.name, entry.why) for entry in still] == [
        ("bucket", "b2", "409"), ("job", "j2", "its bucket b2 was not removed")]
    assert [entry.within for entry in still if entry.kind == "job"] == [still[0].entry]


# ------------------------------------------------------------------ who uses it: their leftover lines


def spectra(server: Server, users: tuple[str, ...] = ("admin", "user")) -> SpectraClient:
    settings = SpectraTarget(BASE, True, 5.0, 1 << 20,
                             {role: SpectraUser(role, f"{role}-id", f"{role}-secret", f"{role.upper()}_KEY")
                              for role in users})
    return SpectraClient(http(server), settings, Names("t0k3n"))


def signed_by(request: httpx.Request) -> str:
    return request.headers["Authorization"].split()[1].partition(":")[0]


def test_spectra_registrations_are_deleted_by_their_creator_then_the_administrator():
    path = f"/{REGISTRATIONS}"
    server = Server({f"{path}/r-kept": 403, f"{path}/r-gone": 404, f"{path}/r-down": refused()})
    sp = spectra(server)
    sp.created = [("r-admin", "admin"), ("r-kept", "user"), ("r-gone", "user"), ("r-down", "user")]
    left = sp.cleanup()
    assert left[0].startswith("registration r-down: DELETE http://target.invalid/") and len(left) == 2
    assert left[1] == "registration r-kept: answered 403"  # the creator and then the administrator refused
    assert [(r.url.path.rpartition("/")[2], signed_by(r)) for r in server.requests] == [
        ("r-down", "user-id"), ("r-gone", "user-id"), ("r-kept", "user-id"), ("r-kept", "admin-id"),
        ("r-admin", "admin-id")]
    assert sp.created == [] and {r.extensions["conformance"]["label"] for r in server.requests} == \
        {"cleanup registration"}


def test_spectra_registrations_of_a_role_the_target_no_longer_names_are_deleted_by_the_administrator():
    server = Server({})
    sp = spectra(server, users=("admin",))
    sp.created = [("r-1", "user")]
    assert sp.cleanup() == [] and [signed_by(r) for r in server.requests] == ["admin-id"]


def test_spectra_buckets_are_deleted_by_their_creator_with_force():
    server = Server({"/_rest_/bucket/b2": 409})
    jobs = SpectraJobs(spectra(server))
    jobs.buckets = [("b1", "user"), ("b2", "admin")]
    assert jobs.cleanup() == ["bucket b2: 409"] and jobs.buckets == []
    assert [(str(r.url).removeprefix(BASE), signed_by(r)) for r in server.requests] == [
        ("/_rest_/bucket/b2?force", "admin-id"), ("/_rest_/bucket/b1?force", "user-id")]


def vidicore(server: Server) -> VidiCoreClient:
    return VidiCoreClient(http(server), SimpleNamespace(users={}), Names("t0k3n"))


def test_vidicore_notifications_are_named_by_their_path():
    server = Server({"/item/notification/VX-2": 500, "/job/notification/VX-3": refused()})
    vc = vidicore(server)
    vc.created = [(Bound(Form("item")), "VX-2"), (Bound(Form("job")), "VX-3")]
    left = vc.cleanup()
    assert left[0].startswith("job/notification/VX-3: DELETE http://target.invalid/job/notification/VX-3: ")
    assert left[1:] == ["item/notification/VX-2: 500"]


def test_vidicore_items_are_named_item_slash_id():
    server = Server({"/item/VX-9": 500})
    jobs = VidiCoreJobs(vidicore(server), JobSettings(), None)
    jobs.items = ["VX-8", "VX-9"]
    assert jobs.cleanup() == ["item/VX-9: 500"] and jobs.items == []
    assert server.deleted == ["DELETE /item/VX-9", "DELETE /item/VX-8"]


def test_vidicore_jobs_still_going_are_aborted_and_ended_ones_left_as_they_are():
    """A run that was interrupted may leave a job running: its cleanup ends it before deleting the item."""
    status = {"VX-5": "STARTED", "VX-6": "FINISHED"}
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        job = request.url.path.rpartition("/")[2]
        if request.method == "GET" and job in status:
            return httpx.Response(200, content=f'<JobDocument xmlns="http://xml.vidispine.com/schema/vidispine">'
                                               f'<jobId>{job}</jobId><status>{status[job]}</status></JobDocument>')
        return httpx.Response(404 if job == "VX-7" else 200)

    vc = VidiCoreClient(HttpClient(BASE, transport=httpx.MockTransport(answer)), SimpleNamespace(users={}),
                        Names("t0k3n"))
    jobs = VidiCoreJobs(vc, JobSettings(), None)
    jobs.started += ["VX-5", "VX-6", "VX-7"]
    jobs.items += ["VX-8"]
    assert jobs.cleanup() == [] and jobs.started == [] and jobs.items == []
    assert seen == ["GET /job/VX-7", "GET /job/VX-6", "GET /job/VX-5", "DELETE /job/VX-5", "DELETE /item/VX-8"]
