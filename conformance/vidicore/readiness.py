"""Whether a VidiCore target is ready for a run (`conformance check`; the run itself does the cheap part first:
`authenticate`). Each row is ready, not ready or not configured, with its reason:

- each configured user: it authenticates (`GET version`, a cheap read: 401 means refused), and which notification
  roles it appears to have (a list: 2xx means read; a create with a body that is no document: 400 means write was
  allowed, since the server read the body; 401/403 means refused) against what its role needs (admin read and
  write, reader read, writer write, single both on its entity; none for norole): one it lacks is not ready, one it
  seems to have beyond its role is said, not failed (a server may judge a body before the roles);
- each configured entity id exists (`GET {entity}/{id}/notification`);
- set-up: a placeholder item, an import job on it (with `[vidicore.jobs] readable_uri`, or its `start_command`)
  that ends FINISHED as readable_uri promises, and their removal (the cases' own `Jobs`: the same ways, the same
  one-line refusals);
- receiver: that job fires a notification on the item whose http action is a mailbox of the check's receiver:
  one real delivery from the server to `[delivery] public_url`, with its latency;
- N-A forecast: what the target does not configure, and the requirements a run then marks N-A (`FORECAST`).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from conformance.http import Credentials, HttpClient, TransportError
from conformance.setup import Probe, Row, poll, step
from conformance.status import Readiness
from conformance.vidicore import documents
from conformance.vidicore.client import XML, Bound, Form, VidiCoreClient
from conformance.vidicore.settings import ENTITIES, VidiCoreTarget
from conformance.vidicore.triggers import FINAL_STATES, JOB_TYPE, Jobs

READY, NOT_READY, NOT_CONFIGURED = Readiness.READY, Readiness.NOT_READY, Readiness.NOT_CONFIGURED
# what each role's user must be able to do on the entity it is probed on (single: its own entity)
NEEDS = {"admin": {"read", "write"}, "reader": {"read"}, "writer": {"write"}, "norole": set(),
         "single": {"read", "write"}}
# requirement -> the optional users any one of which lets a run check it (none configured: N-A)
BY_USERS = {"VC-ROLE-READ": ("reader", "norole"), "VC-ROLE-WRITE": ("reader", "writer", "norole"),
            "VC-ROLE-WRITE-NOT-READ": ("writer",), "VC-ROLE-CROSS-ENTITY": ("single",),
            "VC-ROLE-PLACEHOLDER": ("single",), "VC-ROLE-FORBIDDEN-403": ("reader", "writer", "norole", "single")}
DELIVERY_REQUIREMENTS = "VC-DLV-*"


def authenticate(http: HttpClient, settings: VidiCoreTarget, source: str) -> str | None:
    """The cheap part a run does before any case: each configured user authenticates (`GET version`; only a 401
    counts as refused). None, or the one line naming the first user refused."""
    for role, user in settings.users.items():
        response = http.request("GET", "version", credentials=_credentials(settings, role), headers={"Accept": XML},
                                label=f"authenticate ({role})")
        if response.status == 401:
            return (f"{source}: [vidicore.users.{role}]: the server refused its credentials (GET version answered "
                    f"401): check username {user.username!r} and the password in ${user.password_env}")
    return None


def check(probe: Probe) -> list[Row]:
    settings: VidiCoreTarget = probe.settings
    rows: list[Row] = []
    rows += [_user(probe, settings, role) for role in settings.users]
    rows += [_entity(probe, settings, name, entity_id) for name, entity_id in settings.entities.items()]
    rows += _jobs_and_receiver(probe, settings)
    rows.append(forecast(settings, probe.embedded))
    return rows


# --- rows ------------------------------------------------------------------------------------------------------


def _user(probe: Probe, settings: VidiCoreTarget, role: str) -> Row:
    user = settings.users[role]
    item = f"user {role}"
    credentials = _credentials(settings, role)
    try:
        version = probe.http.request("GET", "version", credentials=credentials, headers={"Accept": XML},
                                     label=f"authenticate ({role})")
        if version.status == 401:
            return Row(NOT_READY, item, f"GET version answered 401: the server refused its credentials (check "
                                        f"username {user.username!r} and the password in ${user.password_env})")
        entity = user.entity or "item"
        has = _roles(probe.http, credentials, entity)
    except TransportError as exc:
        return Row(NOT_READY, item, f"no answer: {exc}")
    shown = ", ".join(f"{kind} {'yes' if allowed else 'no'} ({why})" for kind, (allowed, why) in has.items())
    lacking = sorted(kind for kind in NEEDS[role] if not has[kind][0])
    where = f"{entity} notifications"
    if lacking:
        roles = " and ".join(f"_{entity.replace('-', '_')}_notification_{kind}" for kind in lacking)
        return Row(NOT_READY, item, f"authenticates, but lacks {' and '.join(lacking)} on {where}, which a {role} "
                                    f"user needs: {shown}; give {user.username!r} the {roles} role(s)")
    extra = sorted(kind for kind, (allowed, _) in has.items() if allowed and kind not in NEEDS[role])
    note = f"; appears to have {' and '.join(extra)} beyond its role (its cases judge whether it has)" if extra else ""
    return Row(READY, item, f"authenticates (GET version answered {version.status}); on {where}: {shown}{note}")


def _roles(http: HttpClient, credentials: Credentials, entity: str) -> dict[str, tuple[bool, str]]:
    """Whether `credentials` appear to have read and write on `entity`'s notifications: a list, and a create whose
    body is no document (400: the server read it, so writing was allowed; nothing can be stored)."""
    listed = http.request("GET", f"{entity}/notification", credentials=credentials, headers={"Accept": XML},
                          label="roles: list")
    created = http.request("POST", f"{entity}/notification", credentials=credentials, content=b"<",
                           headers={"Accept": XML, "Content-Type": XML}, label="roles: create with no document")
    return {"read": (200 <= listed.status < 300, f"list {listed.status}"),
            "write": (created.status == 400, f"create {created.status}")}


def _entity(probe: Probe, settings: VidiCoreTarget, name: str, entity_id: str) -> Row:
    item = f"entity {name} {entity_id}"
    path = Form(name, single=True).path(entity_id)
    try:
        response = probe.http.request("GET", path, credentials=_credentials(settings, "admin"),
                                      headers={"Accept": XML}, label=f"entity {name}")
    except TransportError as exc:
        return Row(NOT_READY, item, f"no answer: {exc}")
    if 200 <= response.status < 300:
        return Row(READY, item, f"exists (GET {path} answered {response.status})")
    return Row(NOT_READY, item, f"GET {path} answered {response.status}: set [vidicore.entities] {name} to an "
                                "existing id")


def _jobs_and_receiver(probe: Probe, settings: VidiCoreTarget) -> list[Row]:
    readable = settings.jobs.readable_uri
    media = None
    if readable is None and probe.embedded:  # the embedded server reads this machine's files
        media = tempfile.NamedTemporaryFile(prefix="conformance-check-", suffix=".bin", delete=False)
        media.write(b"conformance media\n")
        media.close()
        readable = Path(media.name).as_uri()
    if readable is None and not settings.jobs.start_command:
        why = "[vidicore.jobs] readable_uri (or start_command) is not set: the delivery cases are N-A"
        return [Row(NOT_CONFIGURED, "set-up", why), Row(NOT_CONFIGURED, "receiver", why)]
    vc = VidiCoreClient(probe.http, settings, probe.names)
    jobs = Jobs(vc, settings.jobs, readable)
    try:
        return _job_rows(probe, vc, jobs)
    finally:
        left = vc.cleanup() + jobs.cleanup()
        probe.record.leftovers.extend(left)
        if media is not None:
            Path(media.name).unlink(missing_ok=True)


def _job_rows(probe: Probe, vc: VidiCoreClient, jobs: Jobs) -> list[Row]:
    check = probe.check()
    item_id, refused = step(lambda: jobs.create_item(check))
    if item_id is None:
        return [Row(NOT_READY, "set-up", refused or "no item"), Row(NOT_READY, "receiver", "not tried: no item")]
    bound = Bound(Form("item", single=True), item_id)
    mailbox = probe.receiver.mailbox("check-vidicore")
    document = documents.notification("http", {"url": mailbox.url, "extradata": vc.run_id}, "job", "finished",
                                      {"filter": {"type": JOB_TYPE}})
    response = vc.create(bound, document)
    if not 200 <= response.status < 300:
        return [Row(NOT_READY, "set-up", f"a notification on the placeholder item {item_id} could not be created: "
                                         f"POST {bound.path()} answered {response.status}"),
                Row(NOT_READY, "receiver", "not tried: no notification")]
    job, refused = step(lambda: jobs.start(check, item_id))
    if job is None:
        return [Row(NOT_READY, "set-up", refused or "no job"), Row(NOT_READY, "receiver", "not tried: no job")]
    started = time.monotonic()
    deadline = probe.left(probe.delivery.deadline * probe.delivery.multiplier)  # cut to what the check has left
    got = mailbox.wait_for(1, within=deadline / probe.delivery.multiplier)
    waited = round(deadline, 1)
    latency = (got[0].arrived - started) if got else None
    status = poll(lambda: jobs.status(job), lambda s: s in FINAL_STATES,
                  within=probe.left(probe.delivery.deadline * probe.delivery.multiplier))
    promised = "FINISHED"
    made = f"placeholder item {item_id}, job {job.job_id}"
    if status == promised:
        setup = Row(READY, "set-up", f"{made} {status} as readable_uri promises; both removed after the check")
    else:
        setup = Row(NOT_READY, "set-up", f"{made} is {status or 'unreadable'} after {waited:g} s, not {promised}: "
                                         "set [vidicore.jobs] readable_uri to a URI this server can import")
    if latency is not None:
        receiver = Row(READY, "receiver", f"the job's delivery reached {mailbox.url} {latency * 1000:.0f} ms after "
                                          "the job started")
    elif status == promised:
        receiver = Row(NOT_READY, "receiver", f"no delivery reached {probe.receiver.public_base} within "
                                              f"{waited:g} s though job {job.job_id} FINISHED: the server cannot "
                                              "reach the receiver; set [delivery] public_url (and listen_host) to "
                                              "an address it can reach")
    else:
        receiver = Row(NOT_READY, "receiver", f"not judged: job {job.job_id} did not finish")
    return [setup, receiver]


def forecast(settings: VidiCoreTarget, embedded: bool = False) -> Row:
    """What the target leaves out, and the requirements a run then marks N-A (the cases that need it are N-A; a
    requirement is N-A when every case that checks it is)."""
    missing = [role for role in ("reader", "writer", "norole", "single") if role not in settings.users]
    parts = []
    na = sorted(r for r, users in BY_USERS.items() if not any(u in settings.users for u in users))
    if missing:
        parts.append(f"no {', '.join(missing)} user(s) ([vidicore.users.<role>]): "
                     + (", ".join(na) if na else "their cases are N-A, their requirements checked by the others"))
    entities = [name for name in ENTITIES if name not in settings.entities]
    if entities:
        parts.append(f"no id of {', '.join(entities)} ([vidicore.entities]): their single-entity cases are N-A"
                     + ("; VC-SCOPE" if not settings.entities else ""))
    if settings.jobs.readable_uri is None and not settings.jobs.start_command and not embedded:
        parts.append(f"no [vidicore.jobs] readable_uri or start_command: {DELIVERY_REQUIREMENTS} (every delivery)")
    if settings.shared:
        parts.append("shared = true: VC-DELETE-ALL (delete-all would remove others' notifications)")
    if not parts:
        return Row(READY, "N-A forecast", "nothing: every user, entity and job setting is configured")
    return Row(NOT_CONFIGURED, "N-A forecast", "; ".join(parts))


def _credentials(settings: VidiCoreTarget, role: str) -> Credentials:
    user = settings.users[role]
    return Credentials(user.username, user.password, user.password_env)
