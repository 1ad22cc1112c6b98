"""The process's interruption state: what the first SIGINT or SIGTERM changes, where it may stop a case, and the
grace the run has left to clean up in.

The feature plugin `conformance.interrupting` owns the signal handlers; this core module is what the HTTP seam,
the cleanup loop and the clients consult, so none of them needs to know about signals.

- `STATE.trip(name)`: the first signal (recorded once, with the time); `STATE.interrupted` names it.
- A case's setup and call run *armed* (`STATE.armed_case()`): the first signal raises `Interrupted` in the main
  thread at once (a delivery wait, a quiet window, a Hypothesis example or a request in flight ends there and
  then), unless the case is inside a *shield* (`shielded()`): creating something and writing it down (the request
  and the ledger line), and removing what was made (`conformance.cleanup.remove_all`). There the signal is held and
  raised when the shield ends, so nothing the server confirmed is ever missed by the case's cleanup. Teardown is
  never armed: a case's cleanup always runs.
- `Interrupted` is a `KeyboardInterrupt`, so whatever treats Ctrl-C specially (pytest, Hypothesis) treats it so.
- The grace (`[run] interrupt_grace`, default `DEFAULT_GRACE` seconds) bounds what comes after the signal: a
  request made then gets at most what is left of it less `RESERVE` (kept for the assessment and the reports)
  through `within`, and `spent()` tells the cleanup loop to stop trying; what it did not try is listed as left.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

DEFAULT_GRACE = 7.0  # seconds from the first signal to the end of the run (GitHub Actions: SIGTERM after 7.5 s)
RESERVE = 2.0        # seconds of the grace kept for the assessment, the reports and the exit


class Interrupted(KeyboardInterrupt):
    """The first SIGINT or SIGTERM stopped the running case (its cleanup still runs)."""


class Interruption:
    """One per process (`STATE`); only the main thread arms, shields and trips it (signal handlers run there)."""

    def __init__(self) -> None:
        self.ended: str | None = None  # the signal that interrupted the last run of this process (kept by reset)
        self.reset()

    def reset(self, grace: float = DEFAULT_GRACE) -> None:
        self.grace = grace
        self.signal: str | None = None   # "SIGTERM": the first signal, once it came
        self.at: float | None = None     # when (time.monotonic())
        self.armed = False               # the main thread runs a case's setup or call
        self.depth = 0                   # shields entered
        self.pending = False             # tripped inside a shield: raise when it ends
        self.assessed: int | None = None  # the exit code, once the results and reports are written
        self.done = threading.Event()    # the run is over: the grace watchdog stands down

    @property
    def interrupted(self) -> str | None:
        """The signal that interrupted the run ("SIGINT", "SIGTERM"), or None."""
        return self.signal

    def reason(self) -> str:
        return f"interrupted by {self.signal}"

    def trip(self, name: str) -> bool:
        """The signal `name` arrived: True when it is the first. Raises `Interrupted` when the main thread runs a
        case outside a shield (the caller is the signal handler, in the main thread)."""
        first = self.signal is None
        if first:
            self.signal, self.at = name, time.monotonic()
        if self.armed:
            if self.depth:
                self.pending = True
            else:
                self.armed = False
                raise Interrupted(self.reason())
        return first

    # --- where a signal may stop a case --------------------------------------------------------------------

    @contextlib.contextmanager
    def armed_case(self) -> Iterator[None]:
        """A case's setup or call: the first signal stops it (raises `Interrupted`), at once or when a shield
        ends; if the run was interrupted already, it stops before it begins."""
        if self.signal is not None:
            raise Interrupted(self.reason())
        self.armed, self.pending = True, False
        try:
            yield
        finally:
            self.armed = False

    @contextlib.contextmanager
    def shield(self) -> Iterator[None]:
        """Hold a signal until the block ends, then raise `Interrupted` if a case is armed (in place of whatever
        the block raised: the case is stopping). Only the main thread's blocks count: signals are handled there."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if self.depth == 0 and self.pending and self.armed:
                self.pending = self.armed = False
                raise Interrupted(self.reason())  # the held signal ends the case, whatever the block raised

    # --- the grace ------------------------------------------------------------------------------------------

    def left(self) -> float | None:
        """Seconds left for cleanup after the signal (the grace less the reserve), or None before any signal."""
        if self.at is None:
            return None
        return self.at + self.grace - RESERVE - time.monotonic()

    def within(self, timeout: float) -> float:
        """A request's timeout: as configured, or after a signal no more than the cleanup time left (at least a
        tenth of a second: a request is tried or not at all, see `spent`)."""
        left = self.left()
        return timeout if left is None else max(0.1, min(timeout, left))

    def spent(self) -> bool:
        """Whether the cleanup time after the signal is over (the rest is listed as left, not tried)."""
        left = self.left()
        return left is not None and left <= 0


STATE = Interruption()


def shielded() -> contextlib.AbstractContextManager[None]:
    """`with shielded():` a first signal is held until the block ends (see `Interruption.shield`)."""
    return STATE.shield()


def within(timeout: float) -> float:
    return STATE.within(timeout)


def spent() -> bool:
    return STATE.spent()
