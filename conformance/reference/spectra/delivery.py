"""Deliveries of the reference Spectra S3 server (NOTES §2.4): the job-completed payload and its dispatcher.

- `convert(name, convention)`: BlackPearl's naming conventions, applied to every element, attribute and key
  name of a delivered document (never to values). Written here independently of the suite's own converter.
- `render(completion, format, convention, faults)`: the delivered body and its Content-Type, XML or JSON, in
  BlackPearl's envelope `Notification` holding `Event` (the payload) and `Type`.
- `Dispatcher`: sends each delivery once (no retry), asynchronously on a thread pool, over stdlib http.client,
  and reports every attempt's outcome (an HTTP status, or a one-line reason when no answer came) to the app,
  which keeps the registration's bookkeeping.

Faults (see `conformance.reference.faults`) that live in the payload or the sending are tested here.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

CONVENTIONS = (
    "CONCAT_LOWERCASE",
    "CONSTANT",
    "UNDERSCORED",
    "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE",
    "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE",
)
DEFAULT_CONVENTION = "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE"
FORMATS = ("DEFAULT", "JSON", "XML")
PAYLOAD_TYPE = "JobCompletedNotificationPayload"
DELIVERY_TIMEOUT = 10.0  # seconds for one attempt (connect, send, answer)
MAX_ANSWER_BYTES = 64 * 1024  # the receiver's answer body is read up to this and discarded
MAX_WORKERS = 8

# ================================================================== naming conventions


def words(name: str) -> list[str]:
    """The words of a CamelCase name: a new word starts at each upper-case letter; digits never start one;
    a name with no lower-case letter is one word."""
    if not any(char.islower() for char in name):
        return [name] if name else []
    found: list[str] = []
    for char in name:
        if char.isupper() or not found:
            found.append(char)
        else:
            found[-1] += char
    return found


def convert(name: str, convention: str) -> str:
    """`name`, written in CamelCase with the first letter upper-case, in `convention` (one of CONVENTIONS)."""
    lowered = [word.lower() for word in words(name)]
    if convention == "UNDERSCORED":
        return "_".join(lowered)
    if convention == "CONSTANT":
        return "_".join(lowered).upper()
    if convention == "CONCAT_LOWERCASE":
        return "".join(lowered)
    if convention == "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE":
        return name[:1].upper() + name[1:]
    if convention == "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE":
        return name[:1].lower() + name[1:]
    raise ValueError(f"unknown naming convention {convention!r}")


# ================================================================== the payload


@dataclass(frozen=True)
class Blob:
    """One blob of a job's object (this server makes one blob per object, at offset 0)."""

    id: str
    name: str
    length: int
    version_id: str
    offset: int = 0
    latest: bool = True


@dataclass(frozen=True)
class Completion:
    """What a delivery reports: the job that completed, whether by cancel, and the blobs never persisted."""

    job_id: str
    cancel_occurred: bool
    objects_not_persisted: tuple[Blob, ...]
    generated: datetime  # NotificationGenerationDate (UTC)


def iso_millis(moment: datetime) -> str:
    """yyyy-MM-ddTHH:mm:ss.SSSZ in UTC."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def render(completion: Completion, fmt: str, convention: str, faults: frozenset[str] = frozenset()
           ) -> tuple[str, bytes]:
    """The delivered (Content-Type, body): JSON for format JSON, XML for XML and DEFAULT."""
    def name(canonical: str) -> str:
        if canonical == "JobId" and convention == "CONSTANT" and "sp-dlv-constant-jobid" in faults:
            return "JOBID"
        return convert(canonical, convention)

    job_id = str(uuid.uuid4()) if "sp-dlv-wrong-job-id" in faults else completion.job_id
    cancel = completion.cancel_occurred or "sp-dlv-completed-cancel-true" in faults
    blobs = completion.objects_not_persisted
    if completion.cancel_occurred and "sp-dlv-cancel-objects-missing" in faults:
        blobs = ()
    # (outer name, inner name): BlackPearl's Notification/Event + Type, or the page's Name + Payload
    page = "sp-dlv-page-envelope" in faults
    if fmt == "JSON" and "sp-dlv-json-as-xml" not in faults:
        strings = "sp-dlv-json-strings" in faults

        def typed(value: bool | int) -> Any:
            if not strings:
                return value
            return ("true" if value else "false") if isinstance(value, bool) else str(value)

        date: int | None = None if "sp-dlv-empty-date" in faults else epoch_millis(completion.generated)
        payload = {
            name("CancelOccurred"): typed(cancel),
            name("JobId"): job_id,
            name("NotificationGenerationDate"): date,
            name("ObjectsNotPersisted"): [
                {name("Id"): blob.id, name("Latest"): typed(blob.latest), name("Length"): typed(blob.length),
                 name("Name"): blob.name, name("Offset"): typed(blob.offset), name("VersionId"): blob.version_id}
                for blob in blobs
            ],
        }
        if page:
            envelope = {name("Name"): PAYLOAD_TYPE, name("Payload"): payload}
        else:
            envelope = {name("Event"): payload, name("Type"): PAYLOAD_TYPE}
        return "application/json", json.dumps({name("Notification"): envelope}).encode("utf-8")

    root = ET.Element(name("Notification"))
    if page:
        ET.SubElement(root, name("Name")).text = PAYLOAD_TYPE
    event = ET.SubElement(root, name("Payload" if page else "Event"))
    ET.SubElement(event, name("CancelOccurred")).text = "true" if cancel else "false"
    ET.SubElement(event, name("JobId")).text = job_id
    date_element = ET.SubElement(event, name("NotificationGenerationDate"))
    if "sp-dlv-empty-date" not in faults:
        date_element.text = iso_millis(completion.generated)
    holder = ET.SubElement(event, name("ObjectsNotPersisted"))
    for blob in blobs:
        ET.SubElement(holder, name("Object"), {
            name("Id"): blob.id, name("Latest"): "true" if blob.latest else "false", name("Length"): str(blob.length),
            name("Name"): blob.name, name("Offset"): str(blob.offset), name("VersionId"): blob.version_id,
        })
    if not page:
        ET.SubElement(root, name("Type")).text = PAYLOAD_TYPE
    return "application/xml", ET.tostring(root, encoding="UTF-8", xml_declaration=True)


# ================================================================== sending


@dataclass(frozen=True)
class Delivery:
    """One request to send: a copy of the registration's settings taken when the job completed."""

    registration_id: str
    endpoint: str
    method: str
    content_type: str
    body: bytes
    remove_after: bool = False  # a registration bound to the completed job goes after its delivery


