"""Tests of the reference VidiCore job engine and its deliveries (conformance.reference.vidicore.jobs): real jobs
on a real server over loopback (httpx), deliveries captured by the receiver of `conftest.py` (one per module).

Nothing here sleeps. The receiver wakes waiters when a request arrives. "Nothing arrived" is shown with a barrier:
a synchronous `stop` notification created last on the job's item. The scheduler makes synchronous deliveries one
after another, in event order, so once the barrier's request has arrived every earlier synchronous delivery of
that job is done. A clean server is shared by the module; a test that turns a fault on starts its own server.
"""

from __future__ import annotations

import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest
import xmlschema

from conformance.reference import ReferenceServer, start
from conformance.reference.faults import FAULTS
from conformance.reference.vidicore.jobs import JobEngine, readable

from .conftest import WAIT, Got, Mailbox, Receiver

NS = "http://xml.vidispine.com/schema/vidispine"
SCHEMA = Path(__file__).parents[2] / "schemas" / "vidicore" / "vidispine.xsd"
ADMIN = ("admin", "admin-secret")
KEYS = ["jobId", "status", "type", "action", "user", "started", "sequenceNumber", "totalSteps", "currentStepNumber",
        "currentStepStatus", "itemId"]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# ------------------------------------------------------------------ deliveries


def payload(got: Got) -> dict[str, str]:
    """key -> value of a delivered SimpleMetadataDocument, XML or JSON, in order."""
    if got.is_json():
        return {field["key"]: field["value"] for field in json.loads(got.body)["field"]}
    return {entry[0].text or "": entry[1].text or "" for entry in got.root() if _local(entry.tag) == "field"}


# ------------------------------------------------------------------ the API


