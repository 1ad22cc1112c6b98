"""What the reference Spectra S3 server delivers (NOTES §2.4): the job-completed payload, in its naming convention.

- `convert(name, convention)`: BlackPearl's naming conventions, applied to every element, attribute and key
  name of a delivered document (never to values). Written here independently of the suite's own converter.
- `render(completion, format, convention, behaviour)`: the delivered body and its Content-Type, XML or JSON, in
  BlackPearl's envelope `Notification` holding `Event` (the payload) and `Type`.

The app sends it with `conformance.reference.dispatch.Dispatcher` (once, no retry) and keeps the bookkeeping.
The settings of `SpectraBehaviour` that the payload's faults change are read here.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .behaviour import SpectraBehaviour

CONVENTIONS = (
    "CONCAT_LOWERCASE",
    "CONSTANT",
    "UNDERSCORED",
    "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE",
    "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE",
)
DEFAULT_CONVENTION = "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE"
FORMATS = ("DEFAULT", "JSON", "XML")
PAYLOAD_TYPE = "JobCompletedNotificationPayload"

# ================================================================== naming conventions


def words(name: str) -> list[str]:
    """The words of a CamelCase name: a new word starts at each upper-case letter; digits never start one;
    a name with no lower-case letter is one word."""
    if not any(char.islower() for char in name):
        return [name] if name else []
    found: list[str] = []
    for char in name:
        if char.isupper() or not found:
            found.append(char)
        else:
            found[-1] += char
    return found


def convert(name: str, convention: str) -> str:
    """`name`, written in CamelCase with the first letter upper-case, in `convention` (one of CONVENTIONS)."""
    lowered = [word.lower() for word in words(name)]
    if convention == "UNDERSCORED":
        return "_".join(lowered)
    if convention == "CONSTANT":
        return "_".join(lowered).upper()
    if convention == "CONCAT_LOWERCASE":
        return "".join(lowered)
    if convention == "CAMEL_CASE_WITH_FIRST_LETTER_UPPERCASE":
        return name[:1].upper() + name[1:]
    if convention == "CAMEL_CASE_WITH_FIRST_LETTER_LOWERCASE":
        return name[:1].lower() + name[1:]
    raise ValueError(f"unknown naming convention {convention!r}")


# ================================================================== the payload


@dataclass(frozen=True)
class Blob:
    """One blob of a job's object (this server makes one blob per object, at offset 0)."""

    id: str
    name: str
    length: int
    version_id: str
    offset: int = 0
    latest: bool = True


@dataclass(frozen=True)
class Completion:
    """What a delivery reports: the job that completed, whether by cancel, and the blobs never persisted."""

    job_id: str
    cancel_occurred: bool
    objects_not_persisted: tuple[Blob, ...]
    generated: datetime  # NotificationGenerationDate (UTC)


def iso_millis(moment: datetime) -> str:
    """yyyy-MM-ddTHH:mm:ss.SSSZ in UTC."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


CONFORMING = SpectraBehaviour()


def render(completion: Completion, fmt: str, convention: str, behaviour: SpectraBehaviour = CONFORMING
           ) -> tuple[str, bytes]:
    """The delivered (Content-Type, body): JSON for format JSON, XML for XML and DEFAULT."""
    def name(canonical: str) -> str:
        if canonical == "JobId" and convention == "CONSTANT" and behaviour.constant_job_id_name is not None:
            return behaviour.constant_job_id_name
        return convert(canonical, convention)

    job_id = str(uuid.uuid4()) if behaviour.random_job_id else completion.job_id
    cancel = completion.cancel_occurred or behaviour.cancel_occurred_always
    blobs = completion.objects_not_persisted
    if completion.cancel_occurred and not behaviour.cancel_lists_objects:
        blobs = ()
    # (outer name, inner name): BlackPearl's Notification/Event + Type, or the page's Name + Payload
    page = behaviour.page_envelope
    if fmt == "JSON" and behaviour.json_delivered:
        def typed(value: bool | int) -> Any:
            if behaviour.json_typed:
                return value
            return ("true" if value else "false") if isinstance(value, bool) else str(value)

        date = epoch_millis(completion.generated) if behaviour.generation_date_written else None
        payload = {
            name("CancelOccurred"): typed(cancel),
            name("JobId"): job_id,
            name("NotificationGenerationDate"): date,
            name("ObjectsNotPersisted"): [
                {name("Id"): blob.id, name("Latest"): typed(blob.latest), name("Length"): typed(blob.length),
                 name("Name"): blob.name, name("Offset"): typed(blob.offset), name("VersionId"): blob.version_id}
                for blob in blobs
            ],
        }
        if page:
            envelope = {name("Name"): PAYLOAD_TYPE, name("Payload"): payload}
        else:
            envelope = {name("Event"): payload, name("Type"): PAYLOAD_TYPE}
        return "application/json", json.dumps({name("Notification"): envelope}).encode("utf-8")

    root = ET.Element(name("Notification"))
    if page:
        ET.SubElement(root, name("Name")).text = PAYLOAD_TYPE
    event = ET.SubElement(root, name("Payload" if page else "Event"))
    ET.SubElement(event, name("CancelOccurred")).text = "true" if cancel else "false"
    ET.SubElement(event, name("JobId")).text = job_id
    date_element = ET.SubElement(event, name("NotificationGenerationDate"))
    if behaviour.generation_date_written:
        date_element.text = iso_millis(completion.generated)
    holder = ET.SubElement(event, name("ObjectsNotPersisted"))
    for blob in blobs:
        ET.SubElement(holder, name("Object"), {
            name("Id"): blob.id, name("Latest"): "true" if blob.latest else "false", name("Length"): str(blob.length),
            name("Name"): blob.name, name("Offset"): str(blob.offset), name("VersionId"): blob.version_id,
        })
    if not page:
        ET.SubElement(root, name("Type")).text = PAYLOAD_TYPE
    return "application/xml", ET.tostring(root, encoding="UTF-8", xml_declaration=True)
