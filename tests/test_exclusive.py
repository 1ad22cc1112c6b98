"""Tests for conformance.exclusive: ordinary cases share a server, an exclusive one runs alone and is not starved.

Each holder is a thread with its own open files (flock locks belong to open files, so threads of one process
contend just as worker processes do). Every wait has a deadline; nothing sleeps."""

from __future__ import annotations

import fcntl
import threading

from conformance.exclusive import ServerLock

DEADLINE = 5.0


class Holder(threading.Thread):
    """Takes the lock, says so, holds it until released."""

    def __init__(self, lock: ServerLock, exclusive: bool) -> None:
        super().__init__(daemon=True)
        self.lock, self.exclusive = lock, exclusive
        self.holding, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        with self.lock.held(self.exclusive):
            self.holding.set()
            self.release.wait(DEADLINE)

    def done(self) -> None:
        self.release.set()
        self.join(DEADLINE)


def started(lock: ServerLock, exclusive: bool) -> Holder:
    holder = Holder(lock, exclusive)
    holder.start()
    return holder


def turnstile_taken(lock: ServerLock) -> bool:
    """Whether someone holds the turnstile (an exclusive case waiting for the room keeps it), asked until the
    deadline: the holder's thread takes it in its own time."""
    give_up = threading.Event()
    timer = threading.Timer(DEADLINE, give_up.set)
    timer.start()
    try:
        with open(lock.turnstile, "a") as turnstile:
            while not give_up.is_set():
                try:
                    fcntl.flock(turnstile, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(turnstile, fcntl.LOCK_UN)
                give_up.wait(0.01)
    finally:
        timer.cancel()
    return False


def test_ordinary_cases_hold_the_server_together(tmp_path):
    lock = ServerLock(str(tmp_path), "vidicore")
    first, second = started(lock, False), started(lock, False)
    assert first.holding.wait(DEADLINE) and second.holding.wait(DEADLINE)
    first.done(), second.done()


def test_an_exclusive_case_waits_for_the_room_to_empty_and_then_holds_it_alone(tmp_path):
    lock = ServerLock(str(tmp_path), "vidicore")
    ordinary = started(lock, False)
    assert ordinary.holding.wait(DEADLINE)
    alone = started(lock, True)
    assert not alone.holding.wait(0.2)  # the ordinary case still holds the room
    ordinary.done()
    assert alone.holding.wait(DEADLINE)
    later = started(lock, False)
    assert not later.holding.wait(0.2)  # nobody beside the exclusive case
    alone.done()
    assert later.holding.wait(DEADLINE)
    later.done()


def test_a_waiting_exclusive_case_is_not_starved_by_cases_arriving_after_it(tmp_path):
    lock = ServerLock(str(tmp_path), "spectra")
    first = started(lock, False)
    assert first.holding.wait(DEADLINE)
    alone = started(lock, True)
    assert turnstile_taken(lock)  # the exclusive case waits for the room, keeping the turnstile
    arrived_after = started(lock, False)
    assert not arrived_after.holding.wait(0.2)  # it queues behind the waiting exclusive case
    first.done()
    assert alone.holding.wait(DEADLINE) and not arrived_after.holding.is_set()
    alone.done()
    assert arrived_after.holding.wait(DEADLINE)
    arrived_after.done()


def test_the_protocols_locks_are_apart(tmp_path):
    vidicore, spectra = ServerLock(str(tmp_path), "vidicore"), ServerLock(str(tmp_path), "spectra")
    alone = started(vidicore, True)
    assert alone.holding.wait(DEADLINE)
    other = started(spectra, True)
    assert other.holding.wait(DEADLINE)
    alone.done(), other.done()


