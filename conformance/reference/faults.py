"""Named faults of the reference server: narrow, plausible bugs that can be switched on one at a time.

Each fault names the catalogue requirements the suite must FAIL (or WARN, for a SHOULD) when it is on, and
only those: running the suite against the reference server with one fault on shows that each requirement is
detectable.

A fault is data: the behaviour settings it changes (`Fault.settings`, e.g. `create_status=201`). Each protocol's
app reads a frozen dataclass of such settings whose defaults are the conforming behaviour
(`conformance.reference.vidicore.behaviour.VidiCoreBehaviour`, `...spectra.behaviour.SpectraBehaviour`), made by
`behaviour(kind, protocol, names, behaviours)`, which also applies the named conforming behaviours
(`conformance.reference.behaviours`); `check_settings` (run when those modules are imported) fails loudly on a
setting the dataclass does not have. This module imports nothing from the package but its sibling `behaviours`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .behaviours import BEHAVIOURS, checked
from .behaviours import resolve as resolve_behaviours

Behaviour = TypeVar("Behaviour")


@dataclass(frozen=True)
class Fault:
    name: str
    protocol: str
    requirements: tuple[str, ...]
    description: str
    settings: tuple[tuple[str, Any], ...] = ()  # (behaviour setting, its value while the fault is on)
    generated: bool = False  # a bug only generated input finds (the hand-written cases pass against it)
    sequence: bool = False   # ... and only a sequence of operations (a stateful model), not one document

    @property
    def changes(self) -> Mapping[str, Any]:
        return dict(self.settings)


def _vidicore(name: str, requirement: str, description: str, **settings: Any) -> Fault:
    return Fault(name, "vidicore", (requirement,), description, tuple(settings.items()))


def _spectra(name: str, requirement: str, description: str, **settings: Any) -> Fault:
    return Fault(name, "spectra", (requirement,), description, tuple(settings.items()))


def _generated(fault: Fault, sequence: bool = False) -> Fault:
    return dataclasses.replace(fault, generated=True, sequence=sequence)


_ALL = (
    _vidicore("slash-404", "VC-PATHS-SLASH", "any path with a trailing slash answers 404", trailing_slash_served=False),
    _vidicore("create-text-status-500", "VC-CREATE-STATUS",
              "create with Accept text/plain stores the notification and answers 500 (body still the id)",
              create_text_status=500),
    _vidicore("create-201", "VC-CREATE-200", "create answers 201", create_status=201),
    _vidicore("create-json-wrong-id", "VC-CREATE-URILIST",
              'create with Accept JSON answers {"uri":["VX-0"]} (stored under the real id)', create_json_uri="VX-0"),
    _vidicore("create-text-urilist", "VC-CREATE-TEXT",
              "create with Accept text/plain answers the XML URIListDocument", create_text_as_xml=True),
    _vidicore("id-lowercase", "VC-ID-FORMAT", 'ids are issued as "vx-<n>" (and accepted in paths)', id_prefix="vx"),
    _vidicore("uri-full-url", "VC-ID-BARE",
              "every <uri> / uri entry (create and list) is the full URL of the notification", uri_is_full_url=True),
    _vidicore("list-omits-newest", "VC-LIST",
              "the XML/JSON list omits the most recently created notification of the resource", list_omits_newest=True),
    _vidicore("list-text-lf", "VC-LIST-TEXT", 'the text/plain list is joined by "\\n"', list_text_separator="\n"),
    _vidicore("retrieve-drops-retry", "VC-RETRIEVE",
              "GET of one notification omits retry from the action (the PUT answer is unaffected)",
              retrieve_omits=("retry",)),
    _vidicore("no-default-synchronous", "VC-DEFAULT-SYNCHRONOUS", "synchronous is not added when absent",
              default_synchronous=None),
    _vidicore("no-default-timeout", "VC-DEFAULT-HTTP-TIMEOUT", "an http timeout is not added when absent",
              default_http_timeout=None),
    _vidicore("change-204", "VC-CHANGE", "PUT stores the change and answers 204 with no body", change_status=204),
    _vidicore("change-not-stored", "VC-CHANGE-PERSISTS",
              "PUT answers 200 with the new document and applies it, but GET of the notification keeps answering "
              "it as it was before (a stale read)", change_shown=False),
    _vidicore("delete-one-204", "VC-DELETE-ONE", "deleting one notification answers 204", delete_one_status=204),
    _vidicore("delete-soft", "VC-DELETED-GONE",
              "deleting one removes it from lists, but GET/PUT/DELETE of its id still work", delete_soft=True),
    _vidicore("delete-all-noop", "VC-DELETE-ALL", "delete all answers 200 and removes nothing",
              delete_all_removes=False),
    _vidicore("unknown-id-500", "VC-NOT-FOUND",
              "GET/PUT/DELETE of an id never issued answers 500 (deleted ids still 404)", unissued_id_crashes=True),
    _vidicore("entity-unknown-200", "VC-ENTITY-NOT-FOUND",
              "single-entity forms for an unknown entity id act as if it existed (empty list, create ok)",
              entity_existence_checked=False),
    _vidicore("invalid-500", "VC-INVALID-400",
              "invalid documents answer 500 (nothing stored; documents lacking only client-required fields "
              "still answer 400)", invalid_status=500),
    _vidicore("invalid-stored", "VC-INVALID-NOT-STORED",
              "a created document refused for a missing required field (http url) answers 400 but is stored",
              refused_create_stored=True),
    _vidicore("client-required-accepted", "VC-INVALID-CLIENT-REQUIRED",
              "documents lacking fields the official client requires (javascript script, ...) are accepted",
              client_required_checked=False),
    _vidicore("wrong-password-accepted", "VC-AUTH", "a known user name with any password is accepted",
              password_checked=False),
    _vidicore("empty-roles-read", "VC-ROLE-READ", "a user with no roles at all may list and get",
              roleless_may_read=True),
    _vidicore("reader-may-write", "VC-ROLE-WRITE", "holding an entity's read role also allows writing it",
              read_role_may_write=True),
    _vidicore("delete-all-read-role", "VC-ROLE-WRITE",
              "delete-all is authorized like a list: the entity's read role is enough",
              delete_all_needs_read_role_only=True),
    _vidicore("forbidden-401", "VC-ROLE-FORBIDDEN-403", "refusals for a missing role answer 401 with no body",
              forbidden_status=401),
    _vidicore("cross-entity-roles", "VC-ROLE-CROSS-ENTITY",
              "any entity's role grants the same access on every other entity (not the placeholder)",
              roles_cross_entities=True),
    _vidicore("write-implies-read", "VC-ROLE-WRITE-NOT-READ", "a write role also grants reading",
              write_role_may_read=True),
    _vidicore("placeholder-any-role", "VC-ROLE-PLACEHOLDER",
              "/notification accepts any entity's read/write role in place of the placeholder role",
              placeholder_takes_any_entity_role=True),
    _vidicore("json-body-415", "VC-BODY-FORMATS",
              "JSON request bodies on the whole-resource paths and /notification answer 415 (single-entity paths "
              "accept them)", json_body_on_whole_resources=False),
    _vidicore("accept-ignored-json", "VC-ACCEPT",
              "GET of one notification answers XML even when Accept is application/json",
              retrieve_follows_accept=False),
    # --- bugs only generated input finds (the hand-written cases send short ASCII values in one order) -------
    _generated(_vidicore("gen-long-values-truncated", "VC-RETRIEVE",
                         "create keeps only the first 1,000 characters of every value", create_text_limit=1000)),
    _generated(_vidicore("gen-latin1-storage", "VC-RETRIEVE", 'create stores every character outside Latin-1 as "?"',
                         create_latin1_only=True)),
    _generated(_vidicore("gen-xml-order-strict", "VC-CREATE-STATUS", "an XML create of a non-http action whose "
                         "fields are not in the server's own order is refused 400", create_xml_order_strict=True)),
    _generated(_vidicore("gen-json-numbers-refused", "VC-BODY-FORMATS", 'a JSON body holding a number ("retry": 3) '
                         "is refused 400 (strings are fine)", json_numbers_refused=True)),
    _generated(_vidicore("gen-url-percent-decoded", "VC-RETRIEVE",
                         "create stores url and endpoint with the escapes of reserved characters decoded "
                         "(%2F as /, %3F as ?)",
                         create_url_percent_decoded=True)),
    _generated(_vidicore("gen-retry-int16", "VC-RETRIEVE", "create stores retry as a 16-bit count: above 32767 it "
                         "reads back 32767", create_retry_int16=True)),
    _generated(_vidicore("gen-change-drops-group", "VC-CHANGE-PERSISTS", "a PUT whose action has both synchronous "
                         "and group stores synchronous only", change_drops_group_with_synchronous=True)),
    _generated(_vidicore("gen-change-lists-twice", "VC-LIST", "after a PUT the notification is named twice in its "
                         "resource's list", change_lists_twice=True)),
    _generated(_vidicore("gen-deleted-after-change-listed", "VC-DELETE-ONE", "a notification deleted after a "
                         "change stays in its resource's list (GET answers 404)", deleted_changed_stays_listed=True),
               sequence=True),
    _generated(_vidicore("gen-change-answer-cached", "VC-CHANGE", "from a notification's second change on, the PUT "
                         "answers the document of its first change (what is stored and retrieved is right)",
                         change_answer_cached=True), sequence=True),
    _vidicore("json-empty-object-400", "VC-JSON-EMPTY-OBJECT", 'an event sent as {} is refused 400 ("" is fine)',
              empty_object_event_accepted=False),
    _vidicore("scope-merged", "VC-SCOPE",
              "the whole-resource list of an entity also names its single-entity notifications",
              list_scopes_merged=True),
    _vidicore("notification-xml-no-namespace", "VC-XSD-NOTIFICATION",
              "XML NotificationDocument answers carry no namespace", notification_xml_namespace=False),
    _vidicore("list-xml-no-namespace", "VC-XSD-URILIST",
              "XML list answers (not create answers) carry no namespace", list_xml_namespace=False),
    _vidicore("exception-no-namespace", "VC-XSD-EXCEPTION", "XML ExceptionDocuments carry no namespace",
              exception_xml_namespace=False),
    _vidicore("json-notification-wrapped", "VC-JSON-NOTIFICATION",
              'JSON NotificationDocument answers are wrapped {"NotificationDocument": {...}}',
              notification_json_wrapped=True),
    _vidicore("json-urilist-key", "VC-JSON-URILIST", 'JSON list answers (not create answers) use the key "uris"',
              list_json_key="uris"),
    # ---------------------------------------------------------------- VidiCore deliveries (job engine)
    # (appended below this line)
    _vidicore("dlv-finished-early-status", "VC-DLV-FINISHED",
              "the finished event's delivery says status STARTED (read before the status is updated)",
              finished_status_read_early=True),
    _vidicore("dlv-fail-status", "VC-DLV-FAIL", "the fail event's delivery says status FAILED (not FAILED_TOTAL)",
              fail_status="FAILED"),
    _vidicore("dlv-stop-action", "VC-DLV-STOP", "the stop event's delivery says action UPDATE", stop_action="UPDATE"),
    _vidicore("dlv-create-action", "VC-DLV-CREATE", "the create event's delivery says action NEW", create_action="NEW"),
    _vidicore("dlv-twice", "VC-DLV-ONCE", "with retry 0 (or absent) every delivery is sent twice",
              rounds_without_retry=2),
    _vidicore("dlv-method-ignored", "VC-DLV-METHOD", "every delivery is a POST, whatever method says",
              delivery_method="POST"),
    _vidicore("dlv-default-put", "VC-DLV-DEFAULT-METHOD", "without a method the delivery is a PUT",
              default_delivery_method="PUT"),
    _vidicore("dlv-content-type-ignored", "VC-DLV-CONTENT-TYPE",
              "the delivery's Content-Type is always application/xml (the body still follows contentType)",
              delivery_content_type="application/xml"),
    _vidicore("dlv-default-json", "VC-DLV-DEFAULT-CONTENT-TYPE",
              "without a contentType the delivery is JSON (header and body)",
              default_delivery_content_type="application/json"),
    _vidicore("dlv-xml-no-namespace", "VC-DLV-XSD", "the XML delivery body carries no namespace",
              payload_xml_namespace=False),
    _vidicore("dlv-json-wrapped", "VC-DLV-JSON",
              'the JSON delivery body is wrapped {"SimpleMetadataDocument": {"field": [...]}}',
              payload_json_wrapped=True),
    _vidicore("dlv-no-user", "VC-DLV-KEYS", "deliveries lack the user key", payload_user=False),
    _vidicore("dlv-user-system", "VC-DLV-JOB", 'deliveries name the user "system" (the job engine), not the user '
              "that started the job", payload_user_name="system"),
    _vidicore("dlv-item-id-is-job", "VC-DLV-SHOULD-KEYS", "the delivered itemId names the job, not its item",
              payload_item_is_job=True),
    _vidicore("dlv-started-local-time", "VC-DLV-SHOULD-KEYS",
              "started is the job's local start time (UTC-05:00) written as UTC: five hours early",
              started_offset_hours=-5),
    _vidicore("dlv-wrong-jobid", "VC-DLV-JOB", 'the delivered jobId is the job\'s id with "0" appended',
              payload_job_id_suffix="0"),
    _vidicore("dlv-few-keys", "VC-DLV-SHOULD-KEYS", "deliveries lack itemId and the jobmetadata keys",
              payload_item_and_metadata=False),
    _vidicore("dlv-type-filter-ignored", "VC-DLV-FILTER-TYPE", "filter/type is not applied (jobdata still is)",
              type_filter_applied=False),
    _vidicore("dlv-item-scope-ignored", "VC-DLV-ITEM-SCOPE",
              "a job notification on one item fires for jobs on every (existing) item", item_scope_any_item=True),
    _vidicore("dlv-placeholder-all", "VC-DLV-PLACEHOLDER-SCOPE", "a placeholder notification fires for every job",
              placeholder_fires_for_every_job=True),
    _vidicore("dlv-after-delete", "VC-DLV-AFTER-DELETE",
              "a notification on one item, deleted on its own, is gone from the API but still fires (deleting "
              "the item really removes it)", deleted_item_notification_fires=True),
    _vidicore("dlv-change-ignored", "VC-DLV-AFTER-CHANGE",
              "deliveries use the action as it was created (a PUT changes only what the API shows)",
              fires_action_as_created=True),
    _vidicore("dlv-no-retry", "VC-DLV-RETRY-PERFORMED",
              "an attempt answered 500 is not retried, whatever retry says (503 and timeouts are)",
              unretried_status=500),
    _vidicore("dlv-extra-retry", "VC-DLV-RETRY-BOUND",
              "when every attempt fails, 2 + retry attempts are made (a success still ends them)", extra_attempts=1),
    _vidicore("dlv-retry-once", "VC-DLV-RETRY-EXACT", "at most one retry, whatever retry says", max_retries=1),
    _vidicore("dlv-timeout-ignored", "VC-DLV-TIMEOUT",
              "the timeout is not applied: an attempt waits up to 60 s, and a slow 2xx answer is a success",
              timeout_applied=False),
    # ---------------------------------------------------------------- Spectra S3
    _spectra("sp-create-200", "SP-CREATE-201", "create answers 200 (the registration is stored)", create_status=200),
    _spectra("sp-echo-drops-job-id", "SP-CREATE-ECHO",
             "the registration document shows JobId empty even when job_id was given (it is stored and applied)",
             shows_job_id=False),
    _spectra("sp-default-naming-shown-lowercase", "SP-CREATE-DEFAULTS",
             "without naming_convention the document shows CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE "
             "(deliveries still use the upper-case default)",
             default_naming_shown="CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE"),
    _spectra("sp-fresh-last-notification", "SP-CREATE-FRESH",
             "a new registration shows LastNotification = its CreationDate", fresh_last_notification_is_creation=True),
    _spectra("sp-registration-bad-date", "SP-XSD-REGISTRATION",
             "CreationDate is written 2026-11-23T10:00:00+00:00 (no milliseconds, no Z)",
             creation_date_without_millis=True),
    _spectra("sp-get-format-default", "SP-GET", "get-one always shows Format DEFAULT", get_shows_format="DEFAULT"),
    _spectra("sp-list-omits-newest", "SP-LIST",
             "the list without page_length/page_offset omits the newest registration", list_omits_newest=True),
    _spectra("sp-paging-overlap", "SP-PAGING",
             "a page with page_offset > 0 starts one record early (headers computed from the parameters)",
             page_overlap=1),
    _spectra("sp-userid-of-admin", "SP-USER-ID", "every registration shows the administrator's UserId, whoever "
             "signed the create (the real owner still may delete it and gets its deliveries)", user_id_of_admin=True),
    _spectra("sp-paging-total-of-page", "SP-PAGING-HEADERS-TRUTH", "Total-Result-Count counts the records of the "
             "page, not all registrations", total_count_of_page=True),
    _spectra("sp-paging-no-truncated", "SP-PAGING-HEADERS", "list answers carry no Page-Truncated header",
             page_truncated_header=False),
    _spectra("sp-delete-200", "SP-DELETE", "delete answers 200 (empty body)", delete_status=200),
    _spectra("sp-delete-soft", "SP-DELETED-GONE",
             "a deleted registration leaves the list but get-one and delete of its id still work", delete_soft=True),
    _spectra("sp-unknown-id-500", "SP-NOT-FOUND",
             "get/delete of an id never issued answers 500 InternalError (deleted ids still 404)",
             unissued_id_crashes=True),
    _spectra("sp-error-http-code-400", "SP-XSD-ERROR", "every Error document says HttpErrorCode 400",
             error_http_code=400),
    _spectra("sp-error-code-constant", "SP-ERROR-CODE", "Error Code is written NOT_FOUND, BAD_REQUEST, ...",
             error_code_convention="CONSTANT"),
    _spectra("sp-xml-as-html", "SP-XML-MEDIA", "every XML answer is labelled text/html (a proxy's rewrite)",
             xml_media_type="text/html; charset=utf-8"),
    _spectra("sp-missing-endpoint-accepted", "SP-MISSING-ENDPOINT",
             "a create without notification_end_point is accepted (201, empty endpoint)", endpoint_required=False),
    _spectra("sp-unknown-parameter-ignored", "SP-UNKNOWN-PARAMETER", "unknown query parameters are ignored",
             unknown_parameters_refused=False),
    _spectra("sp-bad-enumeration-accepted", "SP-BAD-ENUMERATION",
             "an unknown naming_convention value is accepted and stored as the default",
             bad_naming_convention_defaulted=True),
    _spectra("sp-job-id-not-uuid-404", "SP-BAD-JOB-ID", "a job_id that is not a UUID answers 404 (looked up as is)",
             job_id_uuid_checked=False),
    _spectra("sp-unknown-job-accepted", "SP-UNKNOWN-JOB", "a job_id naming no job is accepted (201)",
             job_existence_checked=False),
    _spectra("sp-refused-stored", "SP-REFUSED-NOT-CREATED",
             "a create refused 400 for an unknown format value is stored anyway (with the default format)",
             bad_format_stored=True),
    _spectra("sp-enumeration-case-sensitive", "SP-ENUMERATION-CASE",
             "enumeration values in any spelling but upper case answer 400", enumerations_any_case=False),
    _spectra("sp-delete-any-user", "SP-DELETE-OTHER-USER", "an ordinary user may delete any user's registration",
             delete_owner_checked=False),
    _spectra("sp-ordinary-all-jobs", "SP-ORDINARY-ALL-JOBS", "an ordinary user may register for all jobs",
             all_jobs_admin_only=False),
    _spectra("sp-unsigned-accepted", "SP-AUTH", "a request without Authorization is served as the administrator",
             unsigned_user="admin"),
    _spectra("sp-dlv-not-on-cancel", "SP-DLV-FIRES", "a cancelled job sends no notification", fires_on_cancel=False),
    _spectra("sp-dlv-put-ignored", "SP-DLV-METHOD", "every delivery is a POST", delivery_method="POST"),
    _spectra("sp-dlv-json-as-xml", "SP-DLV-CONTENT-TYPE", "format JSON is delivered as XML (body and Content-Type)",
             json_delivered=False),
    _spectra("sp-dlv-constant-jobid", "SP-DLV-NAMES", "the CONSTANT convention writes JobId as JOBID (not JOB_ID)",
             constant_job_id_name="JOBID"),
    _spectra("sp-dlv-default-convention-lowercase", "SP-DLV-DEFAULT-CONVENTION",
             "without naming_convention deliveries use CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE names",
             default_delivery_convention="CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE"),
    _spectra("sp-dlv-json-strings", "SP-DLV-JSON-TYPES",
             "JSON deliveries write booleans and numbers as strings", json_typed=False),
    _spectra("sp-dlv-wrong-job-id", "SP-DLV-JOB", "the delivered JobId is a fresh random UUID", random_job_id=True),
    _spectra("sp-dlv-completed-cancel-true", "SP-DLV-COMPLETED",
             "a normally completed job's delivery says CancelOccurred true", cancel_occurred_always=True),
    _spectra("sp-dlv-cancel-objects-missing", "SP-DLV-CANCELLED",
             "a cancelled job's delivery has an empty ObjectsNotPersisted", cancel_lists_objects=False),
    _spectra("sp-dlv-job-filter-ignored", "SP-DLV-JOB-FILTER",
             "a registration with job_id fires for every job of its user", job_filter_applied=False),
    _spectra("sp-dlv-owner-ignored", "SP-DLV-OWNER",
             "a registration for all jobs fires for every user's jobs, not only its own user's",
             owner_applied=False),
    _spectra("sp-dlv-date-local-time", "SP-DLV-DATE", "NotificationGenerationDate is the server's local time "
             "(UTC-05:00) written as UTC: five hours early", generation_date_offset_hours=-5),
    _spectra("sp-dlv-page-envelope", "SP-DLV-ENVELOPE",
             "deliveries use the page's envelope: Notification holding Name and Payload", page_envelope=True),
    _spectra("sp-dlv-empty-date", "SP-DLV-DATE", "NotificationGenerationDate is empty", generation_date_written=False),
    _spectra("sp-dlv-retry-on-error", "SP-DLV-NO-RETRY", "a delivery answered non-2xx is sent once more",
             retry_on_error_answer=True),
    _spectra("sp-book-no-code", "SP-BOOK-SUCCESS", "a 2xx answer is not recorded in LastHttpResponseCode",
             success_code_recorded=False),
    # --- bugs only generated input finds -------------------------------------------------------------------
    _generated(_spectra("sp-gen-endpoint-query-dropped", "SP-CREATE-ECHO",
                        "the end point is stored without its query string", endpoint_query_dropped=True)),
    _generated(_spectra("sp-gen-endpoint-cut", "SP-CREATE-ECHO", "the end point is stored cut to 1,024 characters",
                        endpoint_limit=1024)),
    _generated(_spectra("sp-gen-mixed-case-refused", "SP-ENUMERATION-CASE", "enumeration values are accepted in "
                        "UPPER, lower and Capitalised spelling only (jSoN answers 400)",
                        enumerations_mixed_case_refused=True)),
    _generated(_spectra("sp-gen-empty-job-id-refused", "SP-CREATE-201", "an empty job_id= is taken as a job id and "
                        "refused 400 (it means unset)", empty_job_id_refused=True)),
    _generated(_spectra("sp-gen-paging-past-end-500", "SP-PAGING", "a page_offset past the last registration "
                        "answers 500", paging_past_end_crashes=True)),
    # (sequences: only the stateful model's deliveries in a row reveal them)
    _generated(_spectra("sp-gen-failure-keeps-code", "SP-BOOK-NO-ANSWER", "a delivery that got no answer leaves the "
                        "LastHttpResponseCode of the answer before it (empty only on a fresh registration)",
                        no_answer_clears_code=False), sequence=True),
    _generated(_spectra("sp-gen-failures-not-summed", "SP-BOOK-NO-ANSWER", "a delivery that got no answer sets "
                        "NumberOfFailuresSinceLastSuccess to 1, not one more (two failures in a row show 1)",
                        failures_accumulate=False), sequence=True),
    _generated(_spectra("sp-gen-payload-reused", "SP-DLV-JOB", "a registration's later deliveries repeat the "
                        "payload of its first (that job's JobId and CancelOccurred)", payload_reused=True),
               sequence=True),
    _spectra("sp-book-error-no-code", "SP-BOOK-HTTP-ERROR",
             "a non-2xx answer is not recorded in LastHttpResponseCode", error_code_recorded=False),
    _spectra("sp-book-error-epoch-date", "SP-BOOK-HTTP-ERROR", "a non-2xx answer sets LastNotification to the "
             "epoch, 1970-01-01T00:00:00.000Z (set, but not the delivery's time)", error_answer_epoch_date=True),
    _spectra("sp-book-error-counted", "SP-BOOK-HTTP-ERROR-COUNT",
             "a non-2xx answer counts as a failure (counter +1, LastFailure set)", error_answer_counted=True),
    _spectra("sp-book-no-answer-not-counted", "SP-BOOK-NO-ANSWER",
             "a delivery that got no answer is not counted (counter unchanged, LastFailure empty)",
             no_answer_counted=False),
    _spectra("sp-book-failure-kept", "SP-BOOK-SUCCESS", "a 2xx answer after a failed delivery leaves its LastFailure "
             "(a fresh registration's first 2xx looks right)", success_clears_last_failure=False),
    _spectra("sp-book-no-reset", "SP-BOOK-RESET", "a 2xx answer does not reset NumberOfFailuresSinceLastSuccess",
             success_resets_failures=False),
)

FAULTS: dict[str, Fault] = {fault.name: fault for fault in _ALL}


def resolve(names: Iterable[str] | str) -> frozenset[str]:
    """The set of fault names, checked; a string may hold several names separated by commas.

    Raises ValueError("unknown fault 'x'; known: a, b, ...") for a name no fault has.
    """
    return checked(names, FAULTS, "fault")


def for_protocol(protocol: str) -> list[Fault]:
    """The faults of one protocol, in registry order."""
    return [fault for fault in FAULTS.values() if fault.protocol == protocol]


def for_requirement(requirement: str) -> list[Fault]:
    """The faults that break one requirement (each requirement should have at least one)."""
    return [fault for fault in FAULTS.values() if requirement in fault.requirements]


def check_settings(kind: type, protocol: str) -> None:
    """Raise TypeError for a fault or a named behaviour of `protocol` that changes a setting `kind` (a dataclass)
    does not have."""
    known = {setting.name for setting in dataclasses.fields(kind)}
    named = [(f"fault {fault.name!r}", fault.changes) for fault in for_protocol(protocol)] + \
            [(f"behaviour {item.name!r}", item.changes) for item in BEHAVIOURS.values() if item.protocol == protocol]
    for what, changes in named:
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"{what} changes {', '.join(unknown)}: no such setting of {kind.__name__}")


def behaviour(kind: type[Behaviour], protocol: str, names: Iterable[str] = (),
              behaviours: Iterable[str] = ()) -> Behaviour:
    """`kind` (a frozen dataclass whose defaults are the conforming behaviour) as the named faults and the named
    conforming behaviours (`conformance.reference.behaviours`) change it.

    Raises ValueError for an unknown name, one of another protocol, or two of them changing one setting.
    """
    changed: dict[str, tuple[str, Any]] = {}  # setting -> (fault or behaviour, value)
    named = [(name, FAULTS[name].protocol, FAULTS[name].settings) for name in sorted(resolve(names))] + \
            [(name, BEHAVIOURS[name].protocol, BEHAVIOURS[name].settings)
             for name in sorted(resolve_behaviours(behaviours))]
    for name, owner, settings in named:
        if owner != protocol:
            raise ValueError(f"{name!r} belongs to {owner}, not {protocol}")
        for setting, value in settings:
            if setting in changed and changed[setting][1] != value:
                raise ValueError(f"{changed[setting][0]!r} and {name!r} both change {setting}")
            changed[setting] = (name, value)
    return kind(**{setting: value for setting, (_, value) in changed.items()})
