"""Tests of the reference Spectra S3 server (conformance.reference.spectra): real HTTP over loopback.

Requests are signed by a small signer written here (not the suite's); deliveries are captured by the receiver of
`conftest.py` (a threaded pytest-httpserver, one per module, one path per mailbox) or, for answers HTTP servers
cannot give (connection reset, no answer at all), by a bare TCP endpoint. Waits use Conditions with deadlines,
never sleeps.

A clean server is shared by the module where nothing fires across tests (registrations bound to one job);
tests that register for all jobs, or turn a fault on, start their own server.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from conformance.reference import start
from conformance.reference.faults import FAULTS
from conformance.reference.spectra.store import Registration

from .conftest import WAIT, Got, Receiver, refused_url

ADMIN = ("YWRtaW4=", "admin-spectra-secret")
USER = ("dXNlcg==", "user-spectra-secret")
ADMIN_ID = "5a1f3c2e-8b4d-4e6f-9a01-2b3c4d5e6f70"
USER_ID = "7c9e1d3f-2a4b-4c6d-8e0f-1a2b3c4d5e6f"
REG = "/_rest_/job_completed_notification_registration"
FIELDS = ["CreationDate", "Format", "Id", "JobId", "LastFailure", "LastHttpResponseCode", "LastNotification",
          "NamingConvention", "NotificationEndPoint", "NotificationHttpMethod", "NumberOfFailuresSinceLastSuccess",
          "UserId"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DUMMY = "http://127.0.0.1:9/"  # an endpoint for registrations that need not receive: refused at once, no DNS

# Every name of a delivered document, canonical first, then as each convention writes it (written out by hand).
CANONICAL = ["Notification", "Event", "Type", "CancelOccurred", "JobId", "NotificationGenerationDate",
             "ObjectsNotPersisted", "Object", "Id", "Latest", "Length", "Name", "Offset", "VersionId"]
CONVENTION_NAMES = {
    "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE": CANONICAL,
    "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE": [
        "notification", "event", "type", "cancelOccurred", "jobId", "notificationGenerationDate",
        "objectsNotPersisted", "object", "id", "latest", "length", "name", "offset", "versionId"],
    "UNDERSCORED": [
        "notification", "event", "type", "cancel_occurred", "job_id", "notification_generation_date",
        "objects_not_persisted", "object", "id", "latest", "length", "name", "offset", "version_id"],
    "CONSTANT": [
        "NOTIFICATION", "EVENT", "TYPE", "CANCEL_OCCURRED", "JOB_ID", "NOTIFICATION_GENERATION_DATE",
        "OBJECTS_NOT_PERSISTED", "OBJECT", "ID", "LATEST", "LENGTH", "NAME", "OFFSET", "VERSION_ID"],
    "CONCAT_LOWERCASE": [
        "notification", "event", "type", "canceloccurred", "jobid", "notificationgenerationdate",
        "objectsnotpersisted", "object", "id", "latest", "length", "name", "offset", "versionid"],
}
# The page's envelope (Notification holding Name and Payload): "Name" is in CANONICAL already.
PAYLOAD_NAMES = {"CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE": "Payload", "CONSTANT": "PAYLOAD", "UNDERSCORED": "payload",
                 "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE": "payload", "CONCAT_LOWERCASE": "payload"}
OBJECTS = {"o1": b"0123456789", "o2": b"abcd"}


# ================================================================== signing, receiving


class Signer(httpx.Auth):
    """S3 signature v2 as NOTES §2.2 describes it, written independently of the server and the suite."""

    def __init__(self, access_id: str, secret: str) -> None:
        self.access_id, self.secret = access_id, secret

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Date"] = email.utils.formatdate(usegmt=True)
        amz = sorted((name.lower(), value) for name, value in request.headers.items()
                     if name.lower().startswith("x-amz-"))
        text = "\n".join([request.method, request.headers.get("Content-MD5", ""),
                          request.headers.get("Content-Type", ""), request.headers["Date"],
                          "".join(f"{name}:{value}\n" for name, value in amz)
                          + request.url.raw_path.split(b"?")[0].decode()])
        digest = hmac.new(self.secret.encode(), text.encode(), hashlib.sha1).digest()
        request.headers["Authorization"] = f"AWS {self.access_id}:{base64.b64encode(digest).decode()}"
        yield request


class ScriptedEndpoint:
    """A bare TCP endpoint answering successive requests by a script: "reset" (read the request, then close with
    RST), "hang" (read it, answer nothing until closed) or an HTTP status."""

    def __init__(self, *script: str | int) -> None:
        self.script = list(script)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(WAIT)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/scripted"
        self.requests = 0
        self.released = threading.Event()
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for action in self.script:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(WAIT)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(4096)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                while len(body) < length:
                    body += connection.recv(4096)
                with self._condition:
                    self.requests += 1
                    self._condition.notify_all()
                if action == "reset":
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif action == "hang":
                    self.released.wait(WAIT * 2)
                else:
                    answer = f"HTTP/1.1 {action} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    connection.sendall(answer.encode())

    def wait(self, count: int) -> None:
        with self._condition:
            assert self._condition.wait_for(lambda: self.requests >= count, WAIT)

    def close(self) -> None:
        self.released.set()
        self.listener.close()


# ================================================================== the API, from the client side


def data(response: httpx.Response) -> dict[str, str]:
    """The children of a Data / Error document: name -> text ("" when empty)."""
    root = SafeET.fromstring(response.content, forbid_dtd=True)
    return {child.tag: (child.text or "").strip() for child in root}


def records(response: httpx.Response) -> list[dict[str, str]]:
    root = SafeET.fromstring(response.content, forbid_dtd=True)
    assert root.tag == "Data" and all(child.tag == "JobCompletedNotificationRegistration" for child in root)
    return [{field.tag: (field.text or "").strip() for field in child} for child in root]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/xml"
    root = SafeET.fromstring(response.content, forbid_dtd=True)
    assert root.tag == "Error" and [child.tag for child in root] == [
        "Code", "HttpErrorCode", "Message", "Resource", "ResourceId"]
    assert data(response)["Code"] == code and data(response)["HttpErrorCode"] == str(status)


class Spectra:
    """One running server as two signed users see it."""

    def __init__(self, server: Any, admin: httpx.Client, user: httpx.Client) -> None:
        self.server, self.base = server, server.urls["spectra"]
        self.app = server.apps["spectra"]
        self.clients = {"admin": admin, "user": user}

    def request(self, method: str, path: str, as_: str = "admin", **kwargs: Any) -> httpx.Response:
        return self.clients[as_].request(method, self.base + path, **kwargs)

    def create(self, as_: str = "admin", **params: str) -> httpx.Response:
        return self.request("POST", REG, as_, params=params)

    def register(self, endpoint: str, as_: str = "admin", **params: str) -> dict[str, str]:
        response = self.create(as_, notification_end_point=endpoint, **params)
        assert response.status_code == 201, response.text
        return data(response)

    def get(self, registration_id: str, as_: str = "admin") -> httpx.Response:
        return self.request("GET", f"{REG}/{registration_id}", as_)

    def list(self, as_: str = "admin", **params: str) -> httpx.Response:
        return self.request("GET", REG, as_, params=params)

    def ids(self, **params: str) -> list[str]:
        response = self.list(**params)
        assert response.status_code == 200, response.text
        return [record["Id"] for record in records(response)]

    def delete(self, registration_id: str, as_: str = "admin") -> httpx.Response:
        return self.request("DELETE", f"{REG}/{registration_id}", as_)

    def bucket(self) -> str:
        name = f"b-{uuid.uuid4().hex[:8]}"
        assert self.request("POST", "/_rest_/bucket", params={"name": name}).status_code == 201
        return name

    def start_job(self, bucket: str, as_: str = "admin", objects: dict[str, bytes] = OBJECTS) -> str:
        body = "<Objects>" + "".join(f'<Object Name="{name}" Size="{len(content)}"/>'
                                     for name, content in objects.items()) + "</Objects>"
        response = self.request("PUT", f"/_rest_/bucket/{bucket}", as_, params={"operation": "start_bulk_put"},
                                content=body.encode())
        assert response.status_code == 200, response.text
        return SafeET.fromstring(response.content, forbid_dtd=True).get("JobId")

    def put(self, bucket: str, name: str, job: str, content: bytes, as_: str = "admin") -> httpx.Response:
        return self.request("PUT", f"/{bucket}/{name}", as_, params={"job": job, "offset": "0"}, content=content)

    def complete(self, bucket: str, job: str, as_: str = "admin", objects: dict[str, bytes] = OBJECTS) -> None:
        for name, content in objects.items():
            assert self.put(bucket, name, job, content, as_).status_code == 200

    def cancel(self, job: str) -> None:
        assert self.request("DELETE", f"/_rest_/job/{job}", params={"force": ""}).status_code == 204

    def job_status(self, job: str) -> str:
        return data(self.request("GET", f"/_rest_/job/{job}"))["Status"]

    def run_job(self, bucket: str, *, cancel: bool = False, as_: str = "admin") -> str:
        """Start a job, then complete it (every object put) or cancel it after putting only o1."""
        job = self.start_job(bucket, as_)
        if cancel:
            assert self.put(bucket, "o1", job, OBJECTS["o1"], as_).status_code == 200
            self.cancel(job)
        else:
            self.complete(bucket, job, as_)
        return job

    def idle(self) -> None:
        assert self.app.wait_idle(WAIT)


@pytest.fixture(scope="module")
def admin_client() -> Iterator[httpx.Client]:
    with httpx.Client(auth=Signer(*ADMIN), timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def user_client() -> Iterator[httpx.Client]:
    with httpx.Client(auth=Signer(*USER), timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def sp(admin_client: httpx.Client, user_client: httpx.Client) -> Iterator[Spectra]:
    with start("spectra") as server:
        yield Spectra(server, admin_client, user_client)


@pytest.fixture(scope="module")
def shared_bucket(sp: Spectra) -> str:
    return sp.bucket()


@pytest.fixture(scope="module")
def dsp(admin_client: httpx.Client, user_client: httpx.Client) -> Iterator[Spectra]:
    """A server for the delivery table: only registrations bound to one job, so nothing fires across tests."""
    with start("spectra") as server:
        yield Spectra(server, admin_client, user_client)


@pytest.fixture
def spectra_with(admin_client: httpx.Client, user_client: httpx.Client) -> Iterator[Callable[..., Spectra]]:
    """Start a server of its own with the given faults on (stopped after the test)."""
    servers: list[Any] = []

    def make(*faults: str, behaviours: tuple[str, ...] = ()) -> Spectra:
        servers.append(start("spectra", faults=faults, behaviours=behaviours))
        return Spectra(servers[-1], admin_client, user_client)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def fresh(spectra_with: Callable[..., Spectra]) -> Spectra:
    return spectra_with()


# ================================================================== the delivered document


@dataclass
class Payload:
    envelope: str  # "Event" or "Payload" (canonical names)
    cancel: Any
    job_id: str
    date: Any
    objects: list[dict[str, Any]]


def parse_delivery(received: Got, convention: str = "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE") -> Payload:
    """The payload of a delivery whose every name must be `convention`'s; values kept as sent (JSON types)."""
    names = {**dict(zip(CANONICAL, CONVENTION_NAMES[convention])), "Payload": PAYLOAD_NAMES[convention]}
    object_keys = {names[name] for name in ("Id", "Latest", "Length", "Name", "Offset", "VersionId")}
    payload_keys = [names[name] for name in ("CancelOccurred", "JobId", "NotificationGenerationDate",
                                             "ObjectsNotPersisted")]
    if received.content_type == "application/json":
        document = json.loads(received.body)
        assert list(document) == [names["Notification"]]
        outer = document[names["Notification"]]
        envelope = "Event" if names["Event"] in outer else "Payload"
        expected_outer = [names["Event"], names["Type"]] if envelope == "Event" else [names["Name"], names["Payload"]]
        assert list(outer) == expected_outer
        assert outer[names["Type" if envelope == "Event" else "Name"]] == "JobCompletedNotificationPayload"
        event = outer[names[envelope]]
        assert list(event) == payload_keys
        objects = event[names["ObjectsNotPersisted"]]
        assert isinstance(objects, list) and all(set(item) == object_keys for item in objects)
        canonical_objects = [{canonical: item[names[canonical]] for canonical in
                              ("Id", "Latest", "Length", "Name", "Offset", "VersionId")} for item in objects]
        return Payload(envelope, event[names["CancelOccurred"]], event[names["JobId"]],
                       event[names["NotificationGenerationDate"]], canonical_objects)
    assert received.content_type == "application/xml"
    root = SafeET.fromstring(received.body, forbid_dtd=True)
    assert root.tag == names["Notification"]
    envelope = "Event" if root.find(names["Event"]) is not None else "Payload"
    expected_outer = [names["Event"], names["Type"]] if envelope == "Event" else [names["Name"], names["Payload"]]
    assert [child.tag for child in root] == expected_outer
    assert root.findtext(names["Type" if envelope == "Event" else "Name"]) == "JobCompletedNotificationPayload"
    event = root.find(names[envelope])
    assert [child.tag for child in event] == payload_keys
    holder = event.find(names["ObjectsNotPersisted"])
    assert all(child.tag == names["Object"] and set(child.attrib) == object_keys for child in holder)
    canonical_objects = [{canonical: child.get(names[canonical]) for canonical in
                          ("Id", "Latest", "Length", "Name", "Offset", "VersionId")} for child in holder]
    return Payload(envelope, event.findtext(names["CancelOccurred"]), event.findtext(names["JobId"]),
                   event.findtext(names["NotificationGenerationDate"]), canonical_objects)


