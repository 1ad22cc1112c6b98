"""The reference Spectra S3 (BlackPearl) server: job-completed notification registrations (NOTES §2), with
injectable faults. `SpectraApp` routes, authenticates and answers; buckets, bulk-put jobs and what their completion
does (deliveries, see `delivery`, and their bookkeeping) are its `JobEngine`'s (`jobs`), which shares its lock.

It shares no code with the suite (nothing from conformance/ outside conformance/reference/ is imported): its own
signature check (`users`), naming conventions and XML, so a bug on the suite side cannot hide behind the same bug
here. Spectra documents have no XML namespace.

Resources (all below the server root, every request signed, NOTES §2.2):
- GET / (the buckets, as S3's and BlackPearl's Get Service list them); POST /_rest_/bucket?name=B;
  DELETE /_rest_/bucket/B[?force]
- PUT /_rest_/bucket/B?operation=start_bulk_put (body `<Objects><Object Name= Size=/>...</Objects>`)
- PUT /B/OBJECT?job=J&offset=0 (the object's bytes); GET /_rest_/job/J; DELETE /_rest_/job/J[?force] (cancel)
- POST, GET /_rest_/job_completed_notification_registration; GET, DELETE .../{id}

Users and their credentials: see `users`. Faults (`conformance.reference.faults`) change settings of
`behaviour.SpectraBehaviour` (`app.behaviour`), each read at the one spot its bug lives.
"""

from __future__ import annotations

import re
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from ..behaviours import BEHAVIOURS, DATA_POLICY_ID
from ..server import call_wsgi
from .behaviour import for_faults
from .delivery import CONVENTIONS, DEFAULT_CONVENTION, FORMATS, convert, iso_millis
from .errors import ApiError
from .errors import bad_request as _bad_request
from .jobs import JobEngine
from .store import Registration
from .store import now as _now
from .users import BY_ACCESS_ID, BY_ID, USERS, SpectraUser

MOUNT = ""  # every path not claimed by a longer mount (VidiCore keeps /API)
REST = "/_rest_"
REGISTRATIONS = f"{REST}/job_completed_notification_registration"
HTTP_METHODS = ("POST", "PUT", "GET", "DELETE", "HEAD")  # BlackPearl accepts any of its request types
DEFAULT_PAGE_LENGTH = 1000
MAX_BODY_BYTES = 16 * 1024 * 1024
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# path pattern -> method -> the SpectraApp method serving it (called with the pattern's groups)
_ROUTES: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = (
    (re.compile(re.escape(REGISTRATIONS)), {"POST": "_create", "GET": "_list"}),
    (re.compile(re.escape(REGISTRATIONS) + "/([^/]+)"), {"GET": "_get", "DELETE": "_delete"}),
    (re.compile("/"), {"GET": "_list_buckets"}),
    (re.compile(f"{REST}/bucket"), {"POST": "_create_bucket"}),
    (re.compile(f"{REST}/bucket/([^/]+)"), {"PUT": "_start_bulk_put", "DELETE": "_delete_bucket"}),
    (re.compile(f"{REST}/job/([^/]+)"), {"GET": "_get_job", "DELETE": "_cancel_job"}),
    (re.compile(f"{REST}/user"), {"GET": "_list_users"}),
    (re.compile(f"{REST}/user/([^/]+)"), {"GET": "_get_user"}),
    (re.compile(f"/(?!{REST[1:]}/)([^/]+)/(.+)"), {"PUT": "_put_object"}),  # /{bucket}/{object name}
)
_CREATE_PARAMETERS = ("notification_end_point", "format", "job_id", "naming_convention", "notification_http_method")
_LIST_PARAMETERS = ("page_length", "page_offset", "page_start_marker", "last_page", "user_id")


# ================================================================== the app


