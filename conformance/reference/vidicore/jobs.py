"""The job engine of the reference VidiCore server: import jobs, their scheduler, and the deliveries of
http-action notifications when a job event fires (NOTES §1.5, §1.6).

- `Job`: one PLACEHOLDER_IMPORT job and its JobDocument (XML and JSON).
- `JobEngine`: the jobs of one app (behind `app.lock`), a scheduler thread (started with the first job) that moves
  each job READY -> STARTED -> FINISHED (its file: URI is readable) or FAILED_TOTAL; which notifications fire for
  an event and the SimpleMetadataDocument they carry; and the request each delivery makes (method, contentType,
  retry, timeout), handed to the shared `conformance.reference.dispatch.Dispatcher`. Synchronous actions are
  delivered in the thread that fired the event; the others on the dispatcher's pool, so they never hold up an API
  answer or the scheduler.
- `wait_idle(timeout)`: True once no job step is scheduled and no delivery is left to make.
- `close()` stops everything within milliseconds, even while a delivery waits on a slow receiver (its socket is
  shut down).

Events and their `action` value: create (CREATE), update (UPDATE, every status change), finished and fail (STOP),
stop (STOP, on any final state). The faults of deliveries (`conformance.reference.faults`, all named dlv-*) are
settings of the app's `VidiCoreBehaviour`, read at the one spot each bug lives.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ..dispatch import Dispatcher, Outbound
from .behaviour import VidiCoreBehaviour
from .documents import Node, payload_json, payload_xml, xml_bytes, xml_root
from .store import Notification, Store

JOB_TYPE = "PLACEHOLDER_IMPORT"
READY, STARTED, FINISHED, FAILED_TOTAL, ABORTED = "READY", "STARTED", "FINISHED", "FAILED_TOTAL", "ABORTED"
FINAL_STATES = frozenset({FINISHED, FAILED_TOTAL, ABORTED})
EVENT_ACTIONS = {"create": "CREATE", "update": "UPDATE", "finished": "STOP", "fail": "STOP", "stop": "STOP"}

DEFAULT_TIMEOUT = 10.0   # seconds, an http action without timeout
NO_TIMEOUT = 60.0        # seconds, timeout "none" or 0 (an attempt still ends some time)
RETRY_PAUSE = 0.05       # seconds between attempts

_ENGINES = itertools.count(1)


def now_iso() -> str:
    """The current time, ISO-8601 UTC with milliseconds and Z: 2024-05-01T10:00:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def readable(uri: str) -> bool:
    """Whether an import of `uri` succeeds: a file: URI naming an existing, readable regular file."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not parts.path:
        return False
    path = url2pathname(parts.path)
    return os.path.isfile(path) and os.access(path, os.R_OK)


# ================================================================== jobs


@dataclass
class Job:
    """One import job. The engine's own instances change under `app.lock`; callers get copies."""

    id: str
    user: str
    item: str
    uri: str
    notification: str | None  # the placeholder notification it was started with
    jobmetadata: dict[str, str]
    started: str
    status: str = READY
    type: str = JOB_TYPE
    events: int = 0  # events fired so far: the next event's sequenceNumber

    def snapshot(self) -> Job:
        return replace(self, jobmetadata=dict(self.jobmetadata))

    def _values(self) -> list[tuple[str, str]]:
        return [("jobId", self.id), ("user", self.user), ("started", self.started), ("status", self.status),
                ("type", self.type), ("priority", "MEDIUM")]

    def _data(self) -> list[tuple[str, str]]:
        return [("itemId", self.item), *self.jobmetadata.items()]

    def xml(self) -> bytes:
        """The JobDocument: jobId, user, started, status, type, priority, then one data per key/value."""
        root = xml_root("JobDocument", True)
        for name, value in self._values():
            ET.SubElement(root, name).text = value
        for key, value in self._data():
            data = ET.SubElement(root, "data")
            ET.SubElement(data, "key").text = key
            ET.SubElement(data, "value").text = value
        return xml_bytes(root)

    def json(self) -> dict[str, Any]:
        return {**dict(self._values()), "data": [{"key": key, "value": value} for key, value in self._data()]}


