"""The requirement catalogue: data files (one TOML per protocol) loaded into `Requirement` records.

Each requirement has an id, a level (MUST fails certification, SHOULD warns), one line of text, its source
(the reference page or a NOTES.md section) and, where the suite had to choose, its documented `reading`. A
[reading] that shapes what the suite sends across requirements (which path a resource has, how roles are named) is
a protocol-wide `[[reading]]` of its own (text, source). `conformance requirements --readings` lists them all.
Cases name the ids they check; faults of the reference server name the ids they break.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

LEVELS = ("MUST", "SHOULD")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    text: str
    source: str
    protocol: str
    reading: str | None = None


@dataclass(frozen=True)
class Reading:
    """A [reading] of NOTES that shapes what the suite sends or accepts across requirements (a reading of one
    requirement is that requirement's `reading`)."""

    text: str
    source: str


@dataclass(frozen=True)
class Catalogue:
    protocol: str
    title: str
    requirements: dict[str, Requirement]
    readings: tuple[Reading, ...] = ()  # the protocol-wide ones (`[[reading]]`)

    def __getitem__(self, requirement_id: str) -> Requirement:
        return self.requirements[requirement_id]


class CatalogueError(ValueError):
    pass


@cache
def load(protocol: str) -> Catalogue:
    """The catalogue of one protocol, checked: unique ids, known levels, every field present."""
    name = f"{protocol}.toml"
    data = tomllib.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
    requirements: dict[str, Requirement] = {}
    for number, entry in enumerate(data.get("requirement", []), start=1):
        unknown = set(entry) - {"id", "level", "text", "source", "reading"}
        missing = {"id", "level", "text", "source"} - set(entry)
        if unknown or missing:
            raise CatalogueError(f"{name}: requirement #{number}: unknown keys {sorted(unknown)} "
                                 f"or missing keys {sorted(missing)}")
        if entry["level"] not in LEVELS:
            raise CatalogueError(f"{name}: {entry['id']}: level must be one of {LEVELS}")
        if entry["id"] in requirements:
            raise CatalogueError(f"{name}: {entry['id']}: duplicate id")
        requirements[entry["id"]] = Requirement(protocol=protocol, **entry)
    readings = []
    for number, entry in enumerate(data.get("reading", []), start=1):
        if set(entry) != {"text", "source"}:
            raise CatalogueError(f"{name}: reading #{number}: expected the keys text and source, got {sorted(entry)}")
        readings.append(Reading(**entry))
    return Catalogue(protocol, data.get("title", protocol), requirements, tuple(readings))


@cache
def load_all() -> dict[str, Requirement]:
    """Every requirement of every protocol (`conformance.protocols`), by id."""
    from conformance.protocols import NAMES

    merged: dict[str, Requirement] = {}
    for protocol in NAMES:
        merged.update(load(protocol).requirements)
    return merged


@cache
def digest() -> str:
    """SHA-256 (hex) of the whole catalogue as loaded: every protocol's title and requirements (id, level, text,
    source, reading), as canonical JSON. Two runs with the same digest judged against the same requirements; a
    change of wording or level changes it, a change of the TOML files' layout does not."""
    from conformance.protocols import NAMES

    data = [{"protocol": protocol, "title": load(protocol).title,
             "requirements": [asdict(requirement) for requirement in load(protocol).requirements.values()],
             **({"readings": [asdict(reading) for reading in load(protocol).readings]} if load(protocol).readings
                else {})}
            for protocol in NAMES]
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
