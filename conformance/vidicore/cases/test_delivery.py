"""Deliveries: real job events on the server, captured by the receiver and judged (NOTES §1.5-1.6).

Each case registers notifications with their own callback path (a mailbox), most of them on an item the case
created, so every delivery on that path belongs to the case's own jobs. "Nothing arrives" is always shown
next to a control notification that did receive the event, so silence means the rule held, not that the
job never ran.
"""

from __future__ import annotations

import pytest

from conformance.judging import json_body, judged
from conformance.receiver import Answer, Delivery, Mailbox
from conformance.validation import parse_date, parse_json
from conformance.vidicore import documents
from conformance.vidicore.cases.support import setup_create
from conformance.vidicore.client import Bound, Form
from conformance.vidicore.triggers import FINAL_STATES, JOB_TYPE, Job

pytestmark = pytest.mark.area("delivery")

requirement = pytest.mark.requirement
MUST_KEYS = ("jobId", "status", "type", "action", "user")
SHOULD_KEYS = ("started", "sequenceNumber", "totalSteps", "currentStepNumber", "currentStepStatus", "itemId")
EVENT_REQUIREMENT = {"finished": "VC-DLV-FINISHED", "fail": "VC-DLV-FAIL", "stop": "VC-DLV-STOP",
                     "create": "VC-DLV-CREATE"}


def notify(check, vc, bound: Bound, mailbox: Mailbox, event: str = "finished", *, filter_type: str | None = JOB_TYPE,
           **fields: str) -> str:
    """Register an http-action notification on `bound` delivering to `mailbox`; returns its id."""
    action = {"url": mailbox.url, "extradata": vc.run_id, **fields}
    extras = {"filter": {"type": filter_type}} if filter_type else {}
    return setup_create(check, vc, bound, documents.notification("http", action, "job", event, extras))


def payload(check, delivery: Delivery) -> dict[str, str]:
    """The delivered SimpleMetadataDocument as key -> value, judged under VC-DLV-XSD / VC-DLV-JSON."""
    as_json = json_body(delivery.body)  # the form is judged by the body: the header is VC-DLV-CONTENT-TYPE's
    requirement_id = "VC-DLV-JSON" if as_json else "VC-DLV-XSD"
    media = "application/json" if as_json else "application/xml"
    decoded = judged(check, requirement_id, lambda: documents.decode(delivery.body, media, "SimpleMetadataDocument"),
                     f"the delivered SimpleMetadataDocument ({'JSON' if as_json else 'XML'})")
    if as_json:
        raw = parse_json(delivery.body).get("field", [])
        loose = [f for f in raw
                 if not isinstance(f, dict) or not all(isinstance(f.get(k), str) for k in ("key", "value"))]
        check("VC-DLV-JSON", not loose, f"JSON fields whose key/value are not strings: {loose[:3]}")
    fields = decoded.tree.get("field", [])
    return {str(f.get("key")): str(f.get("value", "")) for f in fields if isinstance(f, dict)}


def arrived(check, requirement_id: str, mailbox: Mailbox, count: int, deadline: float,
            what: str) -> list[Delivery]:
    got = mailbox.wait_for(count, within=deadline)
    check(requirement_id, len(got) >= count,
          f"{what}: {len(got)} of {count} deliveries arrived at {mailbox.url} in time (deadline {deadline:g} s)")
    return got


def judge_job(check, fields: dict[str, str], job: Job) -> None:
    missing = [k for k in MUST_KEYS if k not in fields]
    check("VC-DLV-KEYS", not missing, f"the delivery lacks {missing} (it has {sorted(fields)})")
    check("VC-DLV-JOB", fields.get("jobId") == job.job_id and fields.get("type") == job.type,
          f"the delivery names job {fields.get('jobId')!r} of type {fields.get('type')!r}; "
          f"the suite's job is {job.job_id!r} of type {job.type!r}")
    if job.user is not None and "user" in fields:  # a start_command's job runs as whoever it runs as
        check("VC-DLV-JOB", fields["user"] == job.user,
              f"the delivery names user {fields['user']!r}; the job was started by {job.user!r}")


def should_values(fields: dict[str, str], job: Job, metadata: dict[str, str]) -> list[str]:
    """What the SHOULD keys that are there say wrong: itemId not the job's item, a jobmetadata value not the one
    given, started (when it reads as a date) before the job was started, by the server's clock."""
    wrong = []
    if "itemId" in fields and fields["itemId"] != job.item_id:
        wrong.append(f"itemId is {fields['itemId']!r}, the job's item is {job.item_id!r}")
    wrong += [f"jobmetadata {key} is {fields[key]!r}, given {value!r}" for key, value in metadata.items()
              if key in fields and fields[key] != value]
    started = parse_date(fields.get("started", ""))
    if started is not None and job.started is not None and started < job.started:
        wrong.append(f"started {fields['started']!r} is before the job was started "
                     f"({job.started.isoformat(timespec='seconds')} or later by the server's clock)")
    return wrong