# ================================================================== interface, lifecycle


def test_interface_target_section_and_env() -> None:
    with start("spectra") as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.urls["spectra"])
        assert server.target_data() == {"spectra": {"base_url": server.urls["spectra"], "users": {
            "admin": {"access_id": "YWRtaW4=", "secret_key_env": "CONFORMANCE_REFERENCE_SPECTRA_ADMIN_SECRET"},
            "user": {"access_id": "dXNlcg==", "secret_key_env": "CONFORMANCE_REFERENCE_SPECTRA_USER_SECRET"}}}}
        assert server.env == {"CONFORMANCE_REFERENCE_SPECTRA_ADMIN_SECRET": "admin-spectra-secret",
                              "CONFORMANCE_REFERENCE_SPECTRA_USER_SECRET": "user-spectra-secret"}
        app = server.apps["spectra"]
        assert app.protocol == "spectra" and app.mount == "" and app.faults == frozenset()


def test_vidicore_and_spectra_on_one_server(admin_client: httpx.Client) -> None:
    with start(("vidicore", "spectra")) as server:
        root = server.urls["spectra"]
        assert server.urls["vidicore"] == root + "/API"
        assert httpx.get(root + "/API/item/notification", auth=("admin", "admin-secret")).status_code == 200
        assert httpx.get(root + "/API/item/notification").status_code == 401  # VidiCore's answer, not Spectra's
        assert admin_client.get(root + REG).status_code == 200
        assert admin_client.get(root + "/nothing/here/at/all").status_code == 405  # object paths take PUT only
        assert admin_client.get(root + "/_rest_/nothing").status_code == 404


def test_close_is_idempotent_and_quick_while_a_delivery_hangs(fresh: Spectra) -> None:
    endpoint = ScriptedEndpoint("hang")
    try:
        fresh.register(endpoint.url)
        fresh.run_job(fresh.bucket())
        endpoint.wait(1)
        began = time.perf_counter()
        fresh.app.close()
        fresh.app.close()
        assert time.perf_counter() - began < 0.5
        assert fresh.app.wait_idle(0.5)
    finally:
        endpoint.close()


def test_idle_only_once_the_delivery_was_answered_and_booked(fresh: Spectra, receiver: Receiver) -> None:
    slow = receiver.mailbox("slow", (200, 30.0))
    registration = fresh.register(slow.url)
    assert fresh.server.wait_idle(0)
    fresh.run_job(fresh.bucket())
    slow.wait(1)
    assert not fresh.server.wait_idle(0) and not fresh.app.wait_idle(0)
    slow.release()
    assert fresh.server.wait_idle(WAIT)
    assert data(fresh.get(registration["Id"]))["LastHttpResponseCode"] == "200"  # booked before idle