@dataclass(frozen=True)
class Outcome:
    """One attempt: `status` is the HTTP answer's status, or None when no answer came (then `failure` says why)."""

    status: int | None
    failure: str
    finished: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Dispatcher:
    """Sends deliveries on a lazily made thread pool: never in the thread that submits them.

    `on_outcome(delivery, outcome)` is called after every attempt, `on_done(delivery)` once after the last.
    `wait_idle(timeout)` waits until nothing is queued or being sent (for tests). `close()` is idempotent and
    quick: it cancels queued deliveries and cuts the connections of those being sent.
    """

    def __init__(self, on_outcome: Callable[[Delivery, Outcome], None], on_done: Callable[[Delivery], None],
                 faults: Iterable[str] = (), timeout: float = DELIVERY_TIMEOUT) -> None:
        self.faults = frozenset(faults)
        self.timeout = timeout
        self._on_outcome = on_outcome
        self._on_done = on_done
        self._condition = threading.Condition()
        self._pending = 0
        self._closed = False
        self._pool: ThreadPoolExecutor | None = None
        self._connections: set[http.client.HTTPConnection] = set()

    def submit(self, delivery: Delivery) -> None:
        with self._condition:
            if self._closed:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="spectra-delivery")
            self._pending += 1
            self._pool.submit(self._run, delivery)

    def wait_idle(self, timeout: float) -> bool:
        """True once no delivery is pending (all attempts and their bookkeeping done); False after `timeout`."""
        with self._condition:
            return self._condition.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        with self._condition:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
            connections = list(self._connections)
        for connection in connections:
            sock = connection.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        with self._condition:
            self._pending = 0
            self._condition.notify_all()

    def _run(self, delivery: Delivery) -> None:
        try:
            outcome = self._attempt(delivery)
            self._on_outcome(delivery, outcome)
            if outcome.status is not None and not outcome.success and "sp-dlv-retry-on-error" in self.faults:
                self._on_outcome(delivery, self._attempt(delivery))
            self._on_done(delivery)
        finally:
            with self._condition:
                self._pending = max(0, self._pending - 1)
                self._condition.notify_all()

    def _attempt(self, delivery: Delivery) -> Outcome:
        method = "POST" if "sp-dlv-put-ignored" in self.faults else delivery.method
        try:
            parts = urlsplit(delivery.endpoint)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                return Outcome(None, f"unsupported notification end point {delivery.endpoint!r}")
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connection = kind(parts.hostname, parts.port, timeout=self.timeout)
        except ValueError as error:  # a port that is not a number
            return Outcome(None, f"bad notification end point {delivery.endpoint!r}: {error}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with self._condition:
            if self._closed:
                return Outcome(None, "the server is shutting down")
            self._connections.add(connection)
        try:
            connection.request(method, target, body=delivery.body, headers={"Content-Type": delivery.content_type})
            response = connection.getresponse()
            response.read(MAX_ANSWER_BYTES)
            return Outcome(response.status, "")
        except (OSError, http.client.HTTPException) as error:
            reason = " ".join(f"{type(error).__name__}: {error}".split())
            return Outcome(None, f"no answer from {delivery.endpoint}: {reason}")
        finally:
            connection.close()
            with self._condition:
                self._connections.discard(connection)