@pytest.fixture
def item(check, jobs) -> Bound:
    """A fresh item of the case's own, and its single-entity notification form."""
    return Bound(Form("item", single=True), jobs.create_item(check))


@pytest.mark.parametrize("event", [pytest.param(e, marks=requirement(r)) for e, r in EVENT_REQUIREMENT.items()])
@requirement("VC-DLV-XSD", "VC-DLV-JSON", "VC-DLV-KEYS", "VC-DLV-JOB", "VC-DLV-SHOULD-KEYS")
def test_job_event(check, vc, jobs, receiver, delivery, item, event):
    mailbox = receiver.mailbox(f"event-{event}")
    notify(check, vc, item, mailbox, event)
    metadata = {"conformance": vc.run_id}
    job = jobs.start(check, item.entity_id, readable=event != "fail", jobmetadata=metadata)
    if event == "stop":
        jobs.abort(check, job)
    requirement_id = EVENT_REQUIREMENT[event]
    (first, *_) = arrived(check, requirement_id, mailbox, 1, delivery.deadline, f"job {event}")
    fields = payload(check, first)
    judge_job(check, fields, job)
    status, action = fields.get("status"), fields.get("action")
    if event == "finished":
        check(requirement_id, status == "FINISHED", f"a finished delivery says status {status!r}")
    elif event == "fail":
        check(requirement_id, status == "FAILED_TOTAL", f"a fail delivery says status {status!r}")
    elif event == "stop":
        check(requirement_id, status in FINAL_STATES and action == "STOP",
              f"a stop delivery says status {status!r}, action {action!r}; expected a final state and STOP")
    else:
        check(requirement_id, action == "CREATE" and status in ("READY", "STARTED", *FINAL_STATES),
              f"a create delivery says status {status!r}, action {action!r}; expected READY or later and CREATE")
    missing = [k for k in (*SHOULD_KEYS, *metadata) if k not in fields]
    check("VC-DLV-SHOULD-KEYS", not missing, f"the delivery lacks {missing}")
    wrong = should_values(fields, job, metadata)
    check("VC-DLV-SHOULD-KEYS", not wrong, "; ".join(wrong))


@requirement("VC-DLV-ONCE")
def test_one_request_per_event(check, vc, jobs, receiver, delivery, item):
    mailbox = receiver.mailbox("once")
    notify(check, vc, item, mailbox)
    jobs.start(check, item.entity_id)
    first = mailbox.wait_for(1, within=delivery.deadline)
    check.precondition(len(first) >= 1, "the finished delivery did not arrive (judged under VC-DLV-FINISHED)")
    every = mailbox.quiet(within=delivery.quiet_window)
    check("VC-DLV-ONCE", len(every) == 1, f"{len(every) - 1} more request(s) for the same event arrived")


@pytest.mark.parametrize("method", ["POST", "PUT"])
@requirement("VC-DLV-METHOD")
def test_method(check, vc, jobs, receiver, delivery, item, method):
    mailbox = receiver.mailbox(f"method-{method}")
    notify(check, vc, item, mailbox, method=method)
    jobs.start(check, item.entity_id)
    (got, *_) = arrived(check, "VC-DLV-METHOD", mailbox, 1, delivery.deadline, "job finished")
    check("VC-DLV-METHOD", got.method == method, f"method {method} configured, the delivery was a {got.method}")


@requirement("VC-DLV-DEFAULT-METHOD", "VC-DLV-DEFAULT-CONTENT-TYPE")
def test_defaults(check, vc, jobs, receiver, delivery, item):
    mailbox = receiver.mailbox("defaults")
    notify(check, vc, item, mailbox)
    jobs.start(check, item.entity_id)
    got = mailbox.wait_for(1, within=delivery.deadline)
    check.precondition(len(got) >= 1, "the finished delivery did not arrive (judged under VC-DLV-FINISHED)")
    check("VC-DLV-DEFAULT-METHOD", got[0].method == "POST", f"no method configured, the delivery was a "
                                                              f"{got[0].method}")
    check("VC-DLV-DEFAULT-CONTENT-TYPE", got[0].media_type == "application/xml",
          f"no contentType configured, the delivery's Content-Type is {got[0].media_type or 'absent'}")