# ================================================================== authentication (NOTES §2.2)


def _signed_headers(method: str, path: str, access_id: str, secret: str, content_type: str = "") -> dict[str, str]:
    date = email.utils.formatdate(usegmt=True)
    text = f"{method}\n\n{content_type}\n{date}\n{path}"
    digest = base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()).decode()
    return {"Date": date, "Authorization": f"AWS {access_id}:{digest}"}


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="unsigned"),
    pytest.param(_signed_headers("POST", REG, ADMIN[0], "wrong-secret"), id="wrong-secret"),
    pytest.param(_signed_headers("POST", REG, "bm9ib2R5", "nobody-secret"), id="unknown-access-id"),
    pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4tc2VjcmV0"}, id="basic"),
    pytest.param({"Authorization": _signed_headers("POST", REG, *ADMIN)["Authorization"]}, id="no-date"),
    pytest.param(_signed_headers("POST", "/other/path", *ADMIN), id="other-path"),
    pytest.param(_signed_headers("GET", REG, *ADMIN), id="other-verb"),
    pytest.param({**_signed_headers("POST", REG, *ADMIN), "Content-Type": "text/plain"}, id="unsigned-content-type"),
])
def test_bad_signatures_are_refused_403_and_nothing_is_created(sp: Spectra, headers: dict[str, str]) -> None:
    before = sp.ids()
    response = httpx.post(sp.base + REG, params={"notification_end_point": DUMMY}, headers=headers)
    assert_error(response, 403, "Forbidden")
    assert sp.ids() == before


def test_signature_covers_content_type_amz_headers_and_the_encoded_path(sp: Spectra) -> None:
    bucket = f"b {uuid.uuid4().hex[:6]} é"
    assert sp.request("POST", "/_rest_/bucket", params={"name": bucket}).status_code == 201
    job = sp.start_job(bucket, objects={"dir/o 1": b"x"})
    response = sp.request("PUT", f"/{bucket}/dir/o 1", params={"job": job}, content=b"x",
                          headers={"Content-Type": "application/octet-stream", "x-amz-meta-k": "v"})
    assert response.status_code == 200, response.text
    assert b"%20" in response.request.url.raw_path
    assert sp.job_status(job) == "COMPLETED"


def test_a_request_signed_by_the_ordinary_user_is_that_user(sp: Spectra, shared_bucket: str) -> None:
    job = sp.start_job(shared_bucket, as_="user")
    assert sp.register(DUMMY, as_="user", job_id=job)["UserId"] == USER_ID


# ================================================================== registrations (NOTES §2.1)


def test_create_with_defaults(sp: Spectra) -> None:
    response = sp.create(notification_end_point=DUMMY + "n")
    assert response.status_code == 201 and response.headers["Content-Type"] == "application/xml"
    root = SafeET.fromstring(response.content, forbid_dtd=True)
    assert root.tag == "Data" and [child.tag for child in root] == FIELDS
    fields = data(response)
    assert fields["Format"] == "DEFAULT"
    assert fields["NamingConvention"] == "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE"
    assert fields["NotificationHttpMethod"] == "POST"
    assert fields["NotificationEndPoint"] == DUMMY + "n"
    assert [fields[name] for name in ("JobId", "LastFailure", "LastHttpResponseCode", "LastNotification")] == [""] * 4
    assert fields["NumberOfFailuresSinceLastSuccess"] == "0"
    assert UUID.fullmatch(fields["Id"]) and fields["UserId"] == ADMIN_ID
    assert DATE.fullmatch(fields["CreationDate"])


def test_create_echoes_every_parameter_in_canonical_spelling(sp: Spectra, shared_bucket: str) -> None:
    job = sp.start_job(shared_bucket)
    fields = sp.register("http://client.example/x?y=1", format="json", job_id=job.upper(),
                         naming_convention="Concat_Lowercase", notification_http_method="put")
    assert (fields["Format"], fields["JobId"], fields["NamingConvention"], fields["NotificationHttpMethod"],
            fields["NotificationEndPoint"]) == ("JSON", job, "CONCAT_LOWERCASE", "PUT", "http://client.example/x?y=1")


@pytest.mark.parametrize("method", ["GET", "DELETE", "HEAD"])
def test_other_http_verbs_are_accepted_like_blackpearl(sp: Spectra, method: str) -> None:
    assert sp.register(DUMMY, notification_http_method=method.lower())["NotificationHttpMethod"] == method


def test_empty_parameter_values_count_as_absent(sp: Spectra) -> None:
    fields = sp.register(DUMMY, format="", job_id="", naming_convention="", notification_http_method="")
    assert (fields["Format"], fields["JobId"], fields["NotificationHttpMethod"]) == ("DEFAULT", "", "POST")


def test_get_list_delete(sp: Spectra) -> None:
    created = sp.register(DUMMY + "get", format="XML")
    response = sp.get(created["Id"])
    assert response.status_code == 200 and data(response) == created
    listed = sp.list()
    assert listed.status_code == 200 and created in records(listed)
    assert sp.get(created["Id"], as_="user").status_code == 200  # any user may read every registration
    deleted = sp.delete(created["Id"])
    assert deleted.status_code == 204 and deleted.content == b"" and "Content-Type" not in deleted.headers
    assert_error(sp.get(created["Id"]), 404, "NotFound")
    assert_error(sp.delete(created["Id"]), 404, "NotFound")
    assert created["Id"] not in sp.ids()


def test_unknown_ids_answer_404(sp: Spectra) -> None:
    assert_error(sp.get(str(uuid.uuid4())), 404, "NotFound")
    assert_error(sp.delete(str(uuid.uuid4())), 404, "NotFound")
    assert_error(sp.get("not-a-uuid"), 404, "NotFound")
    assert data(sp.get("abc"))["ResourceId"] == "abc"


@pytest.mark.parametrize(("params", "status", "code"), [
    pytest.param({}, 400, "InvalidUri", id="no-endpoint"),
    pytest.param({"notification_end_point": ""}, 400, "InvalidUri", id="empty-endpoint"),
    pytest.param({"notification_end_point": DUMMY, "bogus": "1"}, 400, "InvalidUri", id="unknown-parameter"),
    pytest.param({"notification_end_point": DUMMY, "format": "YAML"}, 400, "BadRequest", id="bad-format"),
    pytest.param({"notification_end_point": DUMMY, "naming_convention": "BOGUS"}, 400, "BadRequest",
                 id="bad-naming"),
    pytest.param({"notification_end_point": DUMMY, "notification_http_method": "BOGUS"}, 400, "BadRequest",
                 id="bad-method"),
    pytest.param({"notification_end_point": DUMMY, "job_id": "42"}, 400, "BadRequest", id="job-not-uuid"),
    pytest.param({"notification_end_point": DUMMY, "job_id": str(uuid.uuid4())}, 404, "NotFound",
                 id="unknown-job"),
])
def test_refused_creates(sp: Spectra, params: dict[str, str], status: int, code: str) -> None:
    before = sp.list()
    assert_error(sp.create(**params), status, code)
    after = sp.list()
    assert records(after) == records(before)
    assert after.headers["Total-Result-Count"] == before.headers["Total-Result-Count"]


def test_ordinary_user_needs_a_job_id(sp: Spectra, shared_bucket: str) -> None:
    before = sp.ids()
    assert_error(sp.create("user", notification_end_point=DUMMY), 403, "Forbidden")
    assert sp.ids() == before
    assert sp.register(DUMMY, as_="admin")["JobId"] == ""  # the administrator may


def test_delete_rights(sp: Spectra, shared_bucket: str) -> None:
    job = sp.start_job(shared_bucket, as_="user")
    admins = sp.register(DUMMY)
    users = sp.register(DUMMY, as_="user", job_id=job)
    assert_error(sp.delete(admins["Id"], as_="user"), 403, "Forbidden")
    assert sp.get(admins["Id"]).status_code == 200
    assert sp.delete(users["Id"], as_="user").status_code == 204
    other = sp.register(DUMMY, as_="user", job_id=job)
    assert sp.delete(other["Id"], as_="admin").status_code == 204


