"""Waivers: known deviations a run records instead of failing on them.

A waivers file (`--waivers FILE.toml`, `--conformance-waivers FILE`, or `waivers = "FILE"` in the target file) is
TOML, read with the project's checked-TOML helpers (`conformance.tables`): every key is checked, a problem is one
line naming the file, the entry and its id.

    [[waiver]]
    id = "VC-LIST-TEXT"                       # a requirement id, or a case id (node id; without its "[...]"
                                              # parameters it covers every parametrization)
    reason = "lines end in LF until release 5.2 (ticket MEDIA-1234)"
    expires = 2026-06-30                      # a TOML date: the day after, the waiver is a configuration error
    link = "https://tracker.example/MEDIA-1234"   # optional

The waivers are applied where statuses are made, `conformance.results.assess`: a failure or warning a waiver
covers makes its requirement WAIVED (not FAIL or WARN), which never fails the gate. Here: the file, its entries,
and the two checks that make a waiver a configuration error (exit 2): it expired (before today, UTC), or its id
names neither a requirement of the catalogue nor a case the run collected (`unknown`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from conformance import tables
from conformance.tables import Invalid

ENTRY_KEYS = ("id", "reason", "expires", "link")


class WaiverError(ValueError):
    """A waivers file or entry that cannot be used; str() is one line starting with the file."""


@dataclass(frozen=True)
class Waiver:
    """One `[[waiver]]` entry: `entry` is its number in `source` (1-based)."""

    id: str
    reason: str
    expires: date
    link: str | None = None
    source: str = ""
    entry: int = 0

    def covers_case(self, case: str) -> bool:
        """Whether the waiver names the case `case`: its node id, or the node id without the parameters."""
        return case == self.id or case.startswith(f"{self.id}[")

    @property
    def where(self) -> str:
        """"waivers.toml #2": where a user finds the entry."""
        return f"{self.source} #{self.entry}"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "expires": self.expires.isoformat(), "link": self.link,
                "source": self.source, "entry": self.entry}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiver:
        return cls(data["id"], data["reason"], date.fromisoformat(data["expires"]), data.get("link"),
                   data.get("source", ""), int(data.get("entry", 0)))


def today() -> date:
    return datetime.now(UTC).date()


def load(path: str, on: date | None = None) -> list[Waiver]:
    """The waivers of the file at `path`, checked; an entry that expired before `on` (default: today, UTC) is an
    error. Raises WaiverError (one line)."""
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise WaiverError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise WaiverError(f"{path}: is a directory, expected a TOML file") from None
    except UnicodeDecodeError:
        raise WaiverError(f"{path}: not valid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as problem:
        raise WaiverError(f"{path}: not valid TOML: {problem}") from None
    except OSError as problem:
        raise WaiverError(f"{path}: cannot be read: {problem.strerror or problem}") from None
    waivers = _read(data, path)
    day = on or today()
    for waiver in waivers:
        if waiver.expires < day:
            raise _entry_error(path, waiver.entry, waiver.id, f"expired on {waiver.expires.isoformat()} (today is "
                                                              f"{day.isoformat()}, UTC); renew it with a later "
                                                              "date or remove it")
    return waivers


def unknown(waivers: Iterable[Waiver], requirements: Iterable[str], cases: Iterable[str]) -> str | None:
    """The error line for the first waiver whose id is neither a requirement id nor a case among `cases` (the
    run's collection, before any selection), or None when every id is known."""
    requirements, cases = set(requirements), list(cases)
    for waiver in waivers:
        if waiver.id not in requirements and not any(waiver.covers_case(case) for case in cases):
            return str(_entry_error(waiver.source, waiver.entry, waiver.id,
                                    "unknown id: neither a requirement of the catalogue nor a case this run "
                                    "collected (case ids as in results.json, e.g. "
                                    "cases/test_negotiation.py::test_list_text_crlf[item])"))
    return None


# --- reading -------------------------------------------------------------------------------------------------


def _entry_error(path: str, number: int, id: Any, what: str) -> WaiverError:
    named = f" (id {tables.shown(id)})" if isinstance(id, str) else ""
    return WaiverError(" ".join(f"{path}: waiver #{number}{named}: {what}".splitlines()))


def _read(data: Mapping[str, Any], path: str) -> list[Waiver]:
    for name, value in data.items():
        if name != "waiver":
            raise WaiverError(f"{path}: {tables.unknown((), name, value, ('waiver',))}")
    entries = data.get("waiver", [])
    if not isinstance(entries, list) or not all(isinstance(entry, Mapping) for entry in entries):
        raise WaiverError(f"{path}: waiver: expected [[waiver]] entries (an array of tables), got "
                          f"{tables.shown(entries)}")
    waivers: list[Waiver] = []
    first: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        try:
            waiver = _entry(entry, path, number)
        except Invalid as problem:
            raise _entry_error(path, number, entry.get("id"), str(problem)) from None
        if waiver.id in first:
            raise _entry_error(path, number, waiver.id, f"the same id as waiver #{first[waiver.id]}; one waiver "
                                                        "per id")
        first[waiver.id] = number
        waivers.append(waiver)
    return waivers


def _entry(entry: Mapping[str, Any], path: str, number: int) -> Waiver:
    tables.table(entry, (), ENTRY_KEYS)
    tables.required(entry, (), "id", "a requirement id (e.g. VC-LIST) or a case id")
    identifier = _text(entry, "id")
    tables.required(entry, (), "reason", "why the deviation is accepted, in a sentence")
    reason = _text(entry, "reason")
    tables.required(entry, (), "expires", "a TOML date such as 2026-06-30 (without quotes)")
    expires = entry["expires"]
    if isinstance(expires, datetime) or not isinstance(expires, date):
        raise Invalid("expires", f"expected a TOML date such as 2026-06-30 (without quotes, no time), got "
                                 f"{tables.shown(expires)}")
    link = _text(entry, "link") if "link" in entry else None
    return Waiver(identifier, reason, expires, link, path, number)


def _text(entry: Mapping[str, Any], name: str) -> str:
    value = tables.text(entry, (), name, "")  # present: its callers checked (an empty one is refused)
    return value.strip()
