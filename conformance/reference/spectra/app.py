"""The reference Spectra S3 (BlackPearl) server: job-completed notification registrations (NOTES §2), a small
bucket/job model to complete and cancel jobs, and deliveries (see `delivery`), with injectable faults.

It shares no code with the suite (nothing from conformance/ outside conformance/reference/ is imported): its own
signature check (`users`), naming conventions and XML, so a bug on the suite side cannot hide behind the same bug
here. Spectra documents have no XML namespace.

Resources (all below the server root, every request signed, NOTES §2.2):
- POST /_rest_/bucket?name=B; DELETE /_rest_/bucket/B[?force]
- PUT /_rest_/bucket/B?operation=start_bulk_put (body `<Objects><Object Name= Size=/>...</Objects>`)
- PUT /B/OBJECT?job=J&offset=0 (the object's bytes); GET /_rest_/job/J; DELETE /_rest_/job/J[?force] (cancel)
- POST, GET /_rest_/job_completed_notification_registration; GET, DELETE .../{id}

Users and their credentials: see `users`. Faults: see `conformance.reference.faults`; each is tested by name at
the one spot its bug lives.
"""

from __future__ import annotations

import functools
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from ..server import call_wsgi
from ..dispatch import Dispatcher, Outbound, Outcome
from .delivery import CONVENTIONS, DEFAULT_CONVENTION, FORMATS, Blob, Completion, convert, iso_millis, render
from .store import Bucket, Job, Registration
from .users import BY_ACCESS_ID, USERS, SpectraUser

MOUNT = ""  # every path not claimed by a longer mount (VidiCore keeps /API)
REST = "/_rest_"
REGISTRATIONS = f"{REST}/job_completed_notification_registration"
HTTP_METHODS = ("POST", "PUT", "GET", "DELETE", "HEAD")  # BlackPearl accepts any of its request types
DEFAULT_PAGE_LENGTH = 1000
MAX_BODY_BYTES = 16 * 1024 * 1024
DELIVERY_TIMEOUT = 10.0  # seconds, of one delivery attempt
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# path pattern -> method -> the SpectraApp method serving it (called with the pattern's groups)
_ROUTES: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = (
    (re.compile(re.escape(REGISTRATIONS)), {"POST": "_create", "GET": "_list"}),
    (re.compile(re.escape(REGISTRATIONS) + "/([^/]+)"), {"GET": "_get", "DELETE": "_delete"}),
    (re.compile(f"{REST}/bucket"), {"POST": "_create_bucket"}),
    (re.compile(f"{REST}/bucket/([^/]+)"), {"PUT": "_start_bulk_put", "DELETE": "_delete_bucket"}),
    (re.compile(f"{REST}/job/([^/]+)"), {"GET": "_get_job", "DELETE": "_cancel_job"}),
    (re.compile(f"/(?!{REST[1:]}/)([^/]+)/(.+)"), {"PUT": "_put_object"}),  # /{bucket}/{object name}
)
_CREATE_PARAMETERS = ("notification_end_point", "format", "job_id", "naming_convention", "notification_http_method")
_LIST_PARAMETERS = ("page_length", "page_offset", "page_start_marker", "last_page", "user_id")