def test_paging(fresh: Spectra) -> None:
    ids = [fresh.register(f"{DUMMY}{n}")["Id"] for n in range(7)]
    seen: list[str] = []
    for offset, truncated in ((0, "4"), (3, "1"), (6, "0")):
        response = fresh.list(page_length="3", page_offset=str(offset), page_start_marker="ignored", last_page="")
        assert response.status_code == 200
        assert (response.headers["Page-Truncated"], response.headers["Total-Result-Count"]) == (truncated, "7")
        seen += [record["Id"] for record in records(response)]
    assert seen == ids  # creation order, no duplicate, no gap
    assert fresh.ids(page_offset="5") == ids[5:]
    assert fresh.ids(page_offset="9") == []
    assert fresh.ids() == ids
    assert fresh.list().headers["Page-Truncated"] == "0"


def test_list_filters_by_user(fresh: Spectra) -> None:
    bucket = fresh.bucket()
    job = fresh.start_job(bucket, as_="user")
    mine = fresh.register(DUMMY, as_="user", job_id=job)["Id"]
    admins = fresh.register(DUMMY)["Id"]
    assert fresh.ids(user_id=USER_ID) == [mine]
    assert fresh.ids(user_id=ADMIN_ID) == [admins]
    assert fresh.list(user_id=USER_ID).headers["Total-Result-Count"] == "1"
    assert fresh.ids(user_id=str(uuid.uuid4())) == []


@pytest.mark.parametrize("params", [{"page_length": "0"}, {"page_length": "x"}, {"page_offset": "-1"},
                                    {"user_id": "admin"}])
def test_bad_list_parameters(sp: Spectra, params: dict[str, str]) -> None:
    assert_error(sp.list(**params), 400, "BadRequest")


def test_unknown_list_parameter(sp: Spectra) -> None:
    assert_error(sp.list(color="red"), 400, "InvalidUri")


def test_default_page_is_1000_records(fresh: Spectra) -> None:
    with fresh.app.lock:
        template = Registration("", ADMIN_ID, datetime.now(timezone.utc), "DEFAULT", "", DUMMY, "POST",
                                "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE", True)
        for _ in range(1001):
            registration = Registration(**{**template.__dict__, "id": str(uuid.uuid4())})
            fresh.app.registrations[registration.id] = registration
    response = fresh.list()
    assert len(records(response)) == 1000
    assert (response.headers["Page-Truncated"], response.headers["Total-Result-Count"]) == ("1", "1001")


def test_method_not_allowed_and_unknown_paths(sp: Spectra) -> None:
    response = sp.request("PUT", REG)
    assert_error(response, 405, "MethodNotAllowed")
    assert response.headers["Allow"] == "POST, GET"
    assert_error(sp.request("GET", "/_rest_/bucket"), 405, "MethodNotAllowed")
    assert_error(sp.request("GET", "/_rest_/unknown"), 404, "NotFound")
    assert_error(sp.request("DELETE", "/"), 405, "MethodNotAllowed")  # GET / lists the buckets


