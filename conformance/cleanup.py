"""Removing what a case made: the one delete-and-collect-leftovers loop of every client and trigger.

Each client and trigger remembers what the run made (registrations, notifications, buckets, items) and deletes
exactly that at the end of its case, never anything else (staging servers are shared). What could not be removed
is not an error of the case: it is one line "what: why" in the case's record and report
(`conformance.run.report_leftovers`), so a server that keeps things a run made is seen, never silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from conformance.http import Response, TransportError

T = TypeVar("T")
REMOVED = frozenset({200, 204, 404})  # 404: gone already (deleted by the case, or with its job)


def remove_all(made: list[T], delete: Callable[[T], Response], what: Callable[[T], str], *,
               refused: Callable[[int], str] = str) -> list[str]:
    """Delete each of `made`, last made first, taking it out of the list as it goes (so a cleanup that is cut short
    leaves only what it did not try); returns what could not be removed, one line each: "`what(thing)`: why",
    why being the transport error or the answer's status (as `refused(status)` says it)."""
    left = []
    while made:
        thing = made.pop()
        try:
            response = delete(thing)
        except TransportError as exc:
            left.append(f"{what(thing)}: {exc}")
            continue
        if response.status not in REMOVED:
            left.append(f"{what(thing)}: {refused(response.status)}")
    return left
