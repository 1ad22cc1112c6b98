"""The run's ledger (`reports/ledger.jsonl`): every resource a run makes on a target, written down the moment the
server confirms it, and marked removed when it is. The one module that writes and reads the file.

A run that is killed (SIGKILL, a runner that vanishes) cannot clean up after itself; its ledger says what it left,
and `conformance cleanup` removes exactly that. One JSON object per line, each appended with one `os.write` on an
`O_APPEND` descriptor under `flock` (so the workers of a run write whole lines, never interleaved) and so on disk
for every later reader as soon as the call returns, whatever happens to the process next:

    {"event": "run", "run": RUN, "process": "gw0", "pid": 4242, "at": 1767225600.0, "ledger": 1}
    {"event": "made", "run": RUN, "entry": "conformance-<token>-gw0:7", "at": ..., "protocol": "vidicore",
     "base_url": "http://vs:8080/API", "origin": "target.toml", "kind": "notification",
     "path": "item/notification/VX-12", "user": "admin", "name": "", "within": null}
    {"event": "removed", "run": RUN, "entry": "...", "at": ...}
    {"event": "left", "run": RUN, "entry": "...", "at": ..., "why": "answered 500"}

`kind` is one of `KINDS`; `path` is where the thing lives below the base URL (ids the server handed out, checked
safe); `user` is the target file's role that made it (never a user name or a secret); `within` names the entry it
lives in (a Spectra job in its bucket); `base_url` carries no user info. An entry is *open* until removed (`left`
says why a cleanup could not remove it; it stays open). When a run starts, the ledger keeps only what earlier runs
left open (`compact`), so the file holds the current run and whatever still waits for `conformance cleanup`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: whole lines by O_APPEND alone
    fcntl = None  # type: ignore[assignment]

FORMAT = 1
KINDS = ("notification", "item", "job", "registration", "bucket")
EVENTS = ("run", "made", "removed", "left")


class LedgerError(ValueError):
    """A file that is no ledger of this suite, or one that cannot be read or written; str() is one line naming it."""


def public_url(url: str) -> str:
    """`url` without user info (a password in a base URL never reaches the ledger)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class Entry:
    """One thing a run made, as the ledger tells it."""

    run: str
    entry: str
    protocol: str
    base_url: str
    origin: str
    kind: str
    path: str
    user: str = ""
    name: str = ""
    within: str | None = None
    made_at: float = 0.0
    removed: bool = False
    why: str | None = None  # the last reason a cleanup gave for leaving it

    @property
    def open(self) -> bool:
        return not self.removed

    def describe(self) -> str:
        """"<protocol> <kind> <path> on <base url>": one line naming it (no secrets in it)."""
        return f"{self.protocol} {self.kind} {self.path} on {self.base_url}"


