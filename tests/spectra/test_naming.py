"""Tests for conformance.spectra.naming: BlackPearl's naming conventions, every payload name in every one."""

from __future__ import annotations

import pytest

from conformance.spectra import naming
from conformance.spectra.documents import PAYLOAD_NAMES

CONVENTIONS = naming.CONVENTIONS

# name -> (CONCAT_LOWERCASE, CONSTANT, UNDERSCORED, CAMEL_CASE_..._UPPERCASE, CAMEL_CASE_..._LOWERCASE)
TABLE = {
    "Notification": ("notification", "NOTIFICATION", "notification", "Notification", "notification"),
    "Event": ("event", "EVENT", "event", "Event", "event"),
    "Type": ("type", "TYPE", "type", "Type", "type"),
    "Name": ("name", "NAME", "name", "Name", "name"),
    "Payload": ("payload", "PAYLOAD", "payload", "Payload", "payload"),
    "CancelOccurred": ("canceloccurred", "CANCEL_OCCURRED", "cancel_occurred", "CancelOccurred", "cancelOccurred"),
    "JobId": ("jobid", "JOB_ID", "job_id", "JobId", "jobId"),
    "NotificationGenerationDate": ("notificationgenerationdate", "NOTIFICATION_GENERATION_DATE",
                                   "notification_generation_date", "NotificationGenerationDate",
                                   "notificationGenerationDate"),
    "ObjectsNotPersisted": ("objectsnotpersisted", "OBJECTS_NOT_PERSISTED", "objects_not_persisted",
                            "ObjectsNotPersisted", "objectsNotPersisted"),
    "Object": ("object", "OBJECT", "object", "Object", "object"),
    "Id": ("id", "ID", "id", "Id", "id"),
    "Length": ("length", "LENGTH", "length", "Length", "length"),
    "Offset": ("offset", "OFFSET", "offset", "Offset", "offset"),
    "Latest": ("latest", "LATEST", "latest", "Latest", "latest"),
    "VersionId": ("versionid", "VERSION_ID", "version_id", "VersionId", "versionId"),
    "Version": ("version", "VERSION", "version", "Version", "version"),
}


def test_conventions_and_default():
    assert CONVENTIONS == ("CONCAT_LOWERCASE", "CONSTANT", "UNDERSCORED", "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE",
                           "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE")
    assert naming.DEFAULT == "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE"


def test_the_table_covers_every_payload_name():
    assert set(TABLE) == set(PAYLOAD_NAMES)


@pytest.mark.parametrize("name", sorted(TABLE))
@pytest.mark.parametrize("index", range(len(CONVENTIONS)), ids=CONVENTIONS)
def test_every_payload_name_in_every_convention(name: str, index: int):
    assert naming.convert(name, CONVENTIONS[index]) == TABLE[name][index]


@pytest.mark.parametrize(("name", "expected"), [
    ("NotificationGenerationDate", ["Notification", "Generation", "Date"]),
    ("VersionId", ["Version", "Id"]),
    ("Id", ["Id"]),
    ("ID", ["ID"]),                      # all capitals: one word
    ("S3", ["S3"]),                      # no lower-case letter: one word
    ("Md5Checksum", ["Md5", "Checksum"]),  # digits never split
    ("Blob2Part", ["Blob2", "Part"]),
    ("someName", ["some", "Name"]),
    ("", []),
])
def test_words(name: str, expected: list[str]):
    assert naming.words(name) == expected


@pytest.mark.parametrize(("name", "convention", "expected"), [
    # BlackPearl lower-cases an all-capitals name before converting it
    ("ID", "UNDERSCORED", "id"),
    ("ID", "CONSTANT", "ID"),
    ("ID", "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE", "Id"),
    ("ID", "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE", "id"),
    ("Md5Checksum", "UNDERSCORED", "md5_checksum"),
    ("Md5Checksum", "CONSTANT", "MD5_CHECKSUM"),
    ("someName", "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE", "SomeName"),
    ("someName", "UNDERSCORED", "some_name"),
    ("", "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE", ""),
])
def test_convert_edge_cases(name: str, convention: str, expected: str):
    assert naming.convert(name, convention) == expected


def test_values_are_not_names_but_convert_would_change_them():
    # documents never pass values through convert; this pins what would happen if they did
    assert naming.convert("JobCompletedNotificationPayload", "UNDERSCORED") == "job_completed_notification_payload"


@pytest.mark.parametrize("bad", ["camel_case", "SNAKE", ""])
def test_unknown_convention_is_refused(bad: str):
    with pytest.raises(ValueError, match="unknown naming convention"):
        naming.convert("JobId", bad)
    with pytest.raises(ValueError):
        naming.slug(bad)


def test_slug():
    assert [naming.slug(c) for c in CONVENTIONS] == [
        "concat-lowercase", "constant", "underscored", "camel-case-with-first-letter-uppercase",
        "camel-case-with-first-letter-lowercase"]
