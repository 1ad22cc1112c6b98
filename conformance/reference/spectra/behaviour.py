"""What the reference Spectra S3 server's faults can change: one frozen dataclass of behaviour settings.

The defaults are the conforming behaviour (NOTES §2); each fault of `conformance.reference.faults` sets the
setting its bug is made of, and the app and the payload renderer read `behaviour.<setting>` at the spot the bug
lives. A few settings are no bug but another conforming way of a real server (`conformance.reference.behaviours`:
BlackPearl's user lookup, users without a default data policy). Every fault's and behaviour's settings are checked
against these fields when this module is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..faults import behaviour, check_settings


@dataclass(frozen=True)
class SpectraBehaviour:
    # ---------------------------------------------------------------- set-up (conforming either way: behaviours)
    user_lookup_by_access_id: bool = True    # GET /_rest_/user/{access id} answers the user (BlackPearl: 404)
    default_data_policy: bool = True         # False: a bucket needs data_policy_id (users have no default one)
    cache_busy_seconds: int = 0              # an object's first PUT answers 503 with Retry-After: this (0: never)
    # ---------------------------------------------------------------- requests
    unsigned_user: str | None = None         # the user an unsigned request is served as (None: refused 403)
    unknown_parameters_refused: bool = True
    enumerations_any_case: bool = True       # False: only the upper-case spelling is accepted
    # ---------------------------------------------------------------- create
    create_status: int = 201
    user_id_of_admin: bool = False           # every registration shows the administrator's UserId, whoever signed
    endpoint_query_dropped: bool = False     # the end point is stored without its query string
    endpoint_limit: int | None = None        # the end point is stored cut to this many characters
    enumerations_mixed_case_refused: bool = False  # only UPPER, lower and Capitalised spellings are accepted
    empty_job_id_refused: bool = False       # job_id= (empty) is taken as a job id: 400, not a UUID
    paging_past_end_crashes: bool = False    # a page_offset past the end answers 500
    endpoint_required: bool = True
    bad_naming_convention_defaulted: bool = False  # an unknown naming_convention is stored as the default
    bad_format_stored: bool = False          # a create refused for an unknown format is stored (default format)
    job_id_uuid_checked: bool = True         # False: a job_id that is not a UUID is looked up as is
    job_existence_checked: bool = True
    all_jobs_admin_only: bool = True         # registering without job_id needs an administrator
    # ---------------------------------------------------------------- the registration document
    shows_job_id: bool = True
    default_naming_shown: str | None = None  # the NamingConvention shown when none was given (None: the default)
    fresh_last_notification_is_creation: bool = False  # a new registration shows LastNotification = CreationDate
    creation_date_without_millis: bool = False  # CreationDate as 2026-11-23T10:00:00+00:00
    get_shows_format: str | None = None      # the Format get-one shows (None: the registration's)
    # ---------------------------------------------------------------- list, delete, ids, errors
    list_omits_newest: bool = False          # the list without paging parameters leaves out the newest
    page_overlap: int = 0                    # records a page with page_offset > 0 starts early
    page_truncated_header: bool = True
    total_count_of_page: bool = False        # Total-Result-Count counts the page's records, not all of them
    delete_status: int = 204
    delete_soft: bool = False                # deleted registrations leave the list, but their ids still work
    delete_owner_checked: bool = True        # an ordinary user may delete only its own registrations
    unissued_id_crashes: bool = False        # an id never issued answers 500 InternalError (not 404)
    error_http_code: int | None = None       # the HttpErrorCode of every Error (None: the status)
    error_code_convention: str | None = None  # the naming convention Error Codes are written in (None: as is)
    xml_media_type: str | None = None        # the Content-Type every XML answer carries (None: application/xml)
    # ---------------------------------------------------------------- deliveries
    fires_on_cancel: bool = True
    job_filter_applied: bool = True          # False: a registration with job_id fires for every job of its user
    owner_applied: bool = True               # False: a registration for all jobs fires for every user's jobs
    generation_date_offset_hours: int = 0    # NotificationGenerationDate is this many hours off (local time as Z)
    payload_reused: bool = False             # a registration's later deliveries repeat its first delivery's payload
    default_delivery_convention: str | None = None  # the convention used when none was given (None: the default)
    delivery_method: str | None = None       # every delivery's method (None: the registration's)
    retry_on_error_answer: bool = False      # a delivery answered non-2xx is sent once more
    json_delivered: bool = True              # False: format JSON is delivered as XML
    json_typed: bool = True                  # False: JSON booleans and numbers are written as strings
    constant_job_id_name: str | None = None  # the CONSTANT convention's name for JobId (None: JOB_ID)
    random_job_id: bool = False              # the delivered JobId is a fresh random UUID
    cancel_occurred_always: bool = False     # CancelOccurred is true for every completion
    cancel_lists_objects: bool = True        # a cancel lists the objects not persisted
    page_envelope: bool = False              # the page's envelope: Notification holding Name and Payload
    generation_date_written: bool = True     # NotificationGenerationDate
    # ---------------------------------------------------------------- bookkeeping
    success_code_recorded: bool = True       # a 2xx answer's status goes to LastHttpResponseCode
    error_code_recorded: bool = True         # a non-2xx answer's status goes to LastHttpResponseCode
    error_answer_counted: bool = False       # a non-2xx answer counts as a failure
    error_answer_epoch_date: bool = False    # a non-2xx answer sets LastNotification to the epoch (1970-01-01)
    no_answer_counted: bool = True           # a delivery without an answer counts as a failure
    no_answer_clears_code: bool = True       # a delivery without an answer empties LastHttpResponseCode
    failures_accumulate: bool = True         # False: a failure sets the counter to 1 instead of adding one
    success_resets_failures: bool = True     # a 2xx answer resets NumberOfFailuresSinceLastSuccess
    success_clears_last_failure: bool = True  # False: a 2xx answer leaves the LastFailure of an earlier failure


def for_faults(names: Iterable[str] = (), behaviours: Iterable[str] = ()) -> SpectraBehaviour:
    """The behaviour with the named Spectra faults and conforming behaviours on (none: the reference's default)."""
    return behaviour(SpectraBehaviour, "spectra", names, behaviours)


check_settings(SpectraBehaviour, "spectra")