# --- writing -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _line(event: Mapping[str, Any]) -> bytes:
    return (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class Ledger:
    """One process's writer for run `run` (its entries are named `<prefix>:<n>`: unique across the run's workers).
    The file is opened on the first line written, so a session that makes nothing writes nothing. It remembers which
    of its own entries are open (`open_here`)."""

    def __init__(self, path: str, run: str, prefix: str, process: str = "") -> None:
        self.path = os.path.abspath(path)
        self.run = run
        self.prefix = prefix
        self.process = process
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._open: dict[str, str] = {}  # entry -> one line naming it

    def _write(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self._fd is None:
                directory = os.path.dirname(self.path)
                try:
                    os.makedirs(directory, exist_ok=True)
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                except OSError as exc:
                    raise LedgerError(f"{self.path}: the ledger cannot be written: {exc.strerror or exc}") from None
                self._append({"event": "run", "run": self.run, "process": self.process, "pid": os.getpid(),
                              "at": time.time(), "ledger": FORMAT})
            self._append(event)

    def _append(self, event: dict[str, Any]) -> None:
        assert self._fd is not None
        with _locked(self._fd):
            os.write(self._fd, _line(event))

    def book(self, protocol: str, base_url: str, origin: str) -> Book:
        """The writer of one target's entries."""
        return Book(self, protocol, public_url(base_url), origin)

    def made(self, protocol: str, base_url: str, origin: str, kind: str, path: str, user: str = "", name: str = "",
             within: str | None = None) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
        entry = f"{self.prefix}:{next(self._counter)}"
        self._write({"event": "made", "run": self.run, "entry": entry, "at": time.time(), "protocol": protocol,
                     "base_url": base_url, "origin": origin, "kind": kind, "path": path, "user": user, "name": name,
                     "within": within})
        self._open[entry] = f"{protocol} {kind} {path} on {base_url}"
        return entry

    def removed(self, entry: str) -> None:
        self._write({"event": "removed", "run": self.run, "entry": entry, "at": time.time()})
        self._open.pop(entry, None)

    def left(self, entry: str, why: str) -> None:
        self._write({"event": "left", "run": self.run, "entry": entry, "at": time.time(), "why": why})

    def open_here(self) -> list[str]:
        """What this process made and has not removed, one line each."""
        return list(self._open.values())

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


@dataclass(frozen=True)
class Book:
    """The ledger of one target (protocol, base URL, where it came from): what its clients write to."""

    ledger: Ledger
    protocol: str
    base_url: str
    origin: str

    def made(self, kind: str, path: str, user: str = "", name: str = "", within: str | None = None) -> str:
        """Write down a thing the server just confirmed; returns its entry id."""
        return self.ledger.made(self.protocol, self.base_url, self.origin, kind, path, user, name, within)

    def removed(self, entry: str) -> None:
        self.ledger.removed(entry)

    def left(self, entry: str, why: str) -> None:
        self.ledger.left(entry, why)


# --- reading -------------------------------------------------------------------------------------------------


def _events(path: str, data: bytes) -> list[dict[str, Any]]:
    """Every event of a ledger's bytes. A last line without its newline (a writer killed mid-line) is dropped;
    anything else that is no event of this ledger is a LedgerError naming the line."""
    lines = data.split(b"\n")
    complete, last = lines[:-1], lines[-1]
    events = []
    for number, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            raise LedgerError(f"{path}: line {number}: not a ledger line (JSON)") from None
        if not isinstance(event, dict) or event.get("event") not in EVENTS or not isinstance(event.get("run"), str):
            raise LedgerError(f"{path}: line {number}: not a ledger event of this suite")
        if event["event"] == "run" and event.get("ledger", FORMAT) != FORMAT:
            raise LedgerError(f"{path}: line {number}: ledger format {event.get('ledger')!r}; this suite reads "
                              f"format {FORMAT}")
        if event["event"] != "run" and not isinstance(event.get("entry"), str):
            raise LedgerError(f"{path}: line {number}: an event without its entry")
        events.append(event)
    del last  # (no newline yet: still being written, or cut off)
    return events


def _fold(events: Iterable[dict[str, Any]]) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for event in events:
        kind = event["event"]
        if kind == "made":
            entries[event["entry"]] = Entry(
                run=event["run"], entry=event["entry"], protocol=str(event.get("protocol", "")),
                base_url=str(event.get("base_url", "")), origin=str(event.get("origin", "")),
                kind=str(event.get("kind", "")), path=str(event.get("path", "")), user=str(event.get("user", "")),
                name=str(event.get("name", "")), within=event.get("within"), made_at=float(event.get("at", 0.0)))
        elif kind in ("removed", "left") and event["entry"] in entries:
            found = entries[event["entry"]]
            if kind == "removed":
                found.removed, found.why = True, None
            else:
                found.why = str(event.get("why", ""))
    return entries


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        raise LedgerError(f"{path}: no ledger there (file not found)") from None
    except IsADirectoryError:
        raise LedgerError(f"{path}: is a directory, expected a ledger file") from None
    except OSError as exc:
        raise LedgerError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def read(path: str) -> list[Entry]:
    """Every entry the ledger at `path` holds, in the order made (removed or not); LedgerError for a file that is
    missing or no ledger."""
    return list(_fold(_events(path, _read_bytes(path))).values())


def open_entries(path: str, run: str | None = None) -> list[Entry]:
    """The entries still open (of `run` only, if given)."""
    return [entry for entry in read(path) if entry.open and (run is None or entry.run == run)]


def append(path: str, events: Iterable[dict[str, Any]]) -> None:
    """Append events (`removed`, `left`) to an existing ledger, each a whole line (the sweeper's way to write)."""
    lines = b"".join(_line(event) for event in events)
    if not lines:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as exc:
        raise LedgerError(f"{path}: the ledger cannot be written: {exc.strerror or exc}") from None
    try:
        with _locked(fd):
            os.write(fd, lines)
    finally:
        os.close(fd)


def compact(path: str, keep_run: str | None = None, gone: Callable[[Entry], bool] = lambda entry: False
            ) -> list[Entry]:
    """Rewrite the ledger keeping only the lines of entries still open and not `gone` (a server that went away
    with its run), their runs' lines, and every line of `keep_run`; returns the open entries of the other runs.
    Done under the ledger's lock, in place (a writer that appends meanwhile waits, then appends at the new end). A
    missing file is no error: nothing to keep."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LedgerError(f"{path}: the ledger cannot be opened: {exc.strerror or exc}") from None
    try:
        with _locked(fd):
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            events = _events(path, b"".join(chunks))
            entries = _fold(events)
            still = {entry.entry for entry in entries.values() if entry.open and not gone(entry)}
            runs = {entries[entry].run for entry in still} | ({keep_run} if keep_run else set())
            kept = [event for event in events if event["run"] == keep_run or
                    (event["event"] == "run" and event["run"] in runs) or event.get("entry") in still]
            if len(kept) != len(events):
                os.lseek(fd, 0, os.SEEK_SET)
                os.ftruncate(fd, 0)
                os.write(fd, b"".join(_line(event) for event in kept))
    finally:
        os.close(fd)
    return [entries[entry] for entry in still if entries[entry].run != keep_run]
