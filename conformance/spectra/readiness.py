"""Whether a Spectra S3 (BlackPearl) target is ready for a run (`conformance check`; the run itself does the cheap
part first: `authenticate`). `conformance.preflight` shows first whether the server is reachable, then, when it is,
these rows, each ready, not ready or not configured, with its reason:

- each configured user: a signed request is accepted (a one-record list of registrations: 403 means its access id
  or secret key is refused), and its Id resolves (`conformance.spectra.users`: the target's `user_id`, its `name`,
  its access id, the user list) and how;
- set-up, per user: a bucket (with `[spectra] data_policy_id` when set), a bulk put job in it, and their removal
  (the cases' own `Jobs`: the same ways, the same one-line refusals);
- receiver: the administrator's job completes with a registration bound to it whose end point is a mailbox of the
  check's receiver: one real delivery from the server to `[delivery] public_url`, with its latency;
- N-A forecast: what the target does not configure (the ordinary user), and the requirements a run then marks N-A.
"""

from __future__ import annotations

import time

from conformance.http import HttpClient, TransportError
from conformance.setup import Probe, Row, step
from conformance.spectra.client import REGISTRATIONS, SpectraClient, detail
from conformance.spectra.settings import SpectraTarget
from conformance.spectra.signing import SpectraAuth
from conformance.spectra.triggers import Job, Jobs
from conformance.spectra.users import UserIdNotFound, find_user_id
from conformance.status import Readiness

READY, NOT_READY, NOT_CONFIGURED = Readiness.READY, Readiness.NOT_READY, Readiness.NOT_CONFIGURED
# what a run marks N-A without an ordinary user ([spectra.users.user]): every case of these needs one
WITHOUT_USER = ("SP-DELETE-OTHER-USER", "SP-ORDINARY-ALL-JOBS", "SP-DLV-OWNER")


def authenticate(http: HttpClient, settings: SpectraTarget, source: str) -> str | None:
    """The cheap part a run does before any case: each configured user's signed request is accepted (a 403 to a
    one-record list of registrations is a refused signature). None, or the one line naming the first refused."""
    for role, user in settings.users.items():
        response = http.request("GET", REGISTRATIONS, params={"page_length": "1"},
                                auth=SpectraAuth(user.access_id, user.secret_key), label=f"authenticate ({role})")
        if response.status == 403:
            return (f"{source}: [spectra.users.{role}]: the server refused its signature (GET /{REGISTRATIONS} "
                    f"answered 403: {detail(response)}): check access_id {user.access_id!r} and the secret key in "
                    f"${user.secret_key_env}")
    return None


def check(probe: Probe) -> list[Row]:
    settings: SpectraTarget = probe.settings
    rows: list[Row] = []
    sp = SpectraClient(probe.http, settings, probe.names)
    rows += [_user(probe, sp, role) for role in settings.users]
    jobs = Jobs(sp)
    try:
        for role in settings.users:
            rows += _setup(probe, sp, jobs, role)
    finally:
        probe.record.leftovers.extend(sp.cleanup() + jobs.cleanup())
    rows.append(forecast(settings))
    return rows


def _user(probe: Probe, sp: SpectraClient, role: str) -> Row:
    item = f"user {role}"
    user = sp.settings.users[role]
    try:
        response = sp.list({"page_length": "1"}, user=role, label=f"authenticate ({role})")
        if response.status == 403:
            return Row(NOT_READY, item, f"its signed request was refused (GET /{REGISTRATIONS} answered 403: "
                                        f"{detail(response)}): check access_id {user.access_id!r} and the secret key "
                                        f"in ${user.secret_key_env}")
        found = find_user_id(sp, role)
    except TransportError as exc:
        return Row(NOT_READY, item, f"no answer: {exc}")
    except UserIdNotFound as exc:
        return Row(NOT_READY, item, f"authenticates, but {exc}")
    return Row(READY, item, f"authenticates (GET /{REGISTRATIONS} answered {response.status}); Id {found.user_id} "
                            f"({found.way})")


def _setup(probe: Probe, sp: SpectraClient, jobs: Jobs, role: str) -> list[Row]:
    """A bucket and a bulk put job of `role`'s; the administrator's job also delivers to the receiver."""
    check = probe.check()
    job, refused = step(lambda: jobs.start(check, user=role))
    policy = f" with data policy {sp.settings.data_policy_id}" if sp.settings.data_policy_id else ""
    if job is None:
        rows = [Row(NOT_READY, f"set-up ({role})", refused or "no job")]
        return rows + ([Row(NOT_READY, "receiver", "not tried: no job of the administrator's")] if role == "admin"
                       else [])
    setup = Row(READY, f"set-up ({role})", f"bucket {job.bucket}{policy}, bulk put job {job.job_id}; both removed "
                                           "after the check")
    return [setup, _delivery(probe, sp, jobs, job)] if role == "admin" else [setup]


def _delivery(probe: Probe, sp: SpectraClient, jobs: Jobs, job: Job) -> Row:
    """One real delivery: a registration bound to `job` whose end point is the check's receiver; the job
    completes."""
    mailbox = probe.receiver.mailbox("check-spectra")
    response = sp.create({"notification_end_point": mailbox.url, "job_id": job.job_id}, label="register (check)")
    if not 200 <= response.status < 300:
        return Row(NOT_READY, "receiver", f"not tried: a registration for job {job.job_id} answered "
                                          f"{response.status} ({detail(response)})")
    check = probe.check()
    started = time.monotonic()
    _, refused = step(lambda: jobs.complete(check, job))
    if refused:
        return Row(NOT_READY, "receiver", f"not tried: completing job {job.job_id}: {refused}")
    deadline = probe.left(probe.delivery.deadline * probe.delivery.multiplier)  # cut to what the check has left
    got = mailbox.wait_for(1, within=deadline / probe.delivery.multiplier)
    waited = round(deadline, 1)
    if got:
        return Row(READY, "receiver", f"the job's delivery reached {mailbox.url} "
                                      f"{(got[0].arrived - started) * 1000:.0f} ms after its last object was put")
    return Row(NOT_READY, "receiver", f"no delivery reached {probe.receiver.public_base} within {waited:g} s of job "
                                      f"{job.job_id} completing: the server cannot reach the receiver; set "
                                      "[delivery] public_url (and listen_host) to an address it can reach")


def forecast(settings: SpectraTarget) -> Row:
    """What the target leaves out, and the requirements a run then marks N-A."""
    if "user" in settings.users:
        return Row(READY, "N-A forecast", "nothing: both users are configured")
    return Row(NOT_CONFIGURED, "N-A forecast", f"no ordinary user ([spectra.users.user]): {', '.join(WITHOUT_USER)}; "
                                               "SP-USER-ID and SP-DELETE are then checked for the administrator only")