# ================================================================== deliveries

Fields = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Delivery:
    """One firing notification for one event: its action as it was at event time, and the payload fields."""

    notification_id: str
    action: Node
    fields: Fields

    @property
    def synchronous(self) -> bool:
        return self.action.attrs.get("synchronous") == "true"


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _timeout(text: str | None) -> float:
    if text is None:
        return DEFAULT_TIMEOUT
    if text.strip().lower() == "none":
        return NO_TIMEOUT
    seconds = _int(text, int(DEFAULT_TIMEOUT))
    return float(seconds) if seconds > 0 else NO_TIMEOUT


def _matches(exact: str | None, pattern: str | None, text: str) -> bool:
    if exact is not None and text != exact:
        return False
    if pattern is not None:
        try:
            return re.fullmatch(pattern, text) is not None
        except re.error:
            return False
    return True


def jobdata_matches(jobdata: Node, metadata: Mapping[str, str]) -> bool:
    """filter/jobdata: some jobmetadata entry matches key / value exactly and key-regex / value-regex in full."""
    key, key_regex = jobdata.value("key"), jobdata.value("key-regex")
    value, value_regex = jobdata.value("value"), jobdata.value("value-regex")
    return any(_matches(key, key_regex, k) and _matches(value, value_regex, v) for k, v in metadata.items())


# ================================================================== the engine


class Host(Protocol):
    """What the engine needs of its app: the store, the lock guarding it, its behaviour, and the notifications an
    event may fire (call with the lock held)."""

    lock: threading.RLock
    store: Store
    behaviour: VidiCoreBehaviour

    def dispatchable(self) -> list[Notification]: ...


