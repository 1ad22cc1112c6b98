"""Removing what a case made: the one delete-and-collect-leftovers loop of every client and trigger.

Each client and trigger remembers what the run made (registrations, notifications, buckets, items, jobs) in a
`Made` list and deletes exactly that at the end of its case, never anything else (staging servers are shared).
What could not be removed is not an error of the case: it is one line "what: why" in the case's record and report
(`conformance.run.report_leftovers`), so a server that keeps things a run made is seen, never silently.

A `Made` list given a ledger book (`conformance.ledger.Book`) writes each thing into the run's ledger the moment it
is added (the client adds it as soon as the server confirmed it) and marks it removed, or left with why, when
`remove_all` is done with it, so a run that is killed leaves a ledger of exactly what it left. `remove_all` runs
shielded from a first SIGINT or SIGTERM (`conformance.interruption`): it finishes, unless the grace after the
signal is spent; what it then did not try is listed as left.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from conformance import interruption
from conformance.http import Response, TransportError
from conformance.ledger import Book

T = TypeVar("T", bound=Hashable)
REMOVED = frozenset({200, 204, 404})  # 404: gone already (deleted by the case, or with its job)
NOT_TRIED = "not tried: the grace after the signal was spent"


class Made(list[T]):
    """What a client made on the target, in the order made (a list: `remove_all` empties it). With a ledger `book`,
    each thing added is written down at once as `describe(thing)` says (`kind`, `path`, `user`, `name`, `within`:
    `Book.made`'s arguments), and `settled(thing, why)` marks it removed (why None) or left."""

    def __init__(self, book: Book | None = None, describe: Callable[[T], Mapping[str, Any]] | None = None,
                 things: Iterable[T] = ()) -> None:
        super().__init__()
        self.book = book
        self.describe = describe
        self._entries: dict[T, str] = {}
        self.extend(things)

    def append(self, thing: T) -> None:
        super().append(thing)
        if self.book is not None and self.describe is not None and thing not in self._entries:
            self._entries[thing] = self.book.made(**self.describe(thing))

    def extend(self, things: Iterable[T]) -> None:
        for thing in things:
            self.append(thing)

    def __iadd__(self, things: Iterable[T]) -> Made[T]:  # type: ignore[override,misc]
        self.extend(things)
        return self

    def entry(self, thing: T) -> str | None:
        """The ledger entry of a thing still listed (for what lives within it)."""
        return self._entries.get(thing)

    def settled(self, thing: T, why: str | None) -> None:
        """A thing `remove_all` is done with: removed (`why` None) or left, with why."""
        entry = self._entries.get(thing) if why is not None else self._entries.pop(thing, None)
        if self.book is None or entry is None:
            return
        if why is None:
            self.book.removed(entry)
        else:
            self.book.left(entry, why)

    def forget(self, which: Callable[[T], bool]) -> None:
        """Take the things `which` picks out of the list: the case removed them itself."""
        gone = [thing for thing in self if which(thing)]
        self[:] = [thing for thing in self if not which(thing)]
        for thing in gone:
            self.settled(thing, None)


def remove_all(made: list[T], delete: Callable[[T], Response], what: Callable[[T], str], *,
               refused: Callable[[int], str] = str) -> list[str]:
    """Delete each of `made`, last made first, taking it out of the list as it goes (so a cleanup that is cut short
    leaves only what it did not try); returns what could not be removed, one line each: "`what(thing)`: why",
    why being the transport error or the answer's status (as `refused(status)` says it)."""
    left = []
    with interruption.shielded():
        while made:
            thing = made.pop()
            why: str | None
            if interruption.spent():
                why = NOT_TRIED
            else:
                try:
                    response = delete(thing)
                except TransportError as exc:
                    why = str(exc)
                else:
                    why = None if response.status in REMOVED else refused(response.status)
            if why is not None:
                left.append(f"{what(thing)}: {why}")
            if isinstance(made, Made):
                made.settled(thing, why)
    return left
