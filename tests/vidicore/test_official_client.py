"""The official `vidispine` client from PyPI drives the reference server unmodified (JSON form).

If the reference server's documents drifted from what real clients send and expect, this is where it shows.
"""

from __future__ import annotations

import pytest

vidispine = pytest.importorskip("vidispine", reason="the dev extra installs the official client")

from conformance import reference  # noqa: E402


@pytest.fixture(scope="module")
def api():
    with reference.start() as server:
        config = vidispine.Configuration(host=server.urls["vidicore"], username="admin",
                                         password=server.env["CONFORMANCE_REFERENCE_ADMIN_PASSWORD"])
        client = vidispine.ApiClient(config)
        yield vidispine.NotificationApi(client), server
        client.close() if hasattr(client, "close") else None


def _document(url: str, job_type: str = "PLACEHOLDER_IMPORT"):
    http = vidispine.NotificationHttpActionType(url=url, timeout="5", retry=3, method="POST",
                                               content_type="application/xml", synchronous=False)
    job = vidispine.NotificationJobTriggerType(
        finished="", filter=vidispine.NotificationJobTriggerTypeAllOfFilter(type=job_type))
    return vidispine.NotificationType(action=vidispine.NotificationTypeAction(http=http),
                                      trigger=vidispine.NotificationTypeTrigger(job=job))


def test_whole_resource_lifecycle(api):
    notifications, _ = api
    created = notifications.create_notification("item", _document("http://client.invalid/a"))
    (notification_id,) = created.uri
    assert notification_id in notifications.get_notifications("item").uri
    got = notifications.get_notification("item", notification_id)
    assert got.action.http.url == "http://client.invalid/a"
    assert got.action.http.synchronous is False and str(got.action.http.timeout) == "5"
    assert got.trigger.job.filter.type == "PLACEHOLDER_IMPORT"
    changed = notifications.update_notification("item", notification_id,
                                                _document("http://client.invalid/b", "TRANSCODE"))
    assert changed.action.http.url == "http://client.invalid/b"
    assert notifications.get_notification("item", notification_id).trigger.job.filter.type == "TRANSCODE"
    notifications.delete_notification("item", notification_id)
    assert notification_id not in (notifications.get_notifications("item").uri or [])
    with pytest.raises(vidispine.ApiException) as refused:
        notifications.get_notification("item", notification_id)
    assert refused.value.status == 404


def test_single_entity_and_placeholder(api):
    notifications, server = api
    item_id = server.target_data()["vidicore"]["entities"]["item"]
    created = notifications.create_entity_notification("item", item_id, _document("http://client.invalid/c"))
    (notification_id,) = created.uri
    assert notifications.get_entity_notification("item", item_id, notification_id).action.http.url == \
        "http://client.invalid/c"
    notifications.delete_entity_notification("item", item_id, notification_id)
    placeholder = notifications.create_placeholder_notification(_document("http://client.invalid/d"))
    (placeholder_id,) = placeholder.uri
    assert placeholder_id in notifications.get_placeholder_notifications().uri
    notifications.delete_placeholder_notification(placeholder_id)