def test_the_bucket_list_names_every_bucket(sp: Spectra) -> None:
    """`GET /`, as S3's and BlackPearl's Get Service: what `conformance cleanup` lists buckets with."""
    names = [f"b-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        assert sp.request("POST", "/_rest_/bucket", params={"name": name}).status_code == 201
    response = sp.request("GET", "/")
    assert response.status_code == 200
    root = SafeET.fromstring(response.content)
    assert root.tag == "ListAllMyBucketsResult" and root.find("Owner/ID") is not None
    listed = [bucket.findtext("Name") for bucket in root.iter("Bucket")]
    assert set(names) <= set(listed) and all(bucket.findtext("CreationDate") for bucket in root.iter("Bucket"))
    for name in names:
        sp.request("DELETE", f"/_rest_/bucket/{name}", params={"force": ""})


# ================================================================== buckets, jobs, objects (NOTES §2.3)


def test_bucket_lifecycle(sp: Spectra) -> None:
    name = f"b-{uuid.uuid4().hex[:8]}"
    response = sp.request("POST", "/_rest_/bucket", params={"name": name})
    assert response.status_code == 201 and UUID.fullmatch(data(response)["BucketId"])
    assert data(response)["Name"] == name
    assert_error(sp.request("POST", "/_rest_/bucket", params={"name": name}), 409, "Conflict")
    assert_error(sp.request("POST", "/_rest_/bucket"), 400, "BadRequest")
    assert sp.request("DELETE", f"/_rest_/bucket/{name}", params={"force": ""}).status_code == 204
    assert_error(sp.request("DELETE", f"/_rest_/bucket/{name}"), 404, "NotFound")


def test_start_bulk_put_answers_a_master_object_list(sp: Spectra, shared_bucket: str) -> None:
    response = sp.request("PUT", f"/_rest_/bucket/{shared_bucket}", params={"operation": "start_bulk_put"},
                          content=b'<Objects><Object Name="o1" Size="10"/><Object Name="o2" Size="4"/></Objects>')
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/xml"
    root = SafeET.fromstring(response.content, forbid_dtd=True)
    assert root.tag == "MasterObjectList" and UUID.fullmatch(root.get("JobId"))
    assert root.get("BucketName") == shared_bucket and root.get("UserId") == ADMIN_ID
    # BlackPearl's shape: Nodes/Node (the SDKs iterate it), then the chunk on that node
    [nodes, chunk] = list(root)
    [node] = list(nodes)
    assert nodes.tag == "Nodes" and node.tag == "Node" and UUID.fullmatch(node.get("Id"))
    assert node.get("EndPoint") == "127.0.0.1" and node.get("HttpPort") == sp.base.rsplit(":", 1)[1]
    assert chunk.tag == "Objects" and chunk.get("ChunkNumber") == "1" and UUID.fullmatch(chunk.get("ChunkId"))
    assert chunk.get("NodeId") == node.get("Id") and root.get("OriginalSizeInBytes") == "14"
    assert [(o.get("Name"), o.get("Length"), o.get("Offset"), o.get("InCache")) for o in chunk] == [
        ("o1", "10", "0", "false"), ("o2", "4", "0", "false")]
    assert sp.job_status(root.get("JobId")) == "IN_PROGRESS"


@pytest.mark.parametrize("body", [
    b"not xml", b"<Objects/>", b'<Objects><Thing Name="a" Size="1"/></Objects>',
    b'<Objects><Object Name="a" Size="-1"/></Objects>', b'<Objects><Object Size="1"/></Objects>',
    b'<Objects><Object Name="a" Size="1"/><Object Name="a" Size="2"/></Objects>',
    b'<!DOCTYPE Objects [<!ENTITY e "a">]><Objects><Object Name="&e;" Size="1"/></Objects>',
])
def test_start_bulk_put_refuses_bad_bodies(sp: Spectra, shared_bucket: str, body: bytes) -> None:
    response = sp.request("PUT", f"/_rest_/bucket/{shared_bucket}", params={"operation": "start_bulk_put"},
                          content=body)
    assert_error(response, 400, "BadRequest")


def test_job_and_object_errors(sp: Spectra, shared_bucket: str) -> None:
    response = sp.request("PUT", "/_rest_/bucket/no-such-bucket", params={"operation": "start_bulk_put"},
                          content=b'<Objects><Object Name="a" Size="1"/></Objects>')
    assert_error(response, 404, "NotFound")
    job = sp.start_job(shared_bucket)
    assert_error(sp.put(shared_bucket, "o9", job, b"x"), 404, "NotFound")
    assert_error(sp.put(shared_bucket, "o1", str(uuid.uuid4()), b"x"), 404, "NotFound")
    assert_error(sp.put("no-such-bucket", "o1", job, b"x"), 404, "NotFound")
    assert_error(sp.request("PUT", f"/{shared_bucket}/o1", content=b"x"), 400, "BadRequest")
    assert_error(sp.request("GET", f"/_rest_/job/{uuid.uuid4()}"), 404, "NotFound")
    assert_error(sp.request("DELETE", f"/_rest_/job/{uuid.uuid4()}"), 404, "NotFound")
    sp.complete(shared_bucket, job)
    assert sp.job_status(job) == "COMPLETED"
    assert_error(sp.request("DELETE", f"/_rest_/job/{job}"), 404, "NotFound")  # completed jobs are forgotten
    assert_error(sp.put(shared_bucket, "o1", job, b"x"), 404, "NotFound")
    assert_error(sp.create(notification_end_point=DUMMY, job_id=job), 404, "NotFound")


def test_cancel(sp: Spectra, shared_bucket: str) -> None:
    job = sp.start_job(shared_bucket)
    sp.cancel(job)
    assert sp.job_status(job) == "CANCELED"


# ================================================================== deliveries (NOTES §2.4)


@pytest.mark.parametrize("cancel", [False, True], ids=["completed", "cancelled"])
@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("fmt", ["DEFAULT", "XML", "JSON"])
@pytest.mark.parametrize("convention", list(CONVENTION_NAMES))
def test_delivery(dsp: Spectra, receiver: Receiver, convention: str, fmt: str, method: str, cancel: bool) -> None:
    sp, shared_bucket = dsp, dsp.bucket()
    inbox = receiver.mailbox()
    job = sp.start_job(shared_bucket)
    registration = sp.register(inbox.url, job_id=job, format=fmt, naming_convention=convention,
                               notification_http_method=method)
    before = datetime.now(timezone.utc)
    if cancel:
        assert sp.put(shared_bucket, "o1", job, OBJECTS["o1"]).status_code == 200
        sp.cancel(job)
    else:
        sp.complete(shared_bucket, job)
    [received] = inbox.wait()
    sp.idle()
    assert len(inbox.got) == 1
    assert received.method == method
    assert received.content_type == ("application/json" if fmt == "JSON" else "application/xml")
    payload = parse_delivery(received, convention)
    assert payload.envelope == "Event" and payload.job_id == job
    if fmt == "JSON":
        assert payload.cancel is cancel
        assert isinstance(payload.date, int) and payload.date >= int(before.timestamp() * 1000) - 1000
    else:
        assert payload.cancel == ("true" if cancel else "false")
        assert DATE.fullmatch(payload.date)
    if not cancel:
        assert payload.objects == []
        return
    [blob] = payload.objects
    assert blob["Name"] == "o2" and UUID.fullmatch(blob["Id"]) and UUID.fullmatch(blob["VersionId"])
    typed = (blob["Latest"], blob["Length"], blob["Offset"])
    assert typed == ((True, 4, 0) if fmt == "JSON" else ("true", "4", "0"))
    # a registration bound to the job goes with it, after its delivery
    assert_error(sp.get(registration["Id"]), 404, "NotFound")


def test_default_registration_delivers_xml_post_in_camel_case(dsp: Spectra, receiver: Receiver) -> None:
    sp, shared_bucket = dsp, dsp.bucket()
    inbox = receiver.mailbox()
    job = sp.start_job(shared_bucket)
    sp.register(inbox.url, job_id=job)
    sp.complete(shared_bucket, job)
    [received] = inbox.wait()
    assert (received.method, received.content_type) == ("POST", "application/xml")
    assert parse_delivery(received).job_id == job


def test_job_filter_and_owner_rule(fresh: Spectra, receiver: Receiver) -> None:
    bucket = fresh.bucket()
    job_a, job_b, users_job = (fresh.start_job(bucket), fresh.start_job(bucket),
                               fresh.start_job(bucket, as_="user"))
    for_a, for_all, admin_for_users_job, users_own = (receiver.mailbox() for _ in range(4))
    fresh.register(for_a.url, job_id=job_a)
    fresh.register(for_all.url)
    fresh.register(admin_for_users_job.url, job_id=users_job)
    fresh.register(users_own.url, as_="user", job_id=users_job)
    fresh.complete(bucket, job_b)
    assert parse_delivery(for_all.wait()[0]).job_id == job_b
    fresh.complete(bucket, users_job, as_="user")
    assert parse_delivery(users_own.wait()[0]).job_id == users_job
    fresh.complete(bucket, job_a)
    assert [parse_delivery(r).job_id for r in for_all.wait(2)] == [job_b, job_a]
    assert parse_delivery(for_a.wait()[0]).job_id == job_a
    fresh.idle()
    assert (len(for_a.got), len(for_all.got), len(admin_for_users_job.got),
            len(users_own.got)) == (1, 2, 0, 1)


def test_deleting_a_bucket_cancels_its_jobs_without_notifying(fresh: Spectra, receiver: Receiver) -> None:
    bucket = fresh.bucket()
    job = fresh.start_job(bucket)
    inbox = receiver.mailbox()
    bound = fresh.register(inbox.url, job_id=job)
    assert fresh.request("DELETE", f"/_rest_/bucket/{bucket}", params={"force": ""}).status_code == 204
    fresh.idle()
    assert inbox.got == []
    assert fresh.get(bound["Id"]).status_code == 404


def test_deleted_registration_does_not_fire(fresh: Spectra, receiver: Receiver) -> None:
    inbox = receiver.mailbox()
    registration = fresh.register(inbox.url)
    assert fresh.delete(registration["Id"]).status_code == 204
    fresh.run_job(fresh.bucket())
    fresh.idle()
    assert inbox.got == []


# ------------------------------------------------------------------ bookkeeping


def test_bookkeeping_after_2xx_is_written_after_the_attempt(fresh: Spectra, receiver: Receiver,
                                                            admin_client: httpx.Client) -> None:
    inbox = receiver.mailbox(status=202)
    registration = fresh.register(inbox.url)
    seen_during: list[dict[str, str]] = []
    inbox.on_request = lambda: seen_during.append(data(admin_client.get(f"{fresh.base}{REG}/{registration['Id']}")))
    started = datetime.now(timezone.utc)
    fresh.run_job(fresh.bucket())
    inbox.wait()
    fresh.idle()
    assert seen_during[0]["LastHttpResponseCode"] == "" and seen_during[0]["LastNotification"] == ""
    after = data(fresh.get(registration["Id"]))
    assert after["LastHttpResponseCode"] == "202" and after["NumberOfFailuresSinceLastSuccess"] == "0"
    assert after["LastFailure"] == "" and DATE.fullmatch(after["LastNotification"])
    assert after["LastNotification"] >= started.strftime("%Y-%m-%dT%H:%M:%S")


def test_bookkeeping_after_500_counts_as_delivered_and_is_not_retried(fresh: Spectra, receiver: Receiver) -> None:
    inbox = receiver.mailbox(status=500)
    registration = fresh.register(inbox.url)
    fresh.run_job(fresh.bucket())
    inbox.wait()
    fresh.idle()
    assert len(inbox.got) == 1
    after = data(fresh.get(registration["Id"]))
    assert (after["LastHttpResponseCode"], after["NumberOfFailuresSinceLastSuccess"], after["LastFailure"]) == (
        "500", "0", "")
    assert DATE.fullmatch(after["LastNotification"])


def test_bookkeeping_without_an_answer_then_reset_by_a_2xx(fresh: Spectra) -> None:
    refused = fresh.register(refused_url())
    endpoint = ScriptedEndpoint("reset", 200)
    try:
        flaky = fresh.register(endpoint.url)
        bucket = fresh.bucket()
        fresh.run_job(bucket)
        endpoint.wait(1)
        fresh.idle()
        for registration in (refused, flaky):
            after = data(fresh.get(registration["Id"]))
            assert (after["NumberOfFailuresSinceLastSuccess"], after["LastHttpResponseCode"],
                    after["LastNotification"]) == ("1", "", "")
            assert after["LastFailure"] and "\n" not in after["LastFailure"]
        fresh.run_job(bucket, cancel=True)
        endpoint.wait(2)
        fresh.idle()
        assert data(fresh.get(refused["Id"]))["NumberOfFailuresSinceLastSuccess"] == "2"
        after = data(fresh.get(flaky["Id"]))
        assert (after["NumberOfFailuresSinceLastSuccess"], after["LastHttpResponseCode"], after["LastFailure"]) == (
            "0", "200", "")
    finally:
        endpoint.close()


def test_an_endpoint_that_is_no_url_fails_without_an_answer(fresh: Spectra) -> None:
    registration = fresh.register("Spectra-S3-client-hostname")
    fresh.run_job(fresh.bucket())
    fresh.idle()
    after = data(fresh.get(registration["Id"]))
    assert after["NumberOfFailuresSinceLastSuccess"] == "1" and "Spectra-S3-client-hostname" in after["LastFailure"]


# ================================================================== faults (one behaviour each)


def test_fault_sp_create_200(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-create-200")
    response = sp.create(notification_end_point=DUMMY)
    assert response.status_code == 200 and sp.get(data(response)["Id"]).status_code == 200


def test_fault_sp_echo_drops_job_id(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-echo-drops-job-id")
    bucket = sp.bucket()
    job, other = sp.start_job(bucket), sp.start_job(bucket)
    inbox = receiver.mailbox()
    registration = sp.register(inbox.url, job_id=job)
    assert registration["JobId"] == "" and data(sp.get(registration["Id"]))["JobId"] == ""
    sp.complete(bucket, other)  # stored and applied: not fired for another job
    sp.idle()
    assert inbox.got == []
    sp.complete(bucket, job)
    assert parse_delivery(inbox.wait()[0]).job_id == job


def test_fault_sp_default_naming_shown_lowercase(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-default-naming-shown-lowercase")
    inbox = receiver.mailbox()
    registration = sp.register(inbox.url)
    assert registration["NamingConvention"] == "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE"
    assert sp.register(DUMMY, naming_convention="UNDERSCORED")["NamingConvention"] == "UNDERSCORED"
    sp.run_job(sp.bucket())
    parse_delivery(inbox.wait()[0], "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE")


def test_fault_sp_fresh_last_notification(spectra_with: Callable[..., Spectra]) -> None:
    fields = spectra_with("sp-fresh-last-notification").register(DUMMY)
    assert fields["LastNotification"] == fields["CreationDate"] != ""


def test_fault_sp_registration_bad_date(spectra_with: Callable[..., Spectra]) -> None:
    fields = spectra_with("sp-registration-bad-date").register(DUMMY)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", fields["CreationDate"])


def test_fault_sp_get_format_default(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-get-format-default")
    created = sp.register(DUMMY, format="JSON")
    assert created["Format"] == "JSON" and records(sp.list())[0]["Format"] == "JSON"
    assert data(sp.get(created["Id"]))["Format"] == "DEFAULT"


def test_fault_sp_list_omits_newest(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-list-omits-newest")
    ids = [sp.register(DUMMY)["Id"] for _ in range(3)]
    assert sp.ids() == ids[:2]
    assert sp.ids(page_length="10") == ids and sp.ids(page_offset="0") == ids


def test_fault_sp_paging_overlap(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-paging-overlap")
    ids = [sp.register(DUMMY)["Id"] for _ in range(5)]
    assert sp.ids(page_length="2") == ids[:2]
    response = sp.list(page_length="2", page_offset="2")
    assert [record["Id"] for record in records(response)] == ids[1:3]
    assert (response.headers["Page-Truncated"], response.headers["Total-Result-Count"]) == ("1", "5")


def test_fault_sp_paging_no_truncated(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-paging-no-truncated")
    sp.register(DUMMY)
    response = sp.list(page_length="1")
    assert "Page-Truncated" not in response.headers and response.headers["Total-Result-Count"] == "1"


def test_fault_sp_delete_200(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-delete-200")
    response = sp.delete(sp.register(DUMMY)["Id"])
    assert response.status_code == 200 and response.content == b""


def test_fault_sp_delete_soft(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-delete-soft")
    registration_id = sp.register(DUMMY)["Id"]
    assert sp.delete(registration_id).status_code == 204
    assert sp.ids() == []
    assert sp.get(registration_id).status_code == 200
    assert sp.delete(registration_id).status_code == 204


def test_fault_sp_unknown_id_500(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-unknown-id-500")
    assert_error(sp.get(str(uuid.uuid4())), 500, "InternalError")
    assert_error(sp.delete(str(uuid.uuid4())), 500, "InternalError")
    registration_id = sp.register(DUMMY)["Id"]
    assert sp.delete(registration_id).status_code == 204
    assert_error(sp.get(registration_id), 404, "NotFound")


def test_fault_sp_error_http_code_400(spectra_with: Callable[..., Spectra]) -> None:
    response = spectra_with("sp-error-http-code-400").get(str(uuid.uuid4()))
    assert response.status_code == 404 and data(response)["HttpErrorCode"] == "400"


def test_fault_sp_error_code_constant(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-error-code-constant")
    assert_error(sp.get(str(uuid.uuid4())), 404, "NOT_FOUND")
    assert_error(sp.create(), 400, "INVALID_URI")
    assert_error(sp.create(notification_end_point=DUMMY, format="X"), 400, "BAD_REQUEST")


def test_fault_sp_xml_as_html(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-xml-as-html")
    created = sp.create(notification_end_point=DUMMY)
    missing = sp.get(str(uuid.uuid4()))
    assert created.status_code == 201 and data(created)["NotificationEndPoint"] == DUMMY
    assert missing.status_code == 404
    for response in (created, missing, sp.list()):
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"


def test_fault_sp_missing_endpoint_accepted(spectra_with: Callable[..., Spectra]) -> None:
    response = spectra_with("sp-missing-endpoint-accepted").create()
    assert response.status_code == 201 and data(response)["NotificationEndPoint"] == ""


def test_fault_sp_unknown_parameter_ignored(spectra_with: Callable[..., Spectra]) -> None:
    assert spectra_with("sp-unknown-parameter-ignored").register(DUMMY, bogus="1")["Format"] == "DEFAULT"


def test_fault_sp_bad_enumeration_accepted(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-bad-enumeration-accepted")
    fields = sp.register(DUMMY, naming_convention="BOGUS")
    assert fields["NamingConvention"] == "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE"
    assert_error(sp.create(notification_end_point=DUMMY, format="BOGUS"), 400, "BadRequest")
    assert_error(sp.create(notification_end_point=DUMMY, notification_http_method="BOGUS"), 400, "BadRequest")


def test_fault_sp_job_id_not_uuid_404(spectra_with: Callable[..., Spectra]) -> None:
    response = spectra_with("sp-job-id-not-uuid-404").create(notification_end_point=DUMMY, job_id="42")
    assert_error(response, 404, "NotFound")


def test_fault_sp_unknown_job_accepted(spectra_with: Callable[..., Spectra]) -> None:
    job = str(uuid.uuid4())
    assert spectra_with("sp-unknown-job-accepted").register(DUMMY, job_id=job)["JobId"] == job


def test_fault_sp_refused_stored(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-refused-stored")
    assert_error(sp.create(notification_end_point=DUMMY, format="BOGUS"), 400, "BadRequest")
    [stored] = records(sp.list())
    assert stored["Format"] == "DEFAULT" and stored["NotificationEndPoint"] == DUMMY
    assert_error(sp.create(notification_end_point=DUMMY, naming_convention="BOGUS"), 400, "BadRequest")
    assert len(records(sp.list())) == 1


def test_fault_sp_enumeration_case_sensitive(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-enumeration-case-sensitive")
    assert_error(sp.create(notification_end_point=DUMMY, format="json"), 400, "BadRequest")
    assert_error(sp.create(notification_end_point=DUMMY, notification_http_method="Put"), 400, "BadRequest")
    assert sp.register(DUMMY, format="JSON", notification_http_method="PUT")["Format"] == "JSON"


def test_fault_sp_delete_any_user(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-delete-any-user")
    assert sp.delete(sp.register(DUMMY)["Id"], as_="user").status_code == 204


def test_fault_sp_ordinary_all_jobs(spectra_with: Callable[..., Spectra]) -> None:
    assert spectra_with("sp-ordinary-all-jobs").register(DUMMY, as_="user")["UserId"] == USER_ID


def test_fault_sp_unsigned_accepted(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-unsigned-accepted")
    response = httpx.post(sp.base + REG, params={"notification_end_point": DUMMY})
    assert response.status_code == 201 and data(response)["UserId"] == ADMIN_ID
    wrong = httpx.post(sp.base + REG, params={"notification_end_point": DUMMY},
                       headers=_signed_headers("POST", REG, ADMIN[0], "wrong"))
    assert_error(wrong, 403, "Forbidden")


# ------------------------------------------------------------------ delivery faults


def _one_delivery(sp: Spectra, receiver: Receiver, *, cancel: bool = False, status: int = 200,
                  **params: str) -> tuple[Got, str]:
    """Register for one job (bound to it), complete or cancel it, and return the one delivery and the job."""
    bucket = sp.bucket()
    job = sp.start_job(bucket)
    inbox = receiver.mailbox(status=status)
    sp.register(inbox.url, job_id=job, **params)
    if cancel:
        sp.cancel(job)
    else:
        sp.complete(bucket, job)
    [received] = inbox.wait()
    return received, job


def test_fault_sp_dlv_not_on_cancel(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-dlv-not-on-cancel")
    inbox = receiver.mailbox()
    sp.register(inbox.url)
    bucket = sp.bucket()
    sp.run_job(bucket, cancel=True)
    sp.idle()
    assert inbox.got == []
    sp.run_job(bucket)
    assert len(inbox.wait()) == 1


def test_fault_sp_dlv_put_ignored(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    received, _ = _one_delivery(spectra_with("sp-dlv-put-ignored"), receiver, notification_http_method="PUT")
    assert received.method == "POST"


def test_fault_sp_dlv_json_as_xml(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    received, job = _one_delivery(spectra_with("sp-dlv-json-as-xml"), receiver, format="JSON")
    assert received.content_type == "application/xml" and parse_delivery(received).job_id == job


def test_fault_sp_dlv_constant_jobid(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-dlv-constant-jobid")
    received, job = _one_delivery(sp, receiver, naming_convention="CONSTANT", format="JSON")
    event = json.loads(received.body)["NOTIFICATION"]["EVENT"]
    assert list(event) == ["CANCEL_OCCURRED", "JOBID", "NOTIFICATION_GENERATION_DATE", "OBJECTS_NOT_PERSISTED"]
    assert event["JOBID"] == job
    received, _ = _one_delivery(sp, receiver, naming_convention="UNDERSCORED")
    parse_delivery(received, "UNDERSCORED")


def test_fault_sp_dlv_default_convention_lowercase(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-dlv-default-convention-lowercase")
    received, _ = _one_delivery(sp, receiver)
    parse_delivery(received, "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE")
    received, _ = _one_delivery(sp, receiver, naming_convention="CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE")
    parse_delivery(received, "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE")


def test_fault_sp_dlv_json_strings(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    received, _ = _one_delivery(spectra_with("sp-dlv-json-strings"), receiver, cancel=True, format="JSON")
    payload = parse_delivery(received)
    assert payload.cancel == "true" and isinstance(payload.date, int)
    assert {(o["Latest"], o["Length"], o["Offset"]) for o in payload.objects} == {("true", "10", "0"),
                                                                                   ("true", "4", "0")}


def test_fault_sp_dlv_wrong_job_id(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    received, job = _one_delivery(spectra_with("sp-dlv-wrong-job-id"), receiver)
    job_id = parse_delivery(received).job_id
    assert job_id != job and UUID.fullmatch(job_id)


def test_fault_sp_dlv_completed_cancel_true(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    payload = parse_delivery(_one_delivery(spectra_with("sp-dlv-completed-cancel-true"), receiver)[0])
    assert payload.cancel == "true" and payload.objects == []


def test_fault_sp_dlv_cancel_objects_missing(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    payload = parse_delivery(_one_delivery(spectra_with("sp-dlv-cancel-objects-missing"), receiver, cancel=True)[0])
    assert payload.cancel == "true" and payload.objects == []


def test_fault_sp_dlv_job_filter_ignored(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-dlv-job-filter-ignored")
    bucket = sp.bucket()
    job = sp.start_job(bucket)
    inbox = receiver.mailbox()
    sp.register(inbox.url, job_id=job)
    other = sp.run_job(bucket)
    assert parse_delivery(inbox.wait()[0]).job_id == other


@pytest.mark.parametrize("fmt", ["XML", "JSON"])
def test_fault_sp_dlv_page_envelope(spectra_with: Callable[..., Spectra], receiver: Receiver, fmt: str) -> None:
    received, job = _one_delivery(spectra_with("sp-dlv-page-envelope"), receiver, format=fmt,
                                  naming_convention="UNDERSCORED")
    payload = parse_delivery(received, "UNDERSCORED")
    assert payload.envelope == "Payload" and payload.job_id == job


@pytest.mark.parametrize("fmt", ["XML", "JSON"])
def test_fault_sp_dlv_empty_date(spectra_with: Callable[..., Spectra], receiver: Receiver, fmt: str) -> None:
    payload = parse_delivery(_one_delivery(spectra_with("sp-dlv-empty-date"), receiver, format=fmt)[0])
    assert payload.date in ("", None)


def test_fault_sp_dlv_retry_on_error(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-dlv-retry-on-error")
    inbox = receiver.mailbox(status=500)
    sp.register(inbox.url)
    bucket = sp.bucket()
    sp.run_job(bucket)
    assert len(inbox.wait(2)) == 2
    sp.idle()
    assert len(inbox.got) == 2
    answered = receiver.mailbox(status=200)
    sp.register(answered.url)
    sp.run_job(bucket)
    answered.wait()
    sp.idle()
    assert len(answered.got) == 1


# ------------------------------------------------------------------ bookkeeping faults


def _bookkeeping(sp: Spectra, endpoint: str, wait: Callable[[], Any]) -> dict[str, str]:
    registration = sp.register(endpoint)
    sp.run_job(sp.bucket())
    wait()
    sp.idle()
    return data(sp.get(registration["Id"]))


def test_fault_sp_book_no_code(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    inbox = receiver.mailbox()
    after = _bookkeeping(spectra_with("sp-book-no-code"), inbox.url, inbox.wait)
    assert after["LastHttpResponseCode"] == "" and DATE.fullmatch(after["LastNotification"])
    assert after["NumberOfFailuresSinceLastSuccess"] == "0"


def test_fault_sp_book_error_no_code(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    inbox = receiver.mailbox(status=500)
    after = _bookkeeping(spectra_with("sp-book-error-no-code"), inbox.url, inbox.wait)
    assert after["LastHttpResponseCode"] == "" and DATE.fullmatch(after["LastNotification"])


def test_fault_sp_book_error_counted(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    inbox = receiver.mailbox(status=500)
    after = _bookkeeping(spectra_with("sp-book-error-counted"), inbox.url, inbox.wait)
    assert (after["LastHttpResponseCode"], after["NumberOfFailuresSinceLastSuccess"]) == ("500", "1")
    assert after["LastFailure"] and DATE.fullmatch(after["LastNotification"])


def test_fault_sp_book_no_answer_not_counted(spectra_with: Callable[..., Spectra]) -> None:
    after = _bookkeeping(spectra_with("sp-book-no-answer-not-counted"), refused_url(), lambda: None)
    assert (after["NumberOfFailuresSinceLastSuccess"], after["LastFailure"], after["LastHttpResponseCode"]) == (
        "0", "", "")


def _two_deliveries(sp: Spectra, *script: str | int) -> tuple[dict[str, str], dict[str, str]]:
    """The bookkeeping of one registration after a first and a second delivery, answered as `script` says."""
    endpoint = ScriptedEndpoint(*script)
    try:
        first = _bookkeeping(sp, endpoint.url, lambda: endpoint.wait(1))
        sp.run_job(sp.bucket())
        endpoint.wait(2)
        sp.idle()
        [second] = records(sp.list())
        return first, second
    finally:
        endpoint.close()


def test_fault_sp_book_no_reset(spectra_with: Callable[..., Spectra]) -> None:
    first, after = _two_deliveries(spectra_with("sp-book-no-reset"), "reset", 200)
    assert first["NumberOfFailuresSinceLastSuccess"] == "1"
    assert (after["NumberOfFailuresSinceLastSuccess"], after["LastHttpResponseCode"], after["LastFailure"]) == (
        "1", "200", "")


def test_fault_sp_book_failure_kept(spectra_with: Callable[..., Spectra]) -> None:
    first, after = _two_deliveries(spectra_with("sp-book-failure-kept"), "reset", 200)
    assert first["NumberOfFailuresSinceLastSuccess"] == "1" and first["LastFailure"]
    assert (after["NumberOfFailuresSinceLastSuccess"], after["LastHttpResponseCode"]) == ("0", "200")
    assert after["LastFailure"] != ""


def test_fault_sp_userid_of_admin(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-userid-of-admin")
    job = sp.start_job(sp.bucket(), as_="user")
    assert sp.register(DUMMY, as_="user", job_id=job)["UserId"] == ADMIN_ID


def test_user_documents_show_each_users_id(sp: Spectra) -> None:
    for name, user_id in (("admin", ADMIN_ID), ("user", USER_ID)):
        access_id = base64.b64encode(name.encode()).decode()
        for key in (name, access_id, user_id):
            assert data(sp.request("GET", f"/_rest_/user/{key}"))["Id"] == user_id
    assert sp.request("GET", "/_rest_/user/nobody").status_code == 404


def test_blackpearl_user_lookup_takes_a_name_or_an_id_and_the_list_shows_each_auth_id(
        spectra_with: Callable[..., Spectra]) -> None:
    """The blackpearl-users behaviour (NOTES §2.1): an access id answers 404; the list names every user with its Id,
    Name and AuthId (and, as BlackPearl's does, its SecretKey)."""
    sp = spectra_with(behaviours=("blackpearl-users",))
    for name, user_id in (("admin", ADMIN_ID), ("user", USER_ID)):
        access_id = base64.b64encode(name.encode()).decode()
        assert data(sp.request("GET", f"/_rest_/user/{name}"))["Id"] == user_id
        assert data(sp.request("GET", f"/_rest_/user/{user_id}"))["Name"] == name
        assert sp.request("GET", f"/_rest_/user/{access_id}").status_code == 404
    listed = SafeET.fromstring(sp.request("GET", "/_rest_/user", as_="user").content, forbid_dtd=True)
    users = {user.findtext("AuthId"): (user.findtext("Id"), user.findtext("Name")) for user in listed}
    assert users == {ADMIN[0]: (ADMIN_ID, "admin"), USER[0]: (USER_ID, "user")}
    assert listed[0].findtext("SecretKey")


def test_without_a_default_data_policy_a_bucket_needs_one(spectra_with: Callable[..., Spectra]) -> None:
    from conformance.reference.behaviours import DATA_POLICY_ID

    sp = spectra_with(behaviours=("no-default-data-policy",))
    refused = sp.request("POST", "/_rest_/bucket", params={"name": "no-policy"})
    assert refused.status_code == 400 and b"data policy" in refused.content
    assert sp.request("POST", "/_rest_/bucket", params={"name": "p", "data_policy_id": DATA_POLICY_ID}
                      ).status_code == 201
    assert sp.request("POST", "/_rest_/bucket", params={"name": "q", "data_policy_id": "nope"}).status_code == 404
    assert sp.server.target_data()["spectra"]["data_policy_id"] == DATA_POLICY_ID


def test_a_busy_cache_answers_an_objects_first_put_503_with_retry_after(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with(behaviours=("cache-busy",))
    bucket = sp.bucket()
    job = sp.start_job(bucket, objects={"o1": b"x"})
    busy = sp.put(bucket, "o1", job, b"x")
    assert (busy.status_code, busy.headers["Retry-After"], data(busy)["Code"]) == (503, "1", "ServiceUnavailable")
    assert sp.put(bucket, "o1", job, b"x").status_code == 200 and sp.job_status(job) == "COMPLETED"


def test_fault_sp_dlv_owner_ignored(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-dlv-owner-ignored")
    inbox = receiver.mailbox()
    sp.register(inbox.url)  # the administrator's, for all jobs
    theirs = sp.run_job(sp.bucket(), as_="user")
    assert parse_delivery(inbox.wait()[0]).job_id == theirs


def test_fault_sp_dlv_date_local_time(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    before = datetime.now(UTC)
    payload = parse_delivery(_one_delivery(spectra_with("sp-dlv-date-local-time"), receiver)[0])
    written = datetime.fromisoformat(payload.date.replace("Z", "+00:00"))
    assert timedelta(hours=4) < before - written < timedelta(hours=6)


def test_fault_sp_gen_payload_reused(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    sp = spectra_with("sp-gen-payload-reused")
    inbox = receiver.mailbox()
    sp.register(inbox.url)
    first = sp.run_job(sp.bucket())
    inbox.wait()
    sp.run_job(sp.bucket(), cancel=True)
    assert [(parse_delivery(got).job_id, parse_delivery(got).cancel) for got in inbox.wait(2)] == [
        (first, "false"), (first, "false")]


def test_fault_sp_book_error_epoch_date(spectra_with: Callable[..., Spectra], receiver: Receiver) -> None:
    inbox = receiver.mailbox(status=500)
    after = _bookkeeping(spectra_with("sp-book-error-epoch-date"), inbox.url, inbox.wait)
    assert (after["LastHttpResponseCode"], after["LastNotification"]) == ("500", "1970-01-01T00:00:00.000Z")


def test_fault_sp_paging_total_of_page(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-paging-total-of-page")
    sp.register(DUMMY), sp.register(DUMMY)
    assert sp.list(page_length="1").headers["Total-Result-Count"] == "1"


def test_fault_sp_gen_endpoint_query_dropped(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-gen-endpoint-query-dropped")
    assert sp.register("http://x.invalid/a?b=c")["NotificationEndPoint"] == "http://x.invalid/a"


def test_fault_sp_gen_endpoint_cut(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-gen-endpoint-cut")
    assert len(sp.register("http://x.invalid/" + "x" * 2000)["NotificationEndPoint"]) == 1024


def test_fault_sp_gen_mixed_case_refused(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-gen-mixed-case-refused")
    assert sp.register(DUMMY, format="json", notification_http_method="Put")["Format"] == "JSON"
    assert_error(sp.create(notification_end_point=DUMMY, format="jSoN"), 400, "BadRequest")


def test_fault_sp_gen_empty_job_id_refused(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-gen-empty-job-id-refused")
    assert sp.register(DUMMY)["JobId"] == ""
    assert_error(sp.create(notification_end_point=DUMMY, job_id=""), 400, "BadRequest")


def test_fault_sp_gen_paging_past_end_500(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-gen-paging-past-end-500")
    sp.register(DUMMY)
    assert sp.list(page_length="1", page_offset="1").status_code == 200
    assert sp.list(page_length="1", page_offset="2").status_code == 500


def test_fault_sp_gen_failure_keeps_code(spectra_with: Callable[..., Spectra]) -> None:
    first, after = _two_deliveries(spectra_with("sp-gen-failure-keeps-code"), 202, "reset")
    assert first["LastHttpResponseCode"] == "202"
    assert (after["NumberOfFailuresSinceLastSuccess"], after["LastHttpResponseCode"]) == ("1", "202")
    assert after["LastFailure"]


def test_fault_sp_gen_failures_not_summed(spectra_with: Callable[..., Spectra]) -> None:
    sp = spectra_with("sp-gen-failures-not-summed")
    after = _bookkeeping(sp, refused_url(), lambda: None)
    assert (after["NumberOfFailuresSinceLastSuccess"], after["LastHttpResponseCode"]) == ("1", "")
    sp.run_job(sp.bucket())
    sp.idle()
    [after] = records(sp.list())
    assert after["NumberOfFailuresSinceLastSuccess"] == "1" and after["LastFailure"]


def test_every_spectra_fault_has_a_test_here() -> None:
    source = Path(__file__).read_text()
    untested = [name for name, fault in FAULTS.items()
                if fault.protocol == "spectra" and f"test_fault_{name.replace('-', '_')}(" not in source]
    assert untested == []
    assert len([fault for fault in FAULTS.values() if fault.protocol == "spectra"]) == 57
