"""What the reference VidiCore server's faults can change: one frozen dataclass of behaviour settings.

The defaults are the conforming behaviour (NOTES §1); each fault of `conformance.reference.faults` sets the one
or two settings its bug is made of, and the app and its job engine read `behaviour.<setting>` at the spot the
bug lives. Every fault's settings are checked against these fields when this module is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..faults import behaviour, check_settings
from .documents import DEFAULT_HTTP_TIMEOUT


@dataclass(frozen=True)
class VidiCoreBehaviour:
    # ---------------------------------------------------------------- paths, ids, answers
    trailing_slash_served: bool = True       # False: any path with a trailing slash answers 404
    id_prefix: str = "VX"                    # of every id the server issues
    uri_is_full_url: bool = False            # <uri> / uri entries are the notification's full URL, not its id
    create_status: int = 200
    create_text_status: int | None = None    # of a text/plain create answer (None: create_status)
    create_text_as_xml: bool = False         # Accept text/plain on create answers the XML URIListDocument
    create_json_uri: str | None = None       # the uri a JSON create answer names (None: the real one)
    list_omits_newest: bool = False          # the XML/JSON list leaves out the newest notification
    list_text_separator: str = "\r\n"
    list_json_key: str = "uri"               # of JSON list answers (create answers keep "uri")
    list_scopes_merged: bool = False         # a whole-resource list also names its single-entity notifications
    retrieve_omits: tuple[str, ...] = ()     # action fields a GET of one notification leaves out
    retrieve_follows_accept: bool = True     # False: a GET of one notification always answers XML
    notification_xml_namespace: bool = True
    list_xml_namespace: bool = True          # of list answers (create answers keep it)
    exception_xml_namespace: bool = True
    notification_json_wrapped: bool = False  # {"NotificationDocument": {...}}
    # ---------------------------------------------------------------- storing, changing, deleting
    default_synchronous: str | None = "false"                # added when absent (None: nothing added)
    default_http_timeout: str | None = DEFAULT_HTTP_TIMEOUT  # added to an http action without one (None: nothing)
    change_status: int = 200                 # 204: the change is answered with no body
    change_shown: bool = True                # False: a GET keeps answering the document as it was before a PUT
    delete_one_status: int = 200
    delete_soft: bool = False                # deleted notifications leave the lists, but their ids still work
    delete_all_removes: bool = True
    unissued_id_crashes: bool = False        # an id never issued answers 500 internalServer (not 404)
    entity_existence_checked: bool = True    # False: an unknown entity's single-entity form acts as if it existed
    # ---------------------------------------------------------------- request documents
    invalid_status: int = 400                # of an invalid document (client-required refusals stay 400)
    refused_create_stored: bool = False      # a create refused for a missing required field is stored anyway
    client_required_checked: bool = True     # fields the official client requires (javascript script, ...)
    json_body_on_whole_resources: bool = True  # False: JSON bodies on whole-resource paths and /notification: 415
    empty_object_event_accepted: bool = True  # an event sent as {} in JSON
    # ---------------------------------------------------------------- bugs only generated input finds
    create_text_limit: int | None = None     # create keeps only this many characters of each value
    create_latin1_only: bool = False         # create stores characters outside Latin-1 as "?"
    create_xml_order_strict: bool = False    # an XML create whose action fields are not in the server's order: 400
    json_numbers_refused: bool = False       # a JSON body holding a number (retry: 5) is refused 400
    create_url_percent_decoded: bool = False  # create decodes url / endpoint escapes of reserved characters
    create_retry_int16: bool = False         # create stores retry as a 16-bit count (at most 32767)
    change_drops_group_with_synchronous: bool = False  # a PUT with both action attributes keeps synchronous only
    change_lists_twice: bool = False         # a changed notification is named twice in its resource's list
    deleted_changed_stays_listed: bool = False  # a notification deleted after a change stays in the list (GET 404)
    change_answer_cached: bool = False       # from its second change on, a PUT answers the first change's document
    # ---------------------------------------------------------------- authentication and roles
    password_checked: bool = True
    forbidden_status: int = 403              # of a refusal for a missing role (any other status: no body)
    roleless_may_read: bool = False          # a user with no roles at all may read
    read_role_may_write: bool = False
    delete_all_needs_read_role_only: bool = False  # delete-all is authorized like a list
    write_role_may_read: bool = False
    roles_cross_entities: bool = False       # any entity's role grants the same on every other entity
    placeholder_takes_any_entity_role: bool = False  # /notification accepts any entity's role
    # ---------------------------------------------------------------- deliveries: what fires
    type_filter_applied: bool = True         # filter/type (filter/jobdata is always applied)
    item_scope_any_item: bool = False        # a notification on one item fires for jobs on any existing item
    placeholder_fires_for_every_job: bool = False
    deleted_item_notification_fires: bool = False  # one item's notification, deleted on its own, still fires
    fires_action_as_created: bool = False    # a PUT changes only what the API shows, not what fires
    # ---------------------------------------------------------------- deliveries: the payload
    finished_status_read_early: bool = False  # the finished event carries the status from before the change
    fail_status: str | None = None           # the fail event's status (None: the job's, FAILED_TOTAL)
    create_action: str = "CREATE"            # the action key of the create event
    stop_action: str = "STOP"                # the action key of the stop event
    payload_job_id_suffix: str = ""          # appended to the delivered jobId
    payload_user: bool = True                # the user key
    payload_user_name: str | None = None     # the user key's value (None: the user that started the job)
    payload_item_is_job: bool = False        # the itemId key names the job, not its item
    started_offset_hours: int = 0            # the started key is this many hours off (local time written as UTC)
    payload_item_and_metadata: bool = True   # the itemId key and the jobmetadata keys
    payload_xml_namespace: bool = True
    payload_json_wrapped: bool = False       # {"SimpleMetadataDocument": {"field": [...]}}
    # ---------------------------------------------------------------- deliveries: the request
    delivery_method: str | None = None       # every delivery's method (None: the action's method)
    default_delivery_method: str = "POST"    # without a method
    delivery_content_type: str | None = None  # every delivery's Content-Type header (None: the action's)
    default_delivery_content_type: str = "application/xml"  # without a contentType (header and body)
    rounds_without_retry: int = 1            # times a delivery with retry 0 (or none) is sent
    unretried_status: int | None = None      # an answer with this status ends the attempts, whatever retry says
    max_retries: int | None = None           # at most this many retries, whatever retry says
    extra_attempts: int = 0                  # attempts beyond 1 + retry when every attempt fails
    timeout_applied: bool = True             # False: an attempt waits up to the longest timeout


def for_faults(names: Iterable[str] = (), behaviours: Iterable[str] = ()) -> VidiCoreBehaviour:
    """The behaviour with the named VidiCore faults and conforming behaviours on (none: the reference's default)."""
    return behaviour(VidiCoreBehaviour, "vidicore", names, behaviours)


check_settings(VidiCoreBehaviour, "vidicore")
