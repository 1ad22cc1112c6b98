"""The stateful model of Spectra S3 job-completed notification registrations (NOTES §2.1, §2.4) that
`test_generated_model` runs: Hypothesis chains creates (as the administrator or the ordinary user, for all jobs or
bound to a job of the creator's), gets, lists (unpaged, or paged as the creator), deletes, job starts, and
deliveries (a job completed or cancelled while the end points answer 2xx, answer 500, or are not listening), and
after every step the server must agree with an in-memory model of what this run made.

After every step:
- a create echoes its parameters (canonical spelling; absent and empty ones as defaults), is fresh, and carries
  its creator's UserId; an ordinary user's create for all jobs is refused 403 (a SHOULD: accepted, it is
  modelled like any other);
- a get equals what was created (the creator asks: a server may hide others' registrations [reading]); a deleted
  id answers 404 with an Error document (after the step that created or deleted it, and in get steps);
- each user's list names each of its live registrations once and no deleted one (an invariant, after every step);
  a paged list walks every registration once, and a paging header that is there tells the truth on every page
  (judged on walks during which nothing changed, `agreed_walk`);
- a delivery reaches every firing registration (for every job of the job's owner, or bound to that job), none
  bound to another job, and it names this job and whether it was cancelled (not what an earlier delivery to the
  same registration said); the bookkeeping of each firing registration for all jobs is what the outcome makes it,
  whatever came before (read just before the delivery): after 2xx the status, a date not before the completion
  (by the server's clock), 0 and no failure (and a reset after failures); after 500 the status and such a date
  (counted as a failure: a WARN [reading]); after no answer one failure more, a reason, no status;
- the owner rule (NOTES §2.4), after every step: no registration for all jobs has received a delivery naming a
  job of another user (jobs are started as either user; a late delivery is seen by a later step).

Not judged here: whether a registration bound to a job survives the job (BlackPearl removes it [reading]): after
its job completed, either answer is accepted.

`Model` is a module-level class over a `Context`, what its case gives it (the case's `check`, clients, the end
points' receiver, the delivery deadline, the generation, the target's users and their ids); the case runs it
bound to its own context (`conformance.generation.bound`). Every end point is a mailbox on a receiver of the
case's own beside the run's (`EndPoints`), which stops listening for the "not listening" outcome (a connection
refused); every registration, job and bucket made is deleted at the end of each run of the model, a failing one
included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from conformance.check import Check
from conformance.generation import Generation, from_context, rule_body
from conformance.judging import json_body
from conformance.receiver import Answer, Delivery, Mailbox
from conformance.spectra import documents
from conformance.spectra import strategies as gen
from conformance.spectra.cases.support import (
    agreed_walk,
    fields_of,
    ids_in_list,
    judge_created,
    judge_error,
    not_before,
    read_registration,
    success_problems,
    wait_for_bookkeeping,
)
from conformance.spectra.client import DEFAULTS, SpectraClient
from conformance.spectra.triggers import Job, Jobs
from conformance.target import DeliverySettings
from conformance.validation import DocumentError

COMPARED = ("Id", "UserId", "Format", "JobId", "NamingConvention", "NotificationEndPoint", "NotificationHttpMethod")
# what the end points do during a delivery; no answer twice as likely (its bookkeeping bugs need failures in a row)
OUTCOMES = (("none", None), ("2xx", 200), ("none", None), ("500", 500), ("2xx", 202))
PENDING_JOBS = 3  # jobs started and not yet completed, per run of the model
MAX_PAGES = 10    # a paged list walks at most about this many pages (a shared server may hold thousands)


class Receiving(Protocol):
    """What the model reads of the receiver under its end points: the settled wait and the deadline multiplier."""

    settled: Callable[[float], bool] | None
    multiplier: float


class EndPoints(Protocol):
    """The end points of the model's registrations: mailboxes on a receiver of the case's own (the plugin's
    `CaseReceiver.beside()`), which refuses connections while paused."""

    receiver: Receiving

    def mailbox(self, label: str) -> Mailbox: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


@dataclass(frozen=True)
class Context:
    """What one case gives its model: its check, the Spectra client and job triggers (each cleaning up after
    itself), the end points, the delivery deadline, its generation, the target's users (`roles`: the
    administrator, and the ordinary user when the target names one) and their Ids."""

    check: Check
    sp: SpectraClient
    jobs: Jobs
    side: EndPoints
    delivery: DeliverySettings
    generation: Generation
    roles: tuple[str, ...]
    user_ids: Mapping[str, str]


ROLE = from_context(lambda context: st.sampled_from(context.roles))  # one of the target's users


@dataclass
class Registration:
    """A registration as the model holds it."""

    id: str
    role: str            # its creator
    params: dict[str, str]
    fields: dict[str, str]  # as the create answered (the echoed ones are compared on get)
    mailbox: Mailbox
    job_id: str = ""     # "" = all of the creator's jobs
    job_done: bool = False  # its job completed: the server may have removed it with the job [reading]

    def describe(self) -> str:
        bound = f"job {self.job_id[:8]}" if self.job_id else "all jobs"
        return f"{self.id[:8]} ({self.role}, {bound})"


@dataclass
class World:
    """What the run of the model made: live and deleted registrations, jobs not yet completed."""

    live: dict[str, Registration] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)  # id -> creator
    changed: bool = True  # a step since the lists were last compared may have changed them
    touched: list[str] = field(default_factory=list)  # registrations the last step created or deleted
    buckets: dict[str, str] = field(default_factory=dict)  # user -> the bucket its jobs put objects in
    gone_with_job: set[str] = field(default_factory=set)  # bound registrations the server removed with their job
    pending: list[Job] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)  # every job that completed (id, lower case) -> its owner

    def firing(self, job: Job) -> tuple[list[Registration], list[Registration]]:
        """The live registrations a completion of `job` fires (bound to it, or for every job of its owner), and
        those bound to another job (nothing naming this one may reach them)."""
        job_id = job.job_id.lower()
        live = list(self.live.values())
        firing = [r for r in live if r.job_id == job_id or (not r.job_id and r.role == job.user)]
        elsewhere = [r for r in live if r.job_id and r.job_id != job_id]  # its job pending or done
        return firing, elsewhere

    def mine(self, role: str) -> list[str]:
        """The live registrations `role` made (a registration gone with its job is not judged [reading])."""
        return [made.id for made in self.live.values() if made.role == role and not made.job_done]


class Model(RuleBasedStateMachine):
    """The model's rules and invariant over `context` (set by `conformance.generation.bound` for one case)."""

    context: ClassVar[Context]
    registrations = Bundle("registrations")

    def __init__(self) -> None:
        super().__init__()
        context = self.context
        self.check, self.sp, self.jobs, self.side = context.check, context.sp, context.jobs, context.side
        self.generation = context.generation  # (`rule_body` raises each failure through it)
        self.generation.begin_example()
        self.world = World()

    # --- jobs and registrations ---------------------------------------------------------------------

    @precondition(lambda self: len(self.world.pending) < PENDING_JOBS)
    @rule(role=ROLE)
    @rule_body
    def start_job(self, role):
        job = self.start(role)
        self.generation.step(f"start job {job.job_id[:8]} as {role}")
        self.world.pending.append(job)

    @initialize(target=registrations, data=st.data())
    @rule_body
    def first(self, data):
        """Every run starts with a registration for all of the administrator's jobs (its bookkeeping is what
        a sequence of deliveries changes) and a job of the administrator's not yet completed (a registration
        bound to it must not fire for another)."""
        made = self.create_as(data, "admin", None)
        self.world.pending.append(self.start("admin"))
        return made

    @rule(target=registrations, data=st.data())
    @rule_body
    def create(self, data):
        role = data.draw(st.sampled_from(self.context.roles), label="creator")
        own = [job for job in self.world.pending if job.user == role]
        return self.create_as(data, role, pick(data, [None, *own], "job") if own else None)

    def create_as(self, data, role: str, job: Job | None):
        """Create as `role` with drawn options (`job_id` absent, empty, or `job`'s when a job is given)."""
        check, world = self.check, self.world
        params = gen.canonical(data.draw(gen.options(job.job_id if job else None), label="options"))
        box = self.side.mailbox(f"m{len(world.live) + len(world.deleted) + 1}")
        params["notification_end_point"] = box.url
        shown = " ".join(f"{k}={v!r}" for k, v in params.items() if k != "notification_end_point")
        self.generation.step(f"create as {role} " + (shown or "(every parameter its default)"))
        response = self.sp.create(params, user=role)
        world.changed = True
        for_all_jobs = not params.get("job_id")
        if role != "admin" and for_all_jobs:
            check("SP-ORDINARY-ALL-JOBS", response.status == 403,
                  f"an ordinary user's create for all jobs answered {response.status}")
            if not 200 <= response.status < 300:
                return multiple()  # refused: nothing to hold
        check("SP-CREATE-201", response.status == 201, f"a valid create answered {response.status}")
        fields = read_registration(check, response)
        judge_created(check, fields, params)
        got, want = fields.get("UserId", ""), self.context.user_ids[role]
        check("SP-USER-ID", got.lower() == want.lower(),
              f"a registration created by {role} carries UserId {got!r}; {role}'s Id is {want!r}")
        made = Registration(fields["Id"], role, params, fields, box, params.get("job_id", "").lower())
        world.live[made.id] = made
        world.touched.append(made.id)
        return made.id

    @rule(rid=registrations)
    @rule_body
    def get(self, rid):
        if rid in self.world.live:
            self.generation.step(f"get {self.world.live[rid].describe()}")
        self.agrees(rid)

    def agrees(self, rid: str) -> None:
        """A get of `rid` (as its creator) equals the registration as created, or answers 404 if the run
        deleted it."""
        check, world = self.check, self.world
        if self.gone(rid, "get-one", self.sp.get):
            return
        made = world.live[rid]
        response = self.sp.get(rid, user=made.role)
        if made.job_done and response.status == 404:
            del world.live[rid]  # gone with its job (BlackPearl does this)
            world.gone_with_job.add(rid)
            return
        check("SP-GET", response.status == 200, f"get-one of {made.describe()} answered {response.status}")
        fields = read_registration(check, response)
        differ = [f"{name}: created {made.fields.get(name)!r}, got {fields.get(name)!r}" for name in COMPARED
                  if made.fields.get(name, "").lower() != fields.get(name, "").lower()]
        check("SP-GET", not differ, "get-one differs from the created registration: " + "; ".join(differ))

    def gone(self, rid: str, what: str, operation) -> bool:
        """Whether `rid` is gone: deleted by the run (then `operation` on it must answer 404) or removed by the
        server with its job (no longer judged [reading])."""
        world = self.world
        if rid in world.deleted:
            self.generation.step(f"{what} of deleted {rid[:8]}")
            judge_error(self.check, operation(rid, user=world.deleted[rid]), 404, "SP-DELETED-GONE", "NotFound",
                        f"{what} of a deleted registration")
        return rid in world.deleted or rid in world.gone_with_job

    @rule(rid=registrations, by_creator=st.booleans())
    @rule_body
    def delete(self, rid, by_creator):
        world = self.world
        if self.gone(rid, "delete", self.sp.delete):
            return
        made = world.live.pop(rid)
        actor = made.role if by_creator else "admin"
        self.generation.step(f"delete {made.describe()} as {actor}")
        response = self.sp.delete(rid, user=actor)
        world.changed = True
        if made.job_done and response.status == 404:
            world.gone_with_job.add(rid)
            return  # gone with its job already
        self.check("SP-DELETE", response.status == 204 and not response.body,
                   f"{actor}'s delete of {made.describe()} answered {response.status} with {len(response.body)} "
                   "body bytes; expected 204, empty")
        world.deleted[rid] = made.role
        world.touched.append(rid)

    @invariant()
    @rule_body
    def server_agrees(self):
        """After every step that may have changed something (not a step itself): a get of each registration
        the step created or deleted agrees with the model, and each user that made registrations lists each of
        its live ones once and none it deleted."""
        check, world = self.check, self.world
        touched, world.touched = world.touched, []
        for rid in touched:
            self.agrees(rid)
        self.owners_kept()
        if not world.changed:
            return
        world.changed = False
        for role in dict.fromkeys([*(made.role for made in world.live.values()), *world.deleted.values()]):
            listed = ids_in_list(check, self.sp.list(user=role), "SP-LIST")
            wrong = [f"{rid[:8]} {listed.count(rid)} times" for rid in world.mine(role) if listed.count(rid) != 1]
            check("SP-LIST", not wrong, f"after the last step the list as {role} names " + ", ".join(wrong)
                  + " (expected once)")
            gone = [rid[:8] for rid, creator in world.deleted.items() if creator == role and rid in listed]
            check("SP-DELETED-GONE", not gone, f"after the last step the list as {role} still holds deleted "
                                               f"{gone}")

    @rule(role=ROLE, length=st.integers(1, 5))
    @rule_body
    def paged(self, role, length):
        """As `role`, page by `length`: every registration once, paging headers that tell the truth, no
        deleted one."""
        check = self.check
        self.generation.step(f"list as {role}, paged by {length}")
        walk = agreed_walk(check, self.sp, self.world.mine(role), length=length, user=role, max_pages=MAX_PAGES)
        problems = walk.problems()
        for requirement_id in sorted(("SP-PAGING-HEADERS", "SP-PAGING-HEADERS-TRUTH", "SP-XSD-REGISTRATION",
                                      "SP-PAGING"), key=lambda r: r in problems):
            check(requirement_id, requirement_id not in problems, "; ".join(problems.get(requirement_id, [])[:3]))
        gone = [rid[:8] for rid, creator in self.world.deleted.items() if creator == role and rid in walk.seen]
        check("SP-DELETED-GONE", not gone, f"a paged list still holds deleted {gone}")

    # --- deliveries ------------------------------------------------------------------------------------

    @rule(data=st.data(), outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=3),
          cancel=st.booleans())
    @rule_body
    def deliver(self, data, outcomes, cancel):
        """Deliveries in a row: a job started earlier, or a new one of the administrator's, completes or is
        cancelled while the end points do the first of `outcomes`; then a new job of the same user for each next
        one (the bookkeeping bugs hide in sequences of outcomes)."""
        job = pick(data, ["admin", *self.world.pending], "job")  # the ordinary user's: started earlier
        if isinstance(job, str):
            job = self.start(job)
        else:
            self.world.pending.remove(job)
        for number, outcome in enumerate(outcomes):
            self.deliver_one(self.start(job.user) if number else job, outcome, cancel)

    def deliver_one(self, job: Job, outcome: tuple[str, int | None], cancel: bool) -> None:
        check, world, side, deadline = self.check, self.world, self.side, self.context.delivery.deadline
        world.changed = True  # registrations bound to the job may go with it
        kind, status = outcome
        live = list(world.live.values())
        firing, elsewhere = world.firing(job)
        self.generation.step(f"{'cancel' if cancel else 'complete'} job {job.job_id[:8]} of {job.user}, the end "
                             f"points {'not listening' if kind == 'none' else f'answering {status}'}: "
                             f"{', '.join(r.describe() for r in firing) or 'none'} fire")
        before = {r.id: fields_of(self.sp, r.id, r.role) for r in firing if not r.job_id}
        for made in live:
            made.mailbox.script(*([Answer(status=status)] * 5 if status else []))
        if kind == "none":
            side.pause()
        else:
            side.resume()
        seen = {made.id: len(made.mailbox.deliveries) for made in live}
        if cancel:
            self.jobs.cancel(check, job)
        else:
            self.jobs.complete(check, job)
        world.jobs[job.job_id.lower()] = job.user
        started = job.ended or job.started  # by the server's clock: its bookkeeping's dates are not before it
        settled = self.settled()
        for made in firing:
            if kind != "none":
                got = made.mailbox.wait_for(seen[made.id] + 1, within=deadline)
                check("SP-DLV-FIRES", len(got) > seen[made.id],
                      f"registration {made.describe()} got no delivery after job {job.job_id} completed")
                self.judge_delivery(made, got[seen[made.id]], job, cancel)
            if made.job_id:
                made.job_done = True  # the server may remove it with its job [reading]
            else:
                self.judge_bookkeeping(made, kind, status, before[made.id], started, settled)
        if kind != "none":
            for made in elsewhere:  # bound to another job: nothing naming this job may arrive
                stray = [d for d in made.mailbox.deliveries[seen[made.id]:]
                         if job.job_id.lower() in d.body.decode("utf-8", "replace").lower()]
                check("SP-DLV-JOB-FILTER", not stray, f"registration {made.describe()} received a delivery for "
                                                      f"job {job.job_id}")

    def judge_delivery(self, made: Registration, got: Delivery, job: Job, cancelled: bool) -> None:
        """The delivery a firing registration got for `job`: it names that job, and says whether it was cancelled
        (whatever the registration was told before: a server must not repeat an earlier delivery)."""
        try:
            form = "application/json" if json_body(got.body) else "application/xml"
            convention = made.params.get("naming_convention") or DEFAULTS["naming_convention"]
            payload = documents.payload(got.body, form, convention.upper())
        except DocumentError:
            return  # an unreadable delivery is judged by the hand-written cases (SP-DLV-NAMES, ...)
        if payload.envelope is None or payload.schema_errors:
            return  # names or structure wrong: SP-DLV-NAMES' (and the hand-written cases'), not judged twice here
        self.check("SP-DLV-JOB", (payload.job_id or "").lower() == job.job_id.lower(),
                   f"registration {made.describe()}'s delivery for job {job.job_id} names job {payload.job_id!r}")
        if payload.cancel_occurred is not None:
            requirement_id = "SP-DLV-CANCELLED" if cancelled else "SP-DLV-COMPLETED"
            self.check(requirement_id, payload.cancel_occurred is cancelled,
                       f"registration {made.describe()}'s delivery for job {job.job_id} "
                       f"({'cancelled' if cancelled else 'completed'}) says CancelOccurred {payload.cancel_occurred}")

    def owners_kept(self) -> None:
        """NOTES §2.4: a registration for all jobs fires only for its own user's jobs. After every step, no
        delivery any such registration got names a job of another user (checked on what arrived, with no wait of
        its own: a late delivery is seen by a later step)."""
        world = self.world
        for made in [r for r in world.live.values() if not r.job_id]:
            others = {job_id for job_id, user in world.jobs.items() if user != made.role}
            if not others:
                continue
            stray = [job_id for d in made.mailbox.deliveries for job_id in others
                     if job_id in d.body.decode("utf-8", "replace").lower()]
            self.check("SP-DLV-OWNER", not stray, f"registration {made.describe()} for all of {made.role}'s jobs "
                                                  f"received a delivery for job(s) {sorted(set(stray))} of another "
                                                  "user")

    def judge_bookkeeping(self, made: Registration, kind: str, status: int | None, before: dict[str, str],
                          started: datetime, settled: bool) -> None:
        """The bookkeeping of a registration for all jobs after one delivery, given what it showed before."""
        check = self.check
        check.precondition(bool(before), f"{made.describe()} could not be read before the delivery")
        failures_before = before.get("NumberOfFailuresSinceLastSuccess", "")
        if kind == "2xx":
            assert status is not None  # a 2xx outcome has its status
            fields = self.after(made, settled, lambda f: f.get("LastNotification") != before.get("LastNotification")
                                or not success_problems(f, status, started))
            if failures_before != "0":
                check("SP-BOOK-RESET", fields.get("NumberOfFailuresSinceLastSuccess") == "0",
                      f"after {failures_before} failures and a {status} answer NumberOfFailuresSinceLastSuccess "
                      f"is {fields.get('NumberOfFailuresSinceLastSuccess')!r}")
            problems = success_problems(fields, status, started)
            check("SP-BOOK-SUCCESS", not problems, f"{made.describe()} after a {status} answer (before it: "
                                                   f"{book(before)}): " + "; ".join(problems))
        elif kind == "500":
            fields = self.after(made, settled, lambda f: f.get("LastNotification") != before.get("LastNotification")
                                or f.get("LastHttpResponseCode") == "500")
            check("SP-BOOK-HTTP-ERROR", fields.get("LastHttpResponseCode") == "500" and not_before(fields, started),
                  f"{made.describe()} after a 500 answer (before it: {book(before)}): {book(fields)}; expected "
                  "LastHttpResponseCode '500' and LastNotification a date after the job started")
            check("SP-BOOK-HTTP-ERROR-COUNT",
                  fields.get("NumberOfFailuresSinceLastSuccess") == "0" and not fields.get("LastFailure"),
                  f"{made.describe()} after a 500 answer: {book(fields)}: the answer was counted as a failure")
        else:
            want = str(int(failures_before) + 1) if failures_before.isdigit() else "a number"
            fields = self.after(made, settled,
                                lambda f: f.get("NumberOfFailuresSinceLastSuccess") != failures_before)
            check("SP-BOOK-NO-ANSWER", fields.get("NumberOfFailuresSinceLastSuccess") == want
                  and bool(fields.get("LastFailure")) and not fields.get("LastHttpResponseCode"),
                  f"{made.describe()} after a delivery that got no answer (before it: {book(before)}): "
                  f"{book(fields)}; expected NumberOfFailuresSinceLastSuccess {want!r}, a LastFailure, no "
                  "LastHttpResponseCode")

    def settled(self) -> bool:
        """Whether the server says it has sent everything and written its bookkeeping (the embedded one can
        say so: then every step sees the same state, run after run); False when it cannot say."""
        receiver = self.side.receiver
        settled = receiver.settled
        return settled is not None and settled(self.context.delivery.deadline * receiver.multiplier)

    def after(self, made: Registration, settled: bool, written) -> dict[str, str]:
        """The registration's fields once the delivery's bookkeeping is written: at once when the server said
        it is `settled`, else when `written` says so or at the deadline."""
        if settled:
            return fields_of(self.sp, made.id, made.role)
        return wait_for_bookkeeping(self.sp, made.id, self.context.delivery, written, user=made.role)

    def start(self, role: str) -> Job:
        """A job of `role`'s, in the bucket of `role`'s this run of the model keeps (one per user)."""
        if role not in self.world.buckets:
            self.world.buckets[role] = self.jobs.bucket(self.check, role)
        return self.jobs.start(self.check, user=role, bucket=self.world.buckets[role])

    def teardown(self) -> None:
        self.sp.cleanup()
        self.jobs.cleanup()


def pick(data, choices: list, label: str):
    """One of `choices`, drawn by its index: a choice among things the run made (jobs, whose names hold the run's
    token) must not make Hypothesis's draw depend on how they print, or runs would explore differently."""
    return choices[data.draw(st.integers(0, len(choices) - 1), label=label)]


def book(fields: Mapping[str, str]) -> str:
    """The bookkeeping fields in a line."""
    return ", ".join(f"{name} {fields.get(name)!r}" for name in ("NumberOfFailuresSinceLastSuccess", "LastFailure",
                                                                 "LastHttpResponseCode", "LastNotification"))
