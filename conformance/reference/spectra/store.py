"""What the reference Spectra S3 server holds: job-completed notification registrations with their bookkeeping,
buckets, and bulk-put jobs. Not thread-safe by itself: the app's lock guards it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .delivery import Blob, Completion
from .users import SpectraUser


def now() -> datetime:
    """The moment (UTC) registrations, jobs and completions are stamped with."""
    return datetime.now(UTC)


@dataclass
class Registration:
    id: str
    user_id: str
    created: datetime
    format: str
    job_id: str  # "" = every job of the user
    endpoint: str
    method: str
    naming_convention: str
    naming_given: bool  # False when the default was taken (some faults show or use another value then)
    last_failure: str = ""
    last_code: int | None = None
    last_notification: datetime | None = None
    failures: int = 0
    first_completion: Completion | None = None  # what its first delivery told (only behaviour.payload_reused reads)


@dataclass
class Job:
    id: str
    bucket: str
    owner: SpectraUser
    blobs: dict[str, Blob]  # object name -> its one blob, in request order
    chunk_id: str
    started: datetime
    received: set[str] = field(default_factory=set)
    status: str = "IN_PROGRESS"  # COMPLETED, CANCELED


@dataclass
class Bucket:
    id: str
    name: str
    objects: dict[str, int] = field(default_factory=dict)  # name -> length (the bytes are not kept)
    created: datetime = field(default_factory=now)