@pytest.mark.parametrize("content_type", ["application/xml", "application/json"], ids=["xml", "json"])
@requirement("VC-DLV-CONTENT-TYPE", "VC-DLV-XSD", "VC-DLV-JSON")
def test_content_type(check, vc, jobs, receiver, delivery, item, content_type):
    mailbox = receiver.mailbox(f"content-{content_type.rpartition('/')[2]}")
    notify(check, vc, item, mailbox, contentType=content_type)
    jobs.start(check, item.entity_id)
    (got, *_) = arrived(check, "VC-DLV-CONTENT-TYPE", mailbox, 1, delivery.deadline, "job finished")
    check("VC-DLV-CONTENT-TYPE", got.media_type == content_type,
          f"contentType {content_type} configured, the delivery's Content-Type is {got.media_type or 'absent'}")
    as_json = json_body(got.body)
    check("VC-DLV-CONTENT-TYPE", as_json == (content_type == "application/json"),
          f"contentType {content_type} configured, the body is {'JSON' if as_json else 'not JSON'}")
    payload(check, got)


@requirement("VC-DLV-FILTER-TYPE")
def test_filter_type(check, vc, jobs, receiver, delivery, item):
    other, control = receiver.mailbox("filter-transcode"), receiver.mailbox("filter-control")
    notify(check, vc, item, other, filter_type="TRANSCODE")
    notify(check, vc, item, control)
    jobs.start(check, item.entity_id)
    check.precondition(len(control.wait_for(1, within=delivery.deadline)) >= 1,
                       "the control notification (type PLACEHOLDER_IMPORT) received nothing")
    stray = other.quiet(within=delivery.quiet_window)
    check("VC-DLV-FILTER-TYPE", not stray, f"a TRANSCODE-filtered notification received {len(stray)} "
                                            "delivery(ies) for a PLACEHOLDER_IMPORT job")


@requirement("VC-DLV-ITEM-SCOPE")
def test_item_scope(check, vc, jobs, receiver, delivery, item):
    other_item = Bound(item.form, jobs.create_item(check))
    watched, control = receiver.mailbox("scope-other-item"), receiver.mailbox("scope-control")
    notify(check, vc, item, watched)
    notify(check, vc, other_item, control)
    jobs.start(check, other_item.entity_id)
    check.precondition(len(control.wait_for(1, within=delivery.deadline)) >= 1,
                       "the notification on the job's own item received nothing")
    stray = watched.quiet(within=delivery.quiet_window)
    check("VC-DLV-ITEM-SCOPE", not stray, f"a notification on {item.entity_id} received {len(stray)} "
                                           f"delivery(ies) for a job on {other_item.entity_id}")


@requirement("VC-DLV-PLACEHOLDER-SCOPE", "VC-DLV-XSD", "VC-DLV-JSON", "VC-DLV-KEYS", "VC-DLV-JOB")
def test_placeholder_scope(check, vc, jobs, receiver, delivery, item):
    placeholder, control = receiver.mailbox("placeholder"), receiver.mailbox("placeholder-control")
    placeholder_id = notify(check, vc, Bound(Form(None)), placeholder)
    notify(check, vc, item, control)
    job = jobs.start(check, item.entity_id, notification=placeholder_id)
    got = arrived(check, "VC-DLV-PLACEHOLDER-SCOPE", placeholder, 1, delivery.deadline,
                  f"a job started with notification={placeholder_id}")
    judge_job(check, payload(check, got[0]), job)
    control.wait_for(1, within=delivery.deadline)
    unrelated = jobs.start(check, item.entity_id)
    check.precondition(len(control.wait_for(2, within=delivery.deadline)) >= 2,
                       "the control notification did not receive the second job")
    stray = placeholder.quiet(within=delivery.quiet_window, where=lambda d: unrelated.job_id.encode() in d.body)
    check("VC-DLV-PLACEHOLDER-SCOPE", not stray, f"the placeholder notification received job {unrelated.job_id}, "
                                                  "which was not started with its id")


@requirement("VC-DLV-AFTER-DELETE")
def test_nothing_after_delete(check, vc, jobs, receiver, delivery, item):
    deleted, control = receiver.mailbox("deleted"), receiver.mailbox("deleted-control")
    notification_id = notify(check, vc, item, deleted)
    notify(check, vc, item, control)
    answer = vc.delete(item, notification_id)  # its status is VC-DELETE-ONE's: the case needs it done
    check.precondition(200 <= answer.status < 300, f"deleting the notification answered {answer.status}")
    jobs.start(check, item.entity_id)
    check.precondition(len(control.wait_for(1, within=delivery.deadline)) >= 1,
                       "the control notification received nothing")
    stray = deleted.quiet(within=delivery.quiet_window)
    check("VC-DLV-AFTER-DELETE", not stray, f"a deleted notification still delivered {len(stray)} request(s)")