class SpectraApp:
    """The WSGI app of the Spectra S3 reference server, mounted at the root. All state is behind `self.lock`."""

    protocol = "spectra"
    mount = MOUNT

    def __init__(self, faults: Iterable[str] = (), behaviours: Iterable[str] = ()) -> None:
        self.faults = frozenset(faults)
        self.behaviours = frozenset(behaviours)  # conforming ways of a real server (conformance.reference.behaviours)
        self.behaviour = for_faults(self.faults, self.behaviours)
        self.lock = threading.RLock()
        self.registrations: dict[str, Registration] = {}  # in creation order
        self.issued: set[str] = set()  # every registration id ever handed out
        self._soft_deleted: set[str] = set()  # only behaviour.delete_soft fills it
        self._allocated: set[tuple[str, str]] = set()  # only behaviour.cache_busy_seconds fills it
        self.jobs = JobEngine(self)
        self.pending = self.jobs.pending
        self.node_id = str(uuid.uuid4())  # the one data-path node this appliance has (MasterObjectList's Nodes)

    # -------------------------------------------------------------- ProtocolApp interface

    def target_section(self, base_url: str) -> dict[str, Any]:
        users = {user.name: {"access_id": user.access_id, "secret_key_env": user.secret_env}
                 for user in USERS.values()}
        extra = {key: value for name in sorted(self.behaviours) for key, value in BEHAVIOURS[name].target}
        return {"base_url": base_url, **extra, "users": users}

    def env(self) -> dict[str, str]:
        return {user.secret_env: user.secret_key for user in USERS.values()}

    def close(self) -> None:
        """Stop the delivery pool (idempotent, quick)."""
        self.jobs.close()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """True as soon as every delivery so far was attempted and its bookkeeping written; False if that does not
        happen within `timeout` seconds."""
        return self.jobs.wait_idle(timeout)

    def dispatchable(self) -> list[Registration]:
        """The registrations a job's completion may fire: every one not deleted (call with the lock held)."""
        return [registration for registration in self.registrations.values()
                if registration.id not in self._soft_deleted]

    # -------------------------------------------------------------- WSGI

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return call_wsgi(self.handle, MAX_BODY_BYTES, environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            user = self._authenticate(request.environ)
            handler, args = self._route(request)
            response = handler(request, user, *args)
        except ApiError as error:
            response = self._error(request, error)
        if self.behaviour.xml_media_type and response.mimetype == "application/xml":
            response.headers["Content-Type"] = self.behaviour.xml_media_type
        return response

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
        if not header and self.behaviour.unsigned_user is not None:
            return USERS[self.behaviour.unsigned_user]
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
            if name not in known and self.behaviour.unknown_parameters_refused:
                raise ApiError(400, "InvalidUri", f"unknown query parameter {name!r}; known: {', '.join(known)}")
        return {name: args[name] for name in known if args.get(name)}

    def _enumeration(self, name: str, value: str, allowed: tuple[str, ...]) -> str:
        if self.behaviour.enumerations_mixed_case_refused and value not in (value.upper(), value.lower(),
                                                                            value.capitalize()):
            raise _bad_request(f"{name} {value!r} is not one of {', '.join(allowed)}")
        canonical = value.upper() if self.behaviour.enumerations_any_case else value
        if canonical not in allowed:
            raise _bad_request(f"{name} {value!r} is not one of {', '.join(allowed)}")
        return canonical

    # -------------------------------------------------------------- registrations (NOTES §2.1)

    def _create(self, request: Request, user: SpectraUser) -> Response:
        given = self._parameters(request.args, _CREATE_PARAMETERS)
        endpoint = given.get("notification_end_point", "")
        behaviour = self.behaviour
        if behaviour.endpoint_query_dropped:
            endpoint = endpoint.partition("?")[0]
        if behaviour.endpoint_limit is not None:
            endpoint = endpoint[:behaviour.endpoint_limit]
        if behaviour.empty_job_id_refused and request.args.get("job_id") == "":
            raise _bad_request("job_id '' is not a UUID", "")
        if not endpoint and behaviour.endpoint_required:
            raise ApiError(400, "InvalidUri", "notification_end_point is required")
        refused: ApiError | None = None  # only behaviour.bad_format_stored defers a refusal past the store
        try:
            fmt = self._enumeration("format", given.get("format", "DEFAULT"), FORMATS)
        except ApiError as error:
            if not behaviour.bad_format_stored:
                raise
            fmt, refused = "DEFAULT", error
        naming_given = "naming_convention" in given
        try:
            naming = self._enumeration("naming_convention", given.get("naming_convention", DEFAULT_CONVENTION),
                                       CONVENTIONS)
        except ApiError:
            if not behaviour.bad_naming_convention_defaulted:
                raise
            naming, naming_given = DEFAULT_CONVENTION, False
        method = self._enumeration("notification_http_method", given.get("notification_http_method", "POST"),
                                   HTTP_METHODS)
        job_id = given.get("job_id", "")
        if job_id and not _UUID.fullmatch(job_id) and behaviour.job_id_uuid_checked:
            raise _bad_request(f"job_id {job_id!r} is not a UUID", job_id)
        job_id = job_id.lower()
        with self.lock:
            if job_id and self.jobs.active(job_id) is None and behaviour.job_existence_checked:
                raise ApiError(404, "NotFound", f"no active job {job_id}", job_id)
            if not job_id and not user.administrator and behaviour.all_jobs_admin_only:
                raise ApiError(403, "Forbidden", "only an administrator may register for all jobs (give job_id)")
            registration = Registration(str(uuid.uuid4()), user.user_id, _now(), fmt, job_id, endpoint, method,
                                        naming, naming_given)
            self.registrations[registration.id] = registration
            self.issued.add(registration.id)
            body = self._registration_xml(registration)
        if refused is not None:
            raise refused
        return _xml(body, behaviour.create_status)

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
            if length is None and offset is None and self.behaviour.list_omits_newest:
                records = records[:-1]
            length = DEFAULT_PAGE_LENGTH if length is None else length
            offset = 0 if offset is None else offset
            if self.behaviour.paging_past_end_crashes and offset > len(records):
                raise ApiError(500, "InternalError", "index out of range")
            start = offset - self.behaviour.page_overlap if offset > 0 else offset
            page = records[start:start + length]
            root = ET.Element("Data")
            for registration in page:
                root.append(self._registration_element(registration, "JobCompletedNotificationRegistration"))
        response = _xml(_xml_bytes(root))
        total = len(records)
        if self.behaviour.page_truncated_header:
            response.headers["Page-Truncated"] = str(max(0, total - offset - length))
        response.headers["Total-Result-Count"] = str(len(page) if self.behaviour.total_count_of_page else total)
        return response

    def _delete(self, request: Request, user: SpectraUser, registration_id: str) -> Response:
        self._parameters(request.args, ())
        with self.lock:
            registration = self._find(registration_id)
            if (not user.administrator and registration.user_id != user.user_id
                    and self.behaviour.delete_owner_checked):
                raise ApiError(403, "Forbidden", "only an administrator or its creator may delete a registration",
                               registration_id)
            if self.behaviour.delete_soft:
                self._soft_deleted.add(registration.id)
            else:
                del self.registrations[registration.id]
        return _empty(self.behaviour.delete_status)

    def _get_user(self, request: Request, user: SpectraUser, key: str) -> Response:
        """`GET /_rest_/user/{name or Id}` (and an access id, unless BlackPearl's lookup is on): the user as
        BlackPearl shows it."""
        self._parameters(request.args, ())
        found = USERS.get(key) or BY_ID.get(key.lower())
        if found is None and self.behaviour.user_lookup_by_access_id:
            found = BY_ACCESS_ID.get(key)
        if found is None:
            raise ApiError(404, "NotFound", f"no user {key!r}", key)
        root = ET.Element("Data")
        self._user_fields(root, found)
        return _xml(_xml_bytes(root))

    def _list_users(self, request: Request, user: SpectraUser) -> Response:
        """`GET /_rest_/user`: every user (Data holding one User each), as BlackPearl lists them."""
        self._parameters(request.args, ("page_length", "page_offset", "page_start_marker", "last_page", "name"))
        root = ET.Element("Data")
        for listed in USERS.values():
            self._user_fields(ET.SubElement(root, "User"), listed)
        return _xml(_xml_bytes(root))

    def _user_fields(self, element: ET.Element, user: SpectraUser) -> None:
        policy = DATA_POLICY_ID if self.behaviour.default_data_policy else None
        for key, value in (("AuthId", user.access_id), ("DefaultDataPolicyId", policy), ("Id", user.user_id),
                           ("MaxBuckets", "10000"), ("Name", user.name), ("SecretKey", user.secret_key)):
            ET.SubElement(element, key).text = value

    def _find(self, registration_id: str) -> Registration:
        """The registration of that id (call with the lock held); 404, or 500 with behaviour.unissued_id_crashes."""
        found = self.registrations.get(registration_id.lower())
        if found is not None:
            return found
        if self.behaviour.unissued_id_crashes and registration_id.lower() not in self.issued:
            raise ApiError(500, "InternalError", "java.lang.NullPointerException", registration_id)
        raise ApiError(404, "NotFound", f"no job completed notification registration {registration_id}",
                       registration_id)

    # -------------------------------------------------------------- registration documents

    def _registration_xml(self, registration: Registration, view: str = "") -> bytes:
        return _xml_bytes(self._registration_element(registration, "Data", view))

    def _registration_element(self, registration: Registration, root: str, view: str = "") -> ET.Element:
        behaviour = self.behaviour
        created = iso_millis(registration.created)
        if behaviour.creation_date_without_millis:
            created = registration.created.astimezone(UTC).replace(microsecond=0).isoformat()
        last_notification = registration.last_notification
        if last_notification is None and behaviour.fresh_last_notification_is_creation:
            last_notification = registration.created
        naming = registration.naming_convention
        if not registration.naming_given and behaviour.default_naming_shown is not None:
            naming = behaviour.default_naming_shown
        fields = {
            "CreationDate": created,
            "Format": (view == "get" and behaviour.get_shows_format) or registration.format,
            "Id": registration.id,
            "JobId": registration.job_id if behaviour.shows_job_id else "",
            "LastFailure": registration.last_failure,
            "LastHttpResponseCode": "" if registration.last_code is None else str(registration.last_code),
            "LastNotification": "" if last_notification is None else iso_millis(last_notification),
            "NamingConvention": naming,
            "NotificationEndPoint": registration.endpoint,
            "NotificationHttpMethod": registration.method,
            "NumberOfFailuresSinceLastSuccess": str(registration.failures),
            "UserId": USERS["admin"].user_id if self.behaviour.user_id_of_admin else registration.user_id,
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
        policy = request.args.get("data_policy_id", "")
        if policy and policy.lower() != DATA_POLICY_ID:
            raise ApiError(404, "NotFound", f"no data policy {policy!r}", policy)
        if not policy and not self.behaviour.default_data_policy:
            raise _bad_request(f"no data policy was given and user {user.name} has no default data policy", name)
        bucket = self.jobs.create_bucket(name)
        root = ET.Element("Data")
        ET.SubElement(root, "BucketId").text = bucket.id
        ET.SubElement(root, "Name").text = bucket.name
        return _xml(_xml_bytes(root), 201)

    def _list_buckets(self, request: Request, user: SpectraUser) -> Response:
        """`GET /`: every bucket, oldest first, in S3's ListAllMyBucketsResult (BlackPearl's Get Service)."""
        root = ET.Element("ListAllMyBucketsResult")
        owner = ET.SubElement(root, "Owner")
        ET.SubElement(owner, "DisplayName").text = user.name
        ET.SubElement(owner, "ID").text = user.user_id
        listed = ET.SubElement(root, "Buckets")
        with self.lock:
            for bucket in self.jobs.buckets.values():
                entry = ET.SubElement(listed, "Bucket")
                ET.SubElement(entry, "CreationDate").text = iso_millis(bucket.created)
                ET.SubElement(entry, "Name").text = bucket.name
        return _xml(_xml_bytes(root))

    def _delete_bucket(self, request: Request, user: SpectraUser, name: str) -> Response:
        self.jobs.delete_bucket(name)
        return _empty(204)

    def _start_bulk_put(self, request: Request, user: SpectraUser, name: str) -> Response:
        if request.args.get("operation") != "start_bulk_put":
            raise _bad_request("operation=start_bulk_put is required")
        wanted = _bulk_objects(request.get_data())
        job = self.jobs.start_bulk_put(name, user, wanted)
        size = sum(blob.length for blob in job.blobs.values())
        root = ET.Element("MasterObjectList", {  # what BlackPearl answers (the SDKs read Nodes/Node)
            "Aggregating": "false", "BucketName": name, "CachedSizeInBytes": "0",
            "ChunkClientProcessingOrderGuarantee": "IN_ORDER", "CompletedSizeInBytes": "0",
            "EntirelyInCache": "false", "JobId": job.id, "Naked": "false", "Name": f"PUT by {request.remote_addr}",
            "OriginalSizeInBytes": str(size), "Priority": "NORMAL", "RequestType": "PUT",
            "StartDate": iso_millis(job.started), "Status": job.status, "UserId": user.user_id,
            "UserName": user.name,
        })
        address = urlsplit(f"//{request.host}")  # the data path is this server, as the client named it
        nodes = ET.SubElement(root, "Nodes")
        ET.SubElement(nodes, "Node", {"EndPoint": address.hostname or "", "HttpPort": str(address.port or 80),
                                      "HttpsPort": "443", "Id": self.node_id})
        chunk = ET.SubElement(root, "Objects", {"ChunkId": job.chunk_id, "ChunkNumber": "1", "NodeId": self.node_id})
        for blob in job.blobs.values():
            ET.SubElement(chunk, "Object", {"InCache": "false", "Length": str(blob.length), "Name": blob.name,
                                            "Offset": str(blob.offset)})
        return _xml(_xml_bytes(root))

    def _put_object(self, request: Request, user: SpectraUser, bucket: str, name: str) -> Response:
        job_id = request.args.get("job", "").lower()
        if not job_id:
            raise _bad_request("job is required (objects are put as part of a bulk put job)")
        if request.args.get("offset", "0") != "0":
            raise _bad_request("offset must be 0 (every object is one blob)")
        if self.behaviour.cache_busy_seconds and self._cache_allocated(bucket, name):
            raise ApiError(503, "ServiceUnavailable", "the cache is being allocated for this job's chunk; retry later",
                           name, headers={"Retry-After": str(self.behaviour.cache_busy_seconds)})
        self.jobs.put_object(bucket, job_id, name, len(request.get_data()))
        return _empty(200)

    def _cache_allocated(self, bucket: str, name: str) -> bool:
        """Whether this is an object's first PUT (behaviour.cache_busy_seconds: answered 503, then allocated)."""
        with self.lock:
            first = (bucket, name) not in self._allocated
            self._allocated.add((bucket, name))
            return first

    def _get_job(self, request: Request, user: SpectraUser, job_id: str) -> Response:
        with self.lock:
            job = self.jobs.job(job_id)
            root = ET.Element("Data")
            for name, text in (("BucketName", job.bucket), ("JobId", job.id), ("Status", job.status),
                               ("UserId", job.owner.user_id)):
                ET.SubElement(root, name).text = text
        return _xml(_xml_bytes(root))

    def _cancel_job(self, request: Request, user: SpectraUser, job_id: str) -> Response:
        self.jobs.cancel(job_id)
        return _empty(204)

    # -------------------------------------------------------------- answers

    def _error(self, request: Request, error: ApiError) -> Response:
        behaviour = self.behaviour
        code = convert(error.code, behaviour.error_code_convention) if behaviour.error_code_convention else error.code
        root = ET.Element("Error")
        for name, text in (("Code", code), ("HttpErrorCode", str(behaviour.error_http_code or error.status)),
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