class Api:
    """The job and notification requests the tests make, as admin, on one server."""

    def __init__(self, http: httpx.Client, server: ReferenceServer) -> None:
        self.http, self.server = http, server
        self.base = server.urls["vidicore"] + "/"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, self.base + path, **kwargs)

    def item(self) -> str:
        response = self.request("POST", "import/placeholder?container=1", content=f'<MetadataDocument xmlns="{NS}"/>',
                                headers={"Content-Type": "application/xml"})
        assert response.status_code == 200, response.text
        return SafeET.fromstring(response.content, forbid_dtd=True).get("id")

    def start(self, item: str, uri: str, *, notification: str | None = None,
              jobmetadata: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        params = [("uri", uri), *([("notification", notification)] if notification else []),
                  *[("jobmetadata", f"{k}={v}") for k, v in (jobmetadata or {}).items()]]
        response = self.request("POST", f"import/placeholder/{item}/container", params=params, **kwargs)
        assert response.status_code == 200, response.text
        return job_fields(response)

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.request("GET", f"job/{job_id}")
        assert response.status_code == 200, response.text
        return job_fields(response)

    def notify(self, path: str, url: str, event: str = "finished", *, synchronous: bool = False,
               filter_type: str | None = None, jobdata: dict[str, str] | None = None, **action: str) -> str:
        """Create an http-action job notification under `path` (e.g. "item/VX-9/notification"); its id."""
        response = self.request("POST", path, content=notification_xml(url, event, synchronous, filter_type, jobdata,
                                                                        action),
                                headers={"Content-Type": "application/xml", "Accept": "text/plain"})
        assert response.status_code == 200, response.text
        return response.text


def notification_xml(url: str, event: str, synchronous: bool, filter_type: str | None,
                     jobdata: dict[str, str] | None, action: dict[str, str]) -> bytes:
    root = ET.Element("NotificationDocument", {"xmlns": NS})
    http = ET.SubElement(ET.SubElement(root, "action"), "http", {"synchronous": str(synchronous).lower()})
    for name, value in {"url": url, **action}.items():
        ET.SubElement(http, name).text = value
    job = ET.SubElement(ET.SubElement(root, "trigger"), "job")
    ET.SubElement(job, event)
    if filter_type or jobdata:
        job_filter = ET.SubElement(job, "filter")
        if filter_type:
            ET.SubElement(job_filter, "type").text = filter_type
        if jobdata:
            data = ET.SubElement(job_filter, "jobdata")
            for name, value in jobdata.items():
                ET.SubElement(data, name).text = value
    return ET.tostring(root)


def job_fields(response: httpx.Response) -> dict[str, Any]:
    """A JobDocument (XML or JSON) as name -> text, with its data entries as a dict under "data"."""
    if response.headers["content-type"].startswith("application/json"):
        document = response.json()
        return {**document, "data": {entry["key"]: entry["value"] for entry in document["data"]}}
    root = SafeET.fromstring(response.content, forbid_dtd=True)
    assert root.tag == f"{{{NS}}}JobDocument"
    fields: dict[str, Any] = {_local(child.tag): child.text for child in root if _local(child.tag) != "data"}
    fields["data"] = {child[0].text: child[1].text for child in root if _local(child.tag) == "data"}
    return fields


@dataclass
class Env:
    """What a test needs: the API of one server, the receiver, and URIs the server can and cannot import."""

    api: Api
    receiver: Receiver
    readable_uri: str
    unreadable_uri: str = "file:///nonexistent/conformance-unreadable"

    def mailbox(self, label: str, *answers: tuple[int, float]) -> Mailbox:
        return self.receiver.mailbox(label, *answers)

    def run(self, item: str, *, readable: bool = True, uri: str | None = None, **start: Any) -> dict[str, Any]:
        """Start a job on `item` and wait until it has ended and its synchronous deliveries are done."""
        barrier = self.mailbox("barrier")
        self.api.notify(f"item/{item}/notification", barrier.url, "stop", synchronous=True)
        job = self.api.start(item, uri or (self.readable_uri if readable else self.unreadable_uri), **start)
        assert barrier.wait(1), "the job never stopped"
        return job

    def one_event(self, event: str, *, readable: bool = True, **action: Any) -> tuple[Got, dict[str, Any]]:
        """The single synchronous delivery of `event` for a job on a fresh item, and the job."""
        item, mailbox = self.api.item(), self.mailbox(event)
        self.api.notify(f"item/{item}/notification", mailbox.url, event, synchronous=True, **action)
        job = self.run(item, readable=readable, jobmetadata={"project": "p1"})
        assert mailbox.got, f"no {event} delivery"
        return mailbox.got[0], job


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(auth=ADMIN, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "media.bin"
    path.write_bytes(b"media\n")
    return path


def fast(server: ReferenceServer) -> ReferenceServer:
    """Shorter job steps than the defaults (0.1 s READY, 0.05 s STARTED), for a quicker run."""
    engine = server.apps["vidicore"].jobs
    engine.ready_seconds, engine.run_seconds = 0.02, 0.01
    return server


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with start() as running:
        yield fast(running)


@pytest.fixture(scope="module")
def env(server: ReferenceServer, http: httpx.Client, receiver: Receiver, media: Path) -> Env:
    return Env(Api(http, server), receiver, media.as_uri())


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema11:
    return xmlschema.XMLSchema11(str(SCHEMA))


# ------------------------------------------------------------------ items and jobs


def test_items_are_created_and_deleted(env: Env) -> None:
    api = env.api
    item = api.item()
    assert re.fullmatch(r"VX-\d+", item)
    as_json = api.request("POST", "import/placeholder?container=1", json={}, headers={"Accept": "application/json"})
    assert as_json.status_code == 200 and re.fullmatch(r"VX-\d+", as_json.json()["id"])
    assert api.request("POST", "import/placeholder", content=b"").status_code == 200

    notification = api.notify(f"item/{item}/notification", "http://conformance.invalid/n")
    assert api.request("GET", f"item/{item}/notification").status_code == 200  # the new item has the form at once
    deleted = api.request("DELETE", f"item/{item}")
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert notification not in api.server.apps["vidicore"].store.notifications  # its notifications went with it
    assert api.request("GET", f"item/{item}/notification").status_code == 404
    again = api.request("DELETE", f"item/{item}")
    assert again.status_code == 404 and _local(SafeET.fromstring(again.content)[0].tag) == "notFound"
    provisioned = api.request("DELETE", "item/VX-1")
    assert provisioned.status_code == 403 and _local(SafeET.fromstring(provisioned.content)[0].tag) == "forbidden"
    assert api.request("GET", "item/VX-1/notification").status_code == 200


def test_notification_routes_are_not_disturbed(env: Env) -> None:
    api = env.api
    whole = api.notify("item/notification", "http://conformance.invalid/n", filter_type="NONE")
    for path in ("item/notification", "item/notification/", "job/notification", "job/notification/"):
        assert api.request("GET", path).status_code == 200
    assert api.request("GET", f"item/notification/{whole}").status_code == 200
    assert api.request("DELETE", "item/notification/").status_code == 200  # delete-all, not "delete item"
    assert api.request("GET", "item/notification", headers={"Accept": "text/plain"}).text == ""


@pytest.mark.parametrize("method, path", [
    ("POST", "import/placeholder?container=1"), ("DELETE", "item/VX-1"),
    ("POST", "import/placeholder/VX-1/container?uri=file:///x"), ("GET", "job/VX-3"), ("DELETE", "job/VX-3"),
])
def test_job_routes_need_credentials(env: Env, method: str, path: str) -> None:
    response = env.api.request(method, path, auth=("admin", "wrong"))
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")


def test_job_document_in_xml_and_json(env: Env) -> None:
    item = env.api.item()
    job = env.api.start(item, env.readable_uri, jobmetadata={"project": "p1", "note": "a=b"})
    assert re.fullmatch(r"VX-\d+", job["jobId"])
    assert {k: job[k] for k in ("user", "status", "type", "priority")} == {
        "user": "admin", "status": "READY", "type": "PLACEHOLDER_IMPORT", "priority": "MEDIUM"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", job["started"])
    assert job["data"] == {"itemId": item, "project": "p1", "note": "a=b"}
    as_json = env.api.request("GET", f"job/{job['jobId']}", headers={"Accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert list(as_json.json()) == ["jobId", "user", "started", "status", "type", "priority", "data"]
    assert job_fields(as_json)["data"] == job["data"]
    assert env.api.request("GET", f"job/{job['jobId']}/notification").status_code == 200  # the job is an entity


def test_engine_defaults(server: ReferenceServer) -> None:
    engine = JobEngine(server.apps["vidicore"])
    assert (engine.ready_seconds, engine.run_seconds) == (0.1, 0.05)


def test_a_job_goes_ready_started_finished(env: Env) -> None:
    with start() as server:  # default step times
        env = replace(env, api=Api(env.api.http, server))
        item, updates = env.api.item(), env.mailbox("updates")
        env.api.notify(f"item/{item}/notification", updates.url, "update", synchronous=True)
        began = time.perf_counter()
        job = env.run(item)
        assert time.perf_counter() - began >= 0.15
        assert job["status"] == "READY"
        assert [(payload(got)["status"], payload(got)["sequenceNumber"]) for got in updates.got] == [
            ("STARTED", "1"), ("FINISHED", "2")]
        assert env.api.job(job["jobId"])["status"] == "FINISHED"


@pytest.mark.parametrize("uri", ["missing", "directory", "http://127.0.0.1:9/media.bin"])
def test_an_unreadable_uri_ends_failed_total(env: Env, tmp_path: Path, uri: str) -> None:
    uri = {"missing": (tmp_path / "missing.bin").as_uri(), "directory": tmp_path.as_uri()}.get(uri, uri)
    item, fail, finished = env.api.item(), env.mailbox("fail"), env.mailbox("finished")
    env.api.notify(f"item/{item}/notification", fail.url, "fail", synchronous=True)
    env.api.notify(f"item/{item}/notification", finished.url, "finished", synchronous=True)
    job = env.run(item, uri=uri)
    assert [payload(got)["status"] for got in fail.got] == ["FAILED_TOTAL"] and finished.got == []
    assert env.api.job(job["jobId"])["status"] == "FAILED_TOTAL"


def test_readable_means_an_existing_readable_file(media: Path, tmp_path: Path) -> None:
    assert readable(media.as_uri()) and readable("file://localhost" + media.as_uri()[len("file://"):])
    assert not readable(tmp_path.as_uri())
    assert not readable((tmp_path / "nothing").as_uri())
    assert not readable("file://otherhost" + media.as_uri()[len("file://"):])
    assert not readable("http://127.0.0.1/media.bin") and not readable("") and not readable("file:")


def test_abort(env: Env, http: httpx.Client) -> None:
    with start() as server:  # default step times: 0.1 s to abort a READY job
        _abort(replace(env, api=Api(http, server)))


def _abort(env: Env) -> None:
    api, item = env.api, env.api.item()
    stop, finished = env.mailbox("stop"), env.mailbox("finished")
    api.notify(f"item/{item}/notification", stop.url, "stop", synchronous=True)
    api.notify(f"item/{item}/notification", finished.url, "finished", synchronous=True)
    job = api.start(item, env.readable_uri)
    aborted = api.request("DELETE", f"job/{job['jobId']}?cleanup=false")
    assert (aborted.status_code, aborted.content) == (200, b"")
    assert api.job(job["jobId"])["status"] == "ABORTED"
    assert [(payload(got)["status"], payload(got)["action"]) for got in stop.got] == [("ABORTED", "STOP")]
    assert api.request("DELETE", f"job/{job['jobId']}").status_code == 200  # already final: stays as it is

    second = env.run(item)  # runs past the time the aborted job would have finished
    assert api.job(job["jobId"])["status"] == "ABORTED"
    assert [payload(got)["jobId"] for got in finished.got] == [second["jobId"]]
    assert api.request("DELETE", f"job/{second['jobId']}?cleanup=false").status_code == 200
    assert api.job(second["jobId"])["status"] == "FINISHED"
    for method in ("GET", "DELETE"):
        unknown = api.request(method, "job/VX-999999")
        assert unknown.status_code == 404 and _local(SafeET.fromstring(unknown.content)[0].tag) == "notFound"


def test_starting_a_job_refuses_bad_requests(env: Env) -> None:
    api, item = env.api, env.api.item()
    item_scoped = api.notify(f"item/{item}/notification", "http://conformance.invalid/n")
    cases = {
        f"import/placeholder/VX-999999/container?uri={env.readable_uri}": (404, "notFound"),
        f"import/placeholder/{item}/container": (400, "invalidInput"),
        f"import/placeholder/{item}/container?uri=": (400, "invalidInput"),
        f"import/placeholder/{item}/container?uri={env.readable_uri}&notification=VX-999999": (404, "notFound"),
        f"import/placeholder/{item}/container?uri={env.readable_uri}&notification={item_scoped}": (404, "notFound"),
    }
    for path, (status, kind) in cases.items():
        response = api.request("POST", path)
        assert response.status_code == status, path
        assert _local(SafeET.fromstring(response.content, forbid_dtd=True)[0].tag) == kind


# ------------------------------------------------------------------ payloads


def test_every_event_payload_in_xml(env: Env, schema: xmlschema.XMLSchema11) -> None:
    item = env.api.item()
    boxes = {event: env.mailbox(event) for event in ("create", "update", "finished", "stop")}
    for event, mailbox in boxes.items():
        env.api.notify(f"item/{item}/notification", mailbox.url, event)  # asynchronous
    job = env.api.start(item, env.readable_uri, jobmetadata={"project": "p1"})
    expected = {"create": [("READY", "CREATE", "0")],
                "update": [("STARTED", "UPDATE", "1"), ("FINISHED", "UPDATE", "2")],
                "finished": [("FINISHED", "STOP", "3")], "stop": [("FINISHED", "STOP", "4")]}
    for event, mailbox in boxes.items():
        arrived = mailbox.wait(len(expected[event]))
        assert len(arrived) == len(expected[event]), event
        for got in arrived:
            assert (got.method, got.content_type) == ("POST", "application/xml")
            assert got.body.startswith(b"<?xml")
            root = got.root()
            assert root.tag == f"{{{NS}}}SimpleMetadataDocument"
            schema.validate(root)
        seen = sorted((f["status"], f["action"], f["sequenceNumber"]) for f in (payload(got) for got in arrived))
        assert seen == sorted(expected[event]), event
        fields = payload(arrived[0])
        assert list(fields) == [*KEYS, "project"]
        assert {k: fields[k] for k in ("jobId", "type", "user", "started", "totalSteps", "currentStepNumber",
                                       "itemId", "project")} == {
            "jobId": job["jobId"], "type": "PLACEHOLDER_IMPORT", "user": "admin", "started": job["started"],
            "totalSteps": "1", "currentStepNumber": "1", "itemId": item, "project": "p1"}
        assert fields["currentStepStatus"] == fields["status"]


def test_fail_event_payload(env: Env) -> None:
    got, job = env.one_event("fail", readable=False)
    fields = payload(got)
    assert (fields["jobId"], fields["status"], fields["action"], fields["sequenceNumber"]) == (
        job["jobId"], "FAILED_TOTAL", "STOP", "3")


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_payload(env: Env, content_type: str) -> None:
    got, job = env.one_event("finished", contentType=content_type)
    assert got.content_type == content_type
    document = json.loads(got.body)
    assert list(document) == ["field"]
    assert all(isinstance(field["key"], str) and isinstance(field["value"], str) for field in document["field"])
    assert [field["key"] for field in document["field"]] == [*KEYS, "project"]
    assert payload(got)["jobId"] == job["jobId"] and payload(got)["status"] == "FINISHED"


@pytest.mark.parametrize("action, method, content_type", [
    ({}, "POST", "application/xml"),
    ({"method": "PUT"}, "PUT", "application/xml"),
    ({"method": "POST", "contentType": "application/xml"}, "POST", "application/xml"),
    ({"method": "PUT", "contentType": "text/plain"}, "PUT", "text/plain"),  # any other type: an XML body
])
def test_method_and_content_type(env: Env, action: dict[str, str], method: str, content_type: str) -> None:
    got, _ = env.one_event("finished", **action)
    assert (got.method, got.content_type, got.is_json()) == (method, content_type, False)
    assert payload(got)["status"] == "FINISHED"


# ------------------------------------------------------------------ which notifications fire


def test_filters(env: Env) -> None:
    item = env.api.item()
    filters: dict[str, tuple[dict[str, Any], bool]] = {
        "type": ({"filter_type": "PLACEHOLDER_IMPORT"}, True),
        "other-type": ({"filter_type": "TRANSCODE"}, False),
        "jobdata": ({"jobdata": {"key": "k1", "value": "v2"}}, True),
        "jobdata-value": ({"jobdata": {"key": "k1", "value": "v3"}}, False),
        "jobdata-key": ({"jobdata": {"key": "k"}}, False),
        "regex": ({"jobdata": {"key-regex": "k\\d", "value-regex": "v[0-9]+"}}, True),
        "regex-partial": ({"jobdata": {"value-regex": "v"}}, False),  # a regex matches the whole value
        "regex-invalid": ({"jobdata": {"key-regex": "("}}, False),
        "both": ({"filter_type": "PLACEHOLDER_IMPORT", "jobdata": {"key": "k1"}}, True),
    }
    boxes = {}
    for label, (kwargs, _) in filters.items():
        boxes[label] = env.mailbox(label)
        env.api.notify(f"item/{item}/notification", boxes[label].url, synchronous=True, **kwargs)
    env.run(item, jobmetadata={"k1": "v2"})
    assert {label: len(box.got) for label, box in boxes.items()} == {
        label: int(fires) for label, (_, fires) in filters.items()}


def test_scopes(env: Env) -> None:
    api, mine, other = env.api, env.api.item(), env.api.item()
    boxes = {name: env.mailbox(name) for name in ("item", "other-item", "placeholder", "whole-job", "whole-item")}
    api.notify(f"item/{mine}/notification", boxes["item"].url, synchronous=True)
    api.notify(f"item/{other}/notification", boxes["other-item"].url, synchronous=True)
    placeholder = api.notify("notification", boxes["placeholder"].url, synchronous=True)
    whole = [api.notify("job/notification", boxes["whole-job"].url, synchronous=True),
             api.notify("item/notification", boxes["whole-item"].url, synchronous=True)]
    try:
        with_placeholder = env.run(mine, notification=placeholder)
        without = env.run(mine)
    finally:
        for notification, path in zip(whole, ("job", "item")):
            api.request("DELETE", f"{path}/notification/{notification}")
    jobs = [with_placeholder["jobId"], without["jobId"]]

    def job_ids(name: str) -> list[str]:
        return [payload(got)["jobId"] for got in boxes[name].got if payload(got)["jobId"] in jobs]

    assert job_ids("item") == jobs and job_ids("other-item") == []
    assert job_ids("placeholder") == [with_placeholder["jobId"]]
    assert job_ids("whole-job") == jobs and job_ids("whole-item") == jobs


def test_single_job_scope(http: httpx.Client, receiver: Receiver, media: Path) -> None:
    server = start()
    server.apps["vidicore"].jobs.ready_seconds = 60.0  # the jobs wait READY until aborted
    env = Env(Api(http, server), receiver, media.as_uri())
    item = env.api.item()
    first, second = (env.api.start(item, env.readable_uri) for _ in range(2))
    watched = env.mailbox("job")
    env.api.notify(f"job/{first['jobId']}/notification", watched.url, "stop", synchronous=True)
    for job in (second, first):  # the abort's events fire in the request: done when it answers
        assert env.api.request("DELETE", f"job/{job['jobId']}").status_code == 200
    server.stop()
    assert [payload(got)["jobId"] for got in watched.got] == [first["jobId"]]


def test_delete_and_change_are_honoured(env: Env) -> None:
    api, item = env.api, env.api.item()
    deleted, before, after = env.mailbox("deleted"), env.mailbox("before"), env.mailbox("after")
    gone = api.notify(f"item/{item}/notification", deleted.url, synchronous=True)
    changed = api.notify(f"item/{item}/notification", before.url, synchronous=True)
    assert api.request("DELETE", f"item/{item}/notification/{gone}").status_code == 200
    assert api.request("PUT", f"item/{item}/notification/{changed}",
                       content=notification_xml(after.url, "finished", True, None, None, {}),
                       headers={"Content-Type": "application/xml"}).status_code == 200
    env.run(item)
    assert (len(deleted.got), len(before.got), len(after.got)) == (0, 0, 1)


# ------------------------------------------------------------------ retry, timeout, threads


@pytest.mark.parametrize("retry, failures, attempts", [
    (None, 1, 1), ("0", 1, 1), ("2", 1, 2), ("2", 10, 3), ("3", 2, 3), ("-1", 5, 1),
])
def test_retry_counts(env: Env, retry: str | None, failures: int, attempts: int) -> None:
    action = {"retry": retry} if retry is not None else {}
    item, mailbox = env.api.item(), env.mailbox("retry", *[(503, 0.0)] * failures)
    env.api.notify(f"item/{item}/notification", mailbox.url, synchronous=True, **action)
    env.run(item)
    assert len(mailbox.got) == attempts


def test_an_answer_slower_than_timeout_is_retried(env: Env) -> None:
    item = env.api.item()
    slow, fast = env.mailbox("slow", (200, 1.2)), env.mailbox("fast", (200, 0.2))
    env.api.notify(f"item/{item}/notification", slow.url, synchronous=True, timeout="1", retry="1")
    env.api.notify(f"item/{item}/notification", fast.url, synchronous=True, timeout="1", retry="1")
    env.run(item)
    assert (len(slow.got), len(fast.got)) == (2, 1)


def test_asynchronous_deliveries_do_not_block_the_api(env: Env) -> None:
    item, slow = env.api.item(), env.mailbox("slow", (200, 3.0))
    env.api.notify(f"item/{item}/notification", slow.url, "create")
    began = time.perf_counter()
    env.api.start(item, env.readable_uri)
    assert time.perf_counter() - began < 0.5
    assert len(slow.wait(1)) == 1


def test_synchronous_deliveries_happen_in_the_request(env: Env) -> None:
    item, slow = env.api.item(), env.mailbox("slow", (200, 0.3))
    env.api.notify(f"item/{item}/notification", slow.url, "create", synchronous=True)
    began = time.perf_counter()
    env.api.start(item, env.readable_uri)
    assert time.perf_counter() - began >= 0.3 and len(slow.got) == 1


def test_close_returns_quickly_while_deliveries_wait(http: httpx.Client, receiver: Receiver, media: Path) -> None:
    server = start()
    env = Env(Api(http, server), receiver, media.as_uri())
    item = env.api.item()
    pooled, scheduler = env.mailbox("pooled", (200, 30.0)), env.mailbox("scheduler", (200, 30.0))
    env.api.notify(f"item/{item}/notification", pooled.url, "create", timeout="none")
    env.api.notify(f"item/{item}/notification", scheduler.url, "update", synchronous=True, timeout="none")
    env.api.start(item, env.readable_uri)
    assert pooled.wait(1) and scheduler.wait(1)  # both deliveries now wait for an answer
    engine = server.apps["vidicore"].jobs
    began = time.perf_counter()
    server.stop()
    assert time.perf_counter() - began < 0.3
    for thread in [t for t in threading.enumerate() if t.name.startswith(engine.thread_name)]:
        thread.join(timeout=2)  # their sockets were shut down: they end now, not when the receiver answers
        assert not thread.is_alive(), thread.name
    began = time.perf_counter()
    server.apps["vidicore"].close()  # idempotent
    assert time.perf_counter() - began < 0.05
    assert len(scheduler.got) == 1  # the scheduler stopped: no second update


# ------------------------------------------------------------------ idle


@pytest.fixture
def own(env: Env) -> Iterator[Env]:
    """An Env on a server of its own: the module's server may still be busy with an earlier test's deliveries."""
    with start() as server:
        yield replace(env, api=Api(env.api.http, fast(server)))


def test_not_idle_while_a_job_is_scheduled(own: Env) -> None:
    server = own.api.server
    app = server.apps["vidicore"]
    app.jobs.ready_seconds = 60.0  # the job waits READY until aborted
    assert server.wait_idle(0) and app.wait_idle(0)
    job = own.api.start(own.api.item(), own.readable_uri)
    assert not server.wait_idle(0) and not app.wait_idle(0)  # a READY job will still fire events
    assert own.api.request("DELETE", f"job/{job['jobId']}").status_code == 200
    assert server.wait_idle(0) and app.wait_idle(0)  # its steps were cancelled, nothing fired


def test_idle_once_the_job_has_ended_and_its_last_delivery_was_answered(own: Env) -> None:
    item, stop = own.api.item(), own.mailbox("stop")
    own.api.notify(f"item/{item}/notification", stop.url, "stop")  # asynchronous
    job = own.api.start(item, own.readable_uri)
    assert own.api.server.wait_idle(WAIT)
    assert len(stop.got) == 1 and own.api.job(job["jobId"])["status"] == "FINISHED"  # no waiting: all done


def test_not_idle_while_a_delivery_waits_for_its_answer(own: Env) -> None:
    item, slow = own.api.item(), own.mailbox("slow", (200, 30.0))
    own.api.notify(f"item/{item}/notification", slow.url, "create", timeout="none")
    own.api.start(item, own.readable_uri)
    slow.wait(1)
    server = own.api.server
    assert not server.wait_idle(0) and not server.apps["vidicore"].wait_idle(0)
    slow.release()
    began = time.perf_counter()
    assert server.wait_idle(WAIT)
    assert time.perf_counter() - began < 1.0  # right after the answer (and the job's last steps)


def test_idle_comes_only_after_the_retry(own: Env) -> None:
    item, failing = own.api.item(), own.mailbox("failing", (500, 0.0))
    own.api.notify(f"item/{item}/notification", failing.url, "create", retry="1")
    own.api.start(item, own.readable_uri)
    assert own.api.server.wait_idle(WAIT)
    assert len(failing.got) == 2  # the retry came before idle


# ------------------------------------------------------------------ faults

Probe = Callable[[Env], Any]


def _event(event: str, show: Callable[[Got, dict[str, Any]], Any], *, readable: bool = True,
           **action: str) -> Probe:
    return lambda env: show(*env.one_event(event, readable=readable, **action))


def _count(env: Env, **action: Any) -> int:
    item, mailbox = env.api.item(), env.mailbox("count")
    env.api.notify(f"item/{item}/notification", mailbox.url, synchronous=True, **action)
    env.run(item)
    return len(mailbox.got)


def _attempts(*answers: tuple[int, float], **action: str) -> Probe:
    def probe(env: Env) -> int:
        item, mailbox = env.api.item(), env.mailbox("attempts", *answers)
        env.api.notify(f"item/{item}/notification", mailbox.url, synchronous=True, **action)
        env.run(item)
        return len(mailbox.got)
    return probe


def _other_item(env: Env) -> int:
    watched, mailbox = env.api.item(), env.mailbox("other-item")
    env.api.notify(f"item/{watched}/notification", mailbox.url, synchronous=True)
    env.run(env.api.item())
    return len(mailbox.got)


def _placeholder_unrelated(env: Env) -> int:
    mailbox = env.mailbox("placeholder")
    env.api.notify("notification", mailbox.url, synchronous=True)
    env.run(env.api.item())
    return len(mailbox.got)


def _after_delete(env: Env) -> tuple[int, int, int]:
    item, mailbox = env.api.item(), env.mailbox("deleted")
    path = f"item/{item}/notification/" + env.api.notify(f"item/{item}/notification", mailbox.url, synchronous=True)
    deleted = env.api.request("DELETE", path).status_code
    shown = env.api.request("GET", path).status_code
    env.run(item)
    return deleted, shown, len(mailbox.got)


def _after_change(env: Env) -> tuple[int, int]:
    item, before, after = env.api.item(), env.mailbox("before"), env.mailbox("after")
    notification = env.api.notify(f"item/{item}/notification", before.url, synchronous=True)
    env.api.request("PUT", f"item/{item}/notification/{notification}",
                    content=notification_xml(after.url, "finished", True, None, None, {}),
                    headers={"Content-Type": "application/xml"})
    env.run(item)
    return len(before.got), len(after.got)


EVERY_KEY = [*KEYS, "project"]
# fault -> (probe, what the clean server shows, what the faulty one shows)
FAULT_PROBES: dict[str, tuple[Probe, Any, Any]] = {
    "dlv-finished-early-status": (_event("finished", lambda got, job: payload(got)["status"]), "FINISHED", "STARTED"),
    "dlv-fail-status": (_event("fail", lambda got, job: payload(got)["status"], readable=False),
                        "FAILED_TOTAL", "FAILED"),
    "dlv-stop-action": (_event("stop", lambda got, job: payload(got)["action"]), "STOP", "UPDATE"),
    "dlv-create-action": (_event("create", lambda got, job: payload(got)["action"]), "CREATE", "NEW"),
    "dlv-twice": (lambda env: (_count(env), _count(env, retry="1")), (1, 1), (2, 1)),
    "dlv-method-ignored": (_event("finished", lambda got, job: got.method, method="PUT"), "PUT", "POST"),
    "dlv-default-put": (_event("finished", lambda got, job: got.method), "POST", "PUT"),
    "dlv-content-type-ignored": (_event("finished", lambda got, job: (got.content_type, got.is_json()),
                                        contentType="application/json"),
                                 ("application/json", True), ("application/xml", True)),
    "dlv-default-json": (_event("finished", lambda got, job: (got.content_type, got.is_json())),
                         ("application/xml", False), ("application/json", True)),
    "dlv-xml-no-namespace": (_event("finished", lambda got, job: got.root().tag),
                             f"{{{NS}}}SimpleMetadataDocument", "SimpleMetadataDocument"),
    "dlv-json-wrapped": (_event("finished", lambda got, job: list(json.loads(got.body)),
                                contentType="application/json"), ["field"], ["SimpleMetadataDocument"]),
    "dlv-no-user": (_event("finished", lambda got, job: "user" in payload(got)), True, False),
    "dlv-wrong-jobid": (_event("finished", lambda got, job: payload(got)["jobId"] == job["jobId"]), True, False),
    "dlv-user-system": (_event("finished", lambda got, job: payload(got)["user"]), "admin", "system"),
    "dlv-item-id-is-job": (_event("finished", lambda got, job: payload(got)["itemId"] == job["jobId"]), False, True),
    "dlv-started-local-time": (_event("finished", lambda got, job: round((
        datetime.fromisoformat(job["started"].replace("Z", "+00:00"))
        - datetime.fromisoformat(payload(got)["started"].replace("Z", "+00:00"))).total_seconds() / 3600)), 0, 5),
    "dlv-few-keys": (_event("finished", lambda got, job: list(payload(got))), EVERY_KEY,
                     [key for key in EVERY_KEY if key not in ("itemId", "project")]),
    "dlv-type-filter-ignored": (lambda env: (_count(env, filter_type="TRANSCODE"),
                                             _count(env, filter_type="TRANSCODE", jobdata={"key": "nope"})),
                                (0, 0), (1, 0)),
    "dlv-item-scope-ignored": (_other_item, 0, 1),
    "dlv-placeholder-all": (_placeholder_unrelated, 0, 1),
    "dlv-after-delete": (_after_delete, (200, 404, 0), (200, 404, 1)),
    "dlv-change-ignored": (_after_change, (0, 1), (1, 0)),
    "dlv-no-retry": (_attempts((500, 0.0), retry="2"), 2, 1),
    "dlv-extra-retry": (lambda env: (_attempts(*[(500, 0.0)] * 5, retry="1")(env),
                                     _attempts((500, 0.0), retry="1")(env)), (2, 2), (3, 2)),
    "dlv-retry-once": (_attempts(*[(500, 0.0)] * 5, retry="3"), 4, 2),
    "dlv-timeout-ignored": (_attempts((200, 1.2), timeout="1", retry="1"), 2, 1),
}


def test_every_delivery_fault_has_a_probe() -> None:
    assert set(FAULT_PROBES) == {name for name in FAULTS if name.startswith("dlv-")}
    assert {FAULTS[name].requirements[0][:7] for name in FAULT_PROBES} == {"VC-DLV-"}


@pytest.mark.parametrize("fault", FAULT_PROBES)
def test_fault_visibly_changes_behaviour(env: Env, fault: str) -> None:
    probe, clean, faulty = FAULT_PROBES[fault]
    assert probe(env) == clean, f"{fault} off"
    with start(faults=[fault]) as server:
        assert probe(replace(env, api=Api(env.api.http, fast(server)))) == faulty, f"{fault} on"