class ApiError(Exception):
    """An error answer: status, BlackPearl's Code word, a message and the id concerned."""

    def __init__(self, status: int, code: str, message: str, resource_id: str = "",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.resource_id = status, code, message, resource_id
        self.headers = dict(headers or {})


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _bad_request(message: str, resource_id: str = "") -> ApiError:
    return ApiError(400, "BadRequest", message, resource_id)


# ================================================================== the app


class SpectraApp:
    """The WSGI app of the Spectra S3 reference server, mounted at the root. All state is behind `self.lock`."""

    protocol = "spectra"
    mount = MOUNT

    def __init__(self, faults: Iterable[str] = ()) -> None:
        self.faults = frozenset(faults)
        self.lock = threading.RLock()
        self.registrations: dict[str, Registration] = {}  # in creation order
        self.issued: set[str] = set()  # every registration id ever handed out
        self._soft_deleted: set[str] = set()  # only the sp-delete-soft fault fills it
        self.buckets: dict[str, Bucket] = {}
        self.jobs: dict[str, Job] = {}
        self.dispatcher = Dispatcher("spectra")

    # -------------------------------------------------------------- ProtocolApp interface

    def target_section(self, base_url: str) -> dict[str, Any]:
        users = {user.name: {"access_id": user.access_id, "secret_key_env": user.secret_env}
                 for user in USERS.values()}
        return {"base_url": base_url, "users": users}

    def env(self) -> dict[str, str]:
        return {user.secret_env: user.secret_key for user in USERS.values()}

    def close(self) -> None:
        """Stop the delivery pool (idempotent, quick)."""
        self.dispatcher.close()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """For tests: True once every delivery so far was attempted and its bookkeeping written."""
        return self.dispatcher.wait_idle(timeout)

    # -------------------------------------------------------------- WSGI

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return call_wsgi(self.handle, MAX_BODY_BYTES, environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            user = self._authenticate(request.environ)
            handler, args = self._route(request)
            return handler(request, user, *args)
        except ApiError as error:
            return self._error(request, error)

    def _route(self, request: Request) -> tuple[Callable[..., Response], tuple[str, ...]]:
        path = request.path
        for pattern, methods in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if request.method not in methods:
                raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on {path}",
                               headers={"Allow": ", ".join(methods)})
            return getattr(self, methods[request.method]), match.groups()
        raise ApiError(404, "NotFound", f"no resource at {path}")

    # -------------------------------------------------------------- authentication (NOTES §2.2)

    def _authenticate(self, environ: Mapping[str, Any]) -> SpectraUser:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header and "sp-unsigned-accepted" in self.faults:
            return USERS["admin"]
        scheme, _, credentials = header.partition(" ")
        access_id, _, given = credentials.strip().partition(":")
        if scheme != "AWS" or not access_id or not given:
            raise ApiError(403, "Forbidden", "missing or malformed Authorization header (AWS access-id:signature)")
        if not environ.get("HTTP_DATE") and not environ.get("HTTP_X_AMZ_DATE"):
            raise ApiError(403, "Forbidden", "the request has no Date header")
        user = BY_ACCESS_ID.get(access_id)
        if user is None:
            raise ApiError(403, "Forbidden", f"unknown access id {access_id!r}")
        if not user.signature_matches(environ, given):
            raise ApiError(403, "Forbidden", "the signature does not match the request")
        return user

    # -------------------------------------------------------------- query parameters

    def _parameters(self, args: MultiDict[str, str], known: tuple[str, ...]) -> dict[str, str]:
        """The known parameters with a non-empty value (empty = absent); 400 InvalidUri for an unknown one."""
        for name in args:
            if name not in known and "sp-unknown-parameter-ignored" not in self.faults:
                raise ApiError(400, "InvalidUri", f"unknown query parameter {name!r}; known: {', '.join(known)}")
        return {name: args[name] for name in known if args.get(name)}

    def _enumeration(self, name: str, value: str, allowed: tuple[str, ...]) -> str:
        canonical = value.upper() if "sp-enumeration-case-sensitive" not in self.faults else value
        if canonical not in allowed:
            raise _bad_request(f"{name} {value!r} is not one of {', '.join(allowed)}")
        return canonical

    # -------------------------------------------------------------- registrations (NOTES §2.1)

    def _create(self, request: Request, user: SpectraUser) -> Response:
        given = self._parameters(request.args, _CREATE_PARAMETERS)
        endpoint = given.get("notification_end_point", "")
        if not endpoint and "sp-missing-endpoint-accepted" not in self.faults:
            raise ApiError(400, "InvalidUri", "notification_end_point is required")
        refused: ApiError | None = None  # only sp-refused-stored defers a refusal until after the store
        try:
            fmt = self._enumeration("format", given.get("format", "DEFAULT"), FORMATS)
        except ApiError as error:
            if "sp-refused-stored" not in self.faults:
                raise
            fmt, refused = "DEFAULT", error
        naming_given = "naming_convention" in given
        try:
            naming = self._enumeration("naming_convention", given.get("naming_convention", DEFAULT_CONVENTION),
                                       CONVENTIONS)
        except ApiError:
            if "sp-bad-enumeration-accepted" not in self.faults:
                raise
            naming, naming_given = DEFAULT_CONVENTION, False
        method = self._enumeration("notification_http_method", given.get("notification_http_method", "POST"),
                                   HTTP_METHODS)
        job_id = given.get("job_id", "")
        if job_id and not _UUID.fullmatch(job_id) and "sp-job-id-not-uuid-404" not in self.faults:
            raise _bad_request(f"job_id {job_id!r} is not a UUID", job_id)
        job_id = job_id.lower()
        with self.lock:
            job = self.jobs.get(job_id) if job_id else None
            if job_id and (job is None or job.status != "IN_PROGRESS") and "sp-unknown-job-accepted" not in self.faults:
                raise ApiError(404, "NotFound", f"no active job {job_id}", job_id)
            if not job_id and not user.administrator and "sp-ordinary-all-jobs" not in self.faults:
                raise ApiError(403, "Forbidden", "only an administrator may register for all jobs (give job_id)")
            registration = Registration(str(uuid.uuid4()), user.user_id, _now(), fmt, job_id, endpoint, method,
                                        naming, naming_given)
            self.registrations[registration.id] = registration
            self.issued.add(registration.id)
            body = self._registration_xml(registration)
        if refused is not None:
            raise refused
        return _xml(body, 200 if "sp-create-200" in self.faults else 201)

    def _get(self, request: Request, user: SpectraUser, registration_id: str) -> Response:
        self._parameters(request.args, ())
        with self.lock:
            registration = self._find(registration_id)
            return _xml(self._registration_xml(registration, view="get"))

    def _list(self, request: Request, user: SpectraUser) -> Response:
        given = self._parameters(request.args, _LIST_PARAMETERS)
        length = _count(given, "page_length", minimum=1)
        offset = _count(given, "page_offset", minimum=0)
        user_id = given.get("user_id", "")
        if user_id and not _UUID.fullmatch(user_id):
            raise _bad_request(f"user_id {user_id!r} is not a UUID", user_id)
        with self.lock:
            records = [registration for registration in self.registrations.values()
                       if registration.id not in self._soft_deleted
                       and (not user_id or registration.user_id == user_id.lower())]
            if length is None and offset is None and "sp-list-omits-newest" in self.faults:
                records = records[:-1]
            length = DEFAULT_PAGE_LENGTH if length is None else length
            offset = 0 if offset is None else offset
            start = offset - 1 if offset > 0 and "sp-paging-overlap" in self.faults else offset
            page = records[start:start + length]
            root = ET.Element("Data")
            for registration in page:
                root.append(self._registration_element(registration, "JobCompletedNotificationRegistration"))
        response = _xml(_xml_bytes(root))
        total = len(records)
        if "sp-paging-no-truncated" not in self.faults:
            response.headers["Page-Truncated"] = str(max(0, total - offset - length))
        response.headers["Total-Result-Count"] = str(total)
        return response

    def _delete(self, request: Request, user: SpectraUser, registration_id: str) -> Response:
        self._parameters(request.args, ())
        with self.lock:
            registration = self._find(registration_id)
            if (not user.administrator and registration.user_id != user.user_id
                    and "sp-delete-any-user" not in self.faults):
                raise ApiError(403, "Forbidden", "only an administrator or its creator may delete a registration",
                               registration_id)
            if "sp-delete-soft" in self.faults:
                self._soft_deleted.add(registration.id)
            else:
                del self.registrations[registration.id]
        return _empty(200 if "sp-delete-200" in self.faults else 204)

    def _find(self, registration_id: str) -> Registration:
        """The registration of that id (call with the lock held); 404, or 500 under sp-unknown-id-500."""
        found = self.registrations.get(registration_id.lower())
        if found is not None:
            return found
        if "sp-unknown-id-500" in self.faults and registration_id.lower() not in self.issued:
            raise ApiError(500, "InternalError", "java.lang.NullPointerException", registration_id)
        raise ApiError(404, "NotFound", f"no job completed notification registration {registration_id}",
                       registration_id)

    # -------------------------------------------------------------- registration documents

    def _registration_xml(self, registration: Registration, view: str = "") -> bytes:
        return _xml_bytes(self._registration_element(registration, "Data", view))

    def _registration_element(self, registration: Registration, root: str, view: str = "") -> ET.Element:
        faults = self.faults
        created = iso_millis(registration.created)
        if "sp-registration-bad-date" in faults:
            created = registration.created.astimezone(timezone.utc).replace(microsecond=0).isoformat()
        last_notification = registration.last_notification
        if last_notification is None and "sp-fresh-last-notification" in faults:
            last_notification = registration.created
        naming = registration.naming_convention
        if not registration.naming_given and "sp-default-naming-shown-lowercase" in faults:
            naming = "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE"
        fields = {
            "CreationDate": created,
            "Format": "DEFAULT" if view == "get" and "sp-get-format-default" in faults else registration.format,
            "Id": registration.id,
            "JobId": "" if "sp-echo-drops-job-id" in faults else registration.job_id,
            "LastFailure": registration.last_failure,
            "LastHttpResponseCode": "" if registration.last_code is None else str(registration.last_code),
            "LastNotification": "" if last_notification is None else iso_millis(last_notification),
            "NamingConvention": naming,
            "NotificationEndPoint": registration.endpoint,
            "NotificationHttpMethod": registration.method,
            "NumberOfFailuresSinceLastSuccess": str(registration.failures),
            "UserId": registration.user_id,
        }
        element = ET.Element(root)
        for name, text in fields.items():
            ET.SubElement(element, name).text = text or None
        return element

    # -------------------------------------------------------------- buckets, jobs, objects (NOTES §2.3)

    def _create_bucket(self, request: Request, user: SpectraUser) -> Response:
        name = request.args.get("name", "")
        if not name or "/" in name:
            raise _bad_request("name is required (a bucket name without '/')")
        with self.lock:
            if name in self.buckets:
                raise ApiError(409, "Conflict", f"bucket {name} already exists", name)
            bucket = self.buckets[name] = Bucket(str(uuid.uuid4()), name)
        root = ET.Element("Data")
        ET.SubElement(root, "BucketId").text = bucket.id
        ET.SubElement(root, "Name").text = bucket.name
        return _xml(_xml_bytes(root), 201)

    def _delete_bucket(self, request: Request, user: SpectraUser, name: str) -> Response:
        with self.lock:
            if self.buckets.pop(name, None) is None:
                raise ApiError(404, "NotFound", f"no bucket {name}", name)
            for job in [job for job in self.jobs.values() if job.bucket == name]:
                del self.jobs[job.id]  # unfinished jobs are cancelled without a notification
                self._drop_bound(job.id)
        return _empty(204)

    def _start_bulk_put(self, request: Request, user: SpectraUser, name: str) -> Response:
        if request.args.get("operation") != "start_bulk_put":
            raise _bad_request("operation=start_bulk_put is required")
        wanted = _bulk_objects(request.get_data())
        with self.lock:
            if name not in self.buckets:
                raise ApiError(404, "NotFound", f"no bucket {name}", name)
            blobs = {object_name: Blob(str(uuid.uuid4()), object_name, size, str(uuid.uuid4()))
                     for object_name, size in wanted}
            job = Job(str(uuid.uuid4()), name, user, blobs, str(uuid.uuid4()), _now())
            self.jobs[job.id] = job
        root = ET.Element("MasterObjectList", {
            "BucketName": name, "JobId": job.id, "RequestType": "PUT", "StartDate": iso_millis(job.started),
            "Status": job.status, "UserId": user.user_id, "UserName": user.name,
        })
        chunk = ET.SubElement(root, "Objects", {"ChunkId": job.chunk_id, "ChunkNumber": "1"})
        for blob in blobs.values():
            ET.SubElement(chunk, "Object", {"InCache": "false", "Length": str(blob.length), "Name": blob.name,
                                            "Offset": str(blob.offset)})
        return _xml(_xml_bytes(root))

    def _put_object(self, request: Request, user: SpectraUser, bucket: str, name: str) -> Response:
        job_id = request.args.get("job", "").lower()
        if not job_id:
            raise _bad_request("job is required (objects are put as part of a bulk put job)")
        if request.args.get("offset", "0") != "0":
            raise _bad_request("offset must be 0 (every object is one blob)")
        data = request.get_data()
        with self.lock:
            job = self.jobs.get(job_id)
            if bucket not in self.buckets:
                raise ApiError(404, "NotFound", f"no bucket {bucket}", bucket)
            if job is None or job.status != "IN_PROGRESS" or job.bucket != bucket:
                raise ApiError(404, "NotFound", f"no active job {job_id} on bucket {bucket}", job_id)
            if name not in job.blobs:
                raise ApiError(404, "NotFound", f"object {name} is not part of job {job_id}", name)
            job.received.add(name)
            self.buckets[bucket].objects[name] = len(data)
            if job.received == set(job.blobs):
                self._complete(job, cancelled=False)
        return _empty(200)

    def _get_job(self, request: Request, user: SpectraUser, job_id: str) -> Response:
        with self.lock:
            job = self.jobs.get(job_id.lower())
            if job is None:
                raise ApiError(404, "NotFound", f"no job {job_id}", job_id)
            root = ET.Element("Data")
            for name, text in (("BucketName", job.bucket), ("JobId", job.id), ("Status", job.status),
                               ("UserId", job.owner.user_id)):
                ET.SubElement(root, name).text = text
        return _xml(_xml_bytes(root))

    def _cancel_job(self, request: Request, user: SpectraUser, job_id: str) -> Response:
        with self.lock:
            job = self.jobs.get(job_id.lower())
            if job is None or job.status != "IN_PROGRESS":  # BlackPearl forgets completed jobs
                raise ApiError(404, "NotFound", f"no active job {job_id}", job_id)
            self._complete(job, cancelled=True)
        return _empty(204)

    # -------------------------------------------------------------- completion and deliveries (NOTES §2.4)

    def _complete(self, job: Job, *, cancelled: bool) -> None:
        """Mark the job done and hand one delivery per firing registration to the dispatcher (lock held)."""
        job.status = "CANCELED" if cancelled else "COMPLETED"
        missing = tuple(blob for name, blob in job.blobs.items() if name not in job.received)
        completion = Completion(job.id, cancelled, missing, _now())
        firing = [] if cancelled and "sp-dlv-not-on-cancel" in self.faults else [
            registration for registration in self.registrations.values() if self._fires(registration, job)]
        for registration in firing:
            convention = registration.naming_convention
            if not registration.naming_given and "sp-dlv-default-convention-lowercase" in self.faults:
                convention = "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE"
            content_type, body = render(completion, registration.format, convention, self.faults)
            method = "POST" if "sp-dlv-put-ignored" in self.faults else registration.method
            retry = "sp-dlv-retry-on-error" in self.faults  # once more after a non-2xx answer (never without one)
            outbound = Outbound(registration.endpoint, method, {"Content-Type": content_type}, body,
                                attempts=2 if retry else 1, timeout=DELIVERY_TIMEOUT, retry_unanswered=False)
            self.dispatcher.send(outbound, functools.partial(self._record, registration.id, registration.endpoint),
                                 functools.partial(self._delivered, registration.id, registration.job_id == job.id))
        fired = {registration.id for registration in firing}
        self._drop_bound(job.id, keep=fired)  # the firing ones go after their delivery

    def _fires(self, registration: Registration, job: Job) -> bool:
        """Whether a registration fires for a completed job: its user owns the job, and it is for every job or
        for that one (lock held)."""
        if registration.id in self._soft_deleted or registration.user_id != job.owner.user_id:
            return False
        return registration.job_id in ("", job.id) or "sp-dlv-job-filter-ignored" in self.faults

    def _drop_bound(self, job_id: str, keep: set[str] | None = None) -> None:
        """Remove the registrations bound to a finished job, except `keep` (lock held)."""
        for registration in list(self.registrations.values()):
            if registration.job_id == job_id and registration.id not in (keep or set()):
                del self.registrations[registration.id]

    def _record(self, registration_id: str, endpoint: str, outcome: Outcome) -> None:
        """Bookkeeping after one attempt (NOTES §2.4): any HTTP answer is a delivery, no answer a failure."""
        faults = self.faults
        with self.lock:
            registration = self.registrations.get(registration_id)
            if registration is None:
                return
            if outcome.status is None:
                registration.last_code = None
                if "sp-book-no-answer-not-counted" in faults:
                    registration.last_failure = ""
                else:
                    registration.failures += 1
                    registration.last_failure = outcome.failure
                return
            unrecorded = "sp-book-no-code" if outcome.success else "sp-book-error-no-code"
            if unrecorded not in faults:
                registration.last_code = outcome.status
            registration.last_notification = outcome.finished
            if not outcome.success and "sp-book-error-counted" in faults:
                registration.failures += 1
                registration.last_failure = f"{endpoint} answered HTTP {outcome.status}"
                return
            if not (outcome.success and "sp-book-no-reset" in faults):
                registration.failures = 0
            registration.last_failure = ""

    def _delivered(self, registration_id: str, bound_to_the_job: bool) -> None:
        """After the last attempt: a registration bound to the completed job goes with it (as BlackPearl does)."""
        if bound_to_the_job:
            with self.lock:
                self.registrations.pop(registration_id, None)

    # -------------------------------------------------------------- answers

    def _error(self, request: Request, error: ApiError) -> Response:
        code = convert(error.code, "CONSTANT") if "sp-error-code-constant" in self.faults else error.code
        root = ET.Element("Error")
        for name, text in (("Code", code),
                           ("HttpErrorCode", "400" if "sp-error-http-code-400" in self.faults else str(error.status)),
                           ("Message", error.message), ("Resource", request.path), ("ResourceId", error.resource_id)):
            ET.SubElement(root, name).text = text or None
        response = _xml(_xml_bytes(root), error.status)
        response.headers.update(error.headers)
        return response


def _count(given: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    if name not in given:
        return None
    text = given[name]
    if not (text.isascii() and text.isdigit()) or int(text) < minimum or int(text) >= 2**31:
        raise _bad_request(f"{name} must be an integer of at least {minimum}, not {text!r}")
    return int(text)


def _bulk_objects(body: bytes) -> list[tuple[str, int]]:
    """(name, size) of each object of a start_bulk_put body; 400 for anything wrong with it."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as error:
        raise _bad_request(f"malformed Objects document: {error}") from None
    if root.tag != "Objects" or len(root) == 0:
        raise _bad_request("the body must be <Objects> holding one or more <Object Name=... Size=.../>")
    found: dict[str, int] = {}
    for element in root:
        name, size = element.get("Name", ""), element.get("Size", "")
        if element.tag != "Object" or not name or not (size.isascii() and size.isdigit()):
            raise _bad_request("each object must be <Object Name=... Size=.../> with a size in bytes")
        if name in found:
            raise _bad_request(f"object {name} is named twice", name)
        found[name] = int(size)
    return list(found.items())


def _xml_bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status, content_type="application/xml")


def _empty(status: int) -> Response:
    response = Response(b"", status)
    del response.headers["Content-Type"]
    return response