class JobEngine:
    """Jobs, their scheduler and the deliveries of one VidiCoreApp.

    Job state and the notifications it reads sit behind `app.lock`; the schedule behind its own condition
    (always taken after `app.lock`, never before it). `pending` counts the job steps still scheduled (each fires
    events) with the deliveries in progress, so `wait_idle` knows when nothing more can be sent.
    """

    def __init__(self, app: Host, ready_seconds: float = 0.1, run_seconds: float = 0.05) -> None:
        self.app = app
        self.behaviour = app.behaviour
        self._actions = {**EVENT_ACTIONS, "create": self.behaviour.create_action, "stop": self.behaviour.stop_action}
        self.ready_seconds = ready_seconds
        self.run_seconds = run_seconds
        self.jobs: dict[str, Job] = {}
        self.stop_event = threading.Event()
        self.thread_name = f"vidicore-jobs-{next(_ENGINES)}"  # its threads' names start with this
        self.dispatcher = Dispatcher(self.thread_name)
        self.pending = self.dispatcher.pending
        self._schedule: list[tuple[float, int, str]] = []  # heap of (due, order, job id)
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._scheduler: threading.Thread | None = None

    # -------------------------------------------------------------- the API's operations

    def start(self, user: str, item: str, uri: str, notification: str | None,
              jobmetadata: Mapping[str, str]) -> Job:
        """A new READY job (its create event fired in this thread); a copy of it."""
        with self.pending.holding():
            with self.app.lock:
                job = Job(self.app.store.new_id(), user, item, uri, notification, dict(jobmetadata), now_iso())
                self.jobs[job.id] = job
                self.app.store.entities["job"].add(job.id)  # so job/{id}/notification exists
                deliveries = self._event(job, "create")
                answer = job.snapshot()
            self._schedule_step(job.id, self.ready_seconds)
            self._dispatch(deliveries)
        return answer

    def get(self, job_id: str) -> Job | None:
        with self.app.lock:
            job = self.jobs.get(job_id)
            return None if job is None else job.snapshot()

    def abort(self, job_id: str) -> Job | None:
        """READY or STARTED -> ABORTED (its scheduled steps cancelled); a final job stays as it is."""
        with self.pending.holding():
            with self.app.lock:
                job = self.jobs.get(job_id)
                if job is None:
                    return None
                deliveries: list[Delivery] = []
                if job.status not in FINAL_STATES:
                    job.status = ABORTED
                    deliveries = self._event(job, "update") + self._event(job, "stop")
                answer = job.snapshot()
            with self._condition:
                kept = [entry for entry in self._schedule if entry[2] != job_id]
                cancelled = len(self._schedule) - len(kept)
                self._schedule = kept
                heapq.heapify(self._schedule)
            self.pending.done(cancelled)
            self._dispatch(deliveries)
        return answer

    def wait_idle(self, timeout: float) -> bool:
        """True as soon as no job step is scheduled and no delivery is queued, being sent or between attempts."""
        return self.pending.wait_idle(timeout)

    def close(self) -> None:
        """Stop the scheduler, interrupt deliveries in progress, drop queued ones. Quick and idempotent."""
        self.stop_event.set()
        with self._condition:
            self._condition.notify_all()
        self.dispatcher.close()
        scheduler = self._scheduler
        if scheduler is not None and scheduler is not threading.current_thread():
            scheduler.join(timeout=0.1)

    # -------------------------------------------------------------- the scheduler

    def _schedule_step(self, job_id: str, delay: float) -> None:
        with self._condition:
            if self.stop_event.is_set():
                return
            heapq.heappush(self._schedule, (time.monotonic() + delay, next(self._order), job_id))
            self.pending.add()  # done once the step has run (or was cancelled)
            if self._scheduler is None:
                self._scheduler = threading.Thread(target=self._run, name=f"{self.thread_name}-scheduler",
                                                   daemon=True)
                self._scheduler.start()
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while True:
                    if self.stop_event.is_set():
                        return
                    now = time.monotonic()
                    if self._schedule and self._schedule[0][0] <= now:
                        job_id = heapq.heappop(self._schedule)[2]
                        break
                    self._condition.wait(self._schedule[0][0] - now if self._schedule else None)
            try:
                self._step(job_id)
            finally:
                self.pending.done()

    def _step(self, job_id: str) -> None:
        """The job's next status change: READY -> STARTED, or STARTED -> its final state."""
        with self.app.lock:
            job = self.jobs.get(job_id)
            if job is None or job.status not in (READY, STARTED):
                return  # aborted meanwhile
            if job.status == READY:
                job.status = STARTED
                deliveries = self._event(job, "update")
            else:
                deliveries = self._finish(job)
            again = job.status == STARTED
        if again:
            self._schedule_step(job_id, self.run_seconds)
        self._dispatch(deliveries)

    def _finish(self, job: Job) -> list[Delivery]:
        """STARTED -> FINISHED or FAILED_TOTAL, and its events (call with app.lock held)."""
        final = FINISHED if readable(job.uri) else FAILED_TOTAL
        seen = job.status if self.behaviour.finished_status_read_early else final  # the bug: read too early
        job.status = final
        deliveries = self._event(job, "update")
        if final == FINISHED:
            deliveries += self._event(job, "finished", status=seen)
        else:
            deliveries += self._event(job, "fail", status=self.behaviour.fail_status)
        return deliveries + self._event(job, "stop")

    # -------------------------------------------------------------- events: what fires, with what

    def _event(self, job: Job, event: str, *, status: str | None = None) -> list[Delivery]:
        """The deliveries event `event` of `job` causes (call with app.lock held): notifications as they are now."""
        sequence = job.events
        job.events += 1
        fields = self._fields(job, event, sequence, status or job.status)
        return [Delivery(notification.id, copy.deepcopy(notification.document.action), fields)
                for notification in self.app.dispatchable() if self._fires(notification, job, event)]

    def _fields(self, job: Job, event: str, sequence: int, status: str) -> Fields:
        behaviour = self.behaviour
        fields = [("jobId", job.id + behaviour.payload_job_id_suffix), ("status", status), ("type", job.type),
                  ("action", self._actions[event])]
        if behaviour.payload_user:
            fields.append(("user", behaviour.payload_user_name or job.user))
        started = job.started
        if behaviour.started_offset_hours:  # the job's local start time written as UTC
            moment = datetime.fromisoformat(started) + timedelta(hours=behaviour.started_offset_hours)
            started = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        fields += [("started", started), ("sequenceNumber", str(sequence)), ("totalSteps", "1"),
                   ("currentStepNumber", "1"), ("currentStepStatus", status)]
        if behaviour.payload_item_and_metadata:
            fields += [("itemId", job.id if behaviour.payload_item_is_job else job.item), *job.jobmetadata.items()]
        return tuple(fields)

    def _fires(self, notification: Notification, job: Job, event: str) -> bool:
        document = notification.document
        return (document.action_kind == "http" and document.trigger_entity == "job"
                and document.trigger_event == event and self._in_scope(notification, job)
                and self._filter_matches(document.trigger, job))

    def _in_scope(self, notification: Notification, job: Job) -> bool:
        entity, entity_id = notification.scope.entity, notification.scope.entity_id
        if entity is None:  # the placeholder resource: only jobs started with notification=<its id>
            return job.notification == notification.id or self.behaviour.placeholder_fires_for_every_job
        if entity not in ("job", "item"):
            return False
        if entity_id is None:  # the whole resource: every job
            return True
        if entity == "job":
            return entity_id == job.id
        if self.behaviour.item_scope_any_item:  # the bug: any existing item will do
            return self.app.store.entity_exists("item", job.item)
        return entity_id == job.item

    def _filter_matches(self, trigger: Node, job: Job) -> bool:
        job_filter = trigger.child("filter")
        if job_filter is None:
            return True
        wanted_type = job_filter.value("type")
        if wanted_type and wanted_type != job.type and self.behaviour.type_filter_applied:
            return False
        jobdata = job_filter.child("jobdata")
        return jobdata is None or jobdata_matches(jobdata, job.jobmetadata)

    # -------------------------------------------------------------- delivery

    def _dispatch(self, deliveries: list[Delivery]) -> None:
        """Synchronous deliveries now, in this thread, one after another; the others on the dispatcher's pool."""
        for delivery in deliveries:
            if self.stop_event.is_set():
                return
            self.dispatcher.send(self._outbound(delivery))

    def _outbound(self, delivery: Delivery) -> Outbound:
        """The request(s) a delivery makes, from its action: url, method, contentType, retry, timeout."""
        action, behaviour = delivery.action, self.behaviour
        method = behaviour.delivery_method or action.value("method") or behaviour.default_delivery_method
        content_type = action.value("contentType") or behaviour.default_delivery_content_type
        if content_type.split(";")[0].strip().lower() == "application/json":
            body = payload_json(delivery.fields, wrapped=behaviour.payload_json_wrapped)
        else:
            body = payload_xml(delivery.fields, namespace=behaviour.payload_xml_namespace)
        retry = max(0, _int(action.value("retry"), 0))
        retries = retry
        if behaviour.max_retries is not None:
            retries = min(retries, behaviour.max_retries)
        # extra attempts: more than 1 + retry when every attempt fails; a success still ends them
        attempts = 1 + retries + behaviour.extra_attempts
        timeout = _timeout(action.value("timeout")) if behaviour.timeout_applied else NO_TIMEOUT
        headers = {"Content-Type": behaviour.delivery_content_type or content_type, "Connection": "close",
                   "User-Agent": "vidicore-reference"}
        return Outbound(action.value("url") or "", method, headers, body, attempts=attempts, timeout=timeout,
                        pause=RETRY_PAUSE, synchronous=delivery.synchronous,
                        final_statuses=frozenset(s for s in (behaviour.unretried_status,) if s is not None),
                        rounds=behaviour.rounds_without_retry if retry == 0 else 1)