@requirement("VC-DLV-AFTER-CHANGE")
def test_change_takes_effect(check, vc, jobs, receiver, delivery, item):
    before, after = receiver.mailbox("change-before"), receiver.mailbox("change-after")
    notification_id = notify(check, vc, item, before)
    changed = documents.notification("http", {"url": after.url, "extradata": vc.run_id}, "job", "finished",
                                     {"filter": {"type": JOB_TYPE}})
    put = vc.put(item, notification_id, changed)  # its status is VC-CHANGE's, what a GET shows VC-CHANGE-PERSISTS'
    check.precondition(200 <= put.status < 300, f"the change (PUT) answered {put.status}")
    jobs.start(check, item.entity_id)
    arrived(check, "VC-DLV-AFTER-CHANGE", after, 1, delivery.deadline, "the changed url")
    stray = before.quiet(within=delivery.quiet_window)
    check("VC-DLV-AFTER-CHANGE", not stray, f"the url before the change still received {len(stray)} request(s)")


@requirement("VC-DLV-RETRY-PERFORMED", "VC-DLV-RETRY-BOUND")
def test_retry_after_a_failed_attempt(check, vc, jobs, receiver, delivery, item):
    mailbox = receiver.mailbox("retry-once")
    mailbox.script(*Answer.fail(1, status=500))
    notify(check, vc, item, mailbox, retry="2", timeout="5")
    jobs.start(check, item.entity_id)
    check.precondition(len(mailbox.wait_for(1, within=delivery.deadline)) >= 1, "no first attempt arrived")
    got = mailbox.wait_for(2, within=delivery.deadline)
    check("VC-DLV-RETRY-PERFORMED", len(got) >= 2, "retry = 2 and the first attempt was answered 500: "
                                                    "no second attempt arrived")
    total = len(mailbox.quiet(within=delivery.quiet_window))
    check("VC-DLV-RETRY-BOUND", total <= 3, f"{total} attempts for retry = 2 (at most 3)")


@requirement("VC-DLV-RETRY-BOUND", "VC-DLV-RETRY-EXACT")
def test_retry_when_every_attempt_fails(check, vc, jobs, receiver, delivery, item):
    mailbox = receiver.mailbox("retry-all-fail")
    mailbox.script(*Answer.fail(10, status=503))
    notify(check, vc, item, mailbox, retry="2", timeout="5")
    jobs.start(check, item.entity_id)
    check.precondition(len(mailbox.wait_for(1, within=delivery.deadline)) >= 1, "no first attempt arrived")
    mailbox.wait_for(3, within=delivery.deadline)
    mailbox.quiet(within=delivery.quiet_window)
    total = len(mailbox.deliveries)
    check("VC-DLV-RETRY-BOUND", total <= 3, f"{total} attempts for retry = 2 (at most 1 + retry = 3)")
    if 1 < total <= 3:  # no retry at all is VC-DLV-RETRY-PERFORMED's failure, too many VC-DLV-RETRY-BOUND's
        check("VC-DLV-RETRY-EXACT", total == 3, f"{total} attempts when every attempt failed; 1 + retry = 3 expected")


@requirement("VC-DLV-TIMEOUT")
def test_slow_answer_counts_as_failure(check, vc, jobs, receiver, delivery, item):
    """A slow answer must be retried like an error answer is: the control, answered 503 (Service Unavailable, the
    answer every retry policy retries), shows the server retries at all."""
    slow, control = receiver.mailbox("timeout-slow"), receiver.mailbox("timeout-control")
    slow.script(Answer(status=200, delay=3.0))
    control.script(*Answer.fail(1, status=503))
    notify(check, vc, item, slow, retry="1", timeout="1")
    notify(check, vc, item, control, retry="1", timeout="1")
    jobs.start(check, item.entity_id)
    check.precondition(len(control.wait_for(2, within=delivery.deadline)) >= 2,
                       "a 503 answer was not retried either (judged under VC-DLV-RETRY-PERFORMED)")
    got = slow.wait_for(2, within=delivery.deadline)
    check("VC-DLV-TIMEOUT", len(got) >= 2, "timeout = 1 s and the first answer took 3 s: it was not retried "
                                           "(a 503 answer was)")
