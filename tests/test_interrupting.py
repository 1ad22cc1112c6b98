"""SIGINT and SIGTERM end a run as CI runners expect (conformance.interrupting), and `conformance cleanup` removes what
a run that was SIGKILLed left.

The decisions first, as units (which processes handle the signals). Then the tests that kill: the suite runs as a
subprocess, in a process group of its own, against the embedded reference server or a target file naming a
reference server this test started (so it can see what is left there), and gets a signal sent to its process group
at a moment picked by an event (the ledger growing, a line of output; never a fixed sleep): during set-up, during a
delivery wait (a quiet window made 30 s long, so only the signal can end it early), during a generated case, serially
and under `-n 2`. Each run must end within the grace (7 s), with the right verdict and exit code, every report it was
asked for written, its ledger saying every thing it made was removed, and nothing of it left on the server (while
another user's notification, registration and bucket stay). The runs are small `-k` selections on one server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fakes import Config

from conformance import cli, interrupting, reference
from conformance.interruption import DEFAULT_GRACE, STATE, Interrupted
from conformance.ledger import read
from conformance.spectra.signing import SpectraAuth
from conftest import toml

# --- which processes handle the signals -----------------------------------------------------------------------


def config(*args: str, pyargs: bool = True, **options) -> Config:
    found = Config(pyargs=pyargs, **options)
    found.args = list(args)  # type: ignore[attr-defined]
    return found


def test_only_a_session_of_conformance_cases_takes_the_signals_over(tmp_path):
    package = Path(interrupting.__file__).parent
    assert interrupting.targets_conformance(config("conformance.vidicore", "conformance.spectra"))
    assert interrupting.targets_conformance(config("conformance"))
    assert interrupting.targets_conformance(config(str(package / "vidicore" / "cases" / "test_create.py::x"),
                                                   pyargs=False))
    assert not interrupting.targets_conformance(config("tests"))  # a project's own tests keep Ctrl-C as it is
    assert not interrupting.targets_conformance(config("conformance_extras", pyargs=True))
    assert not interrupting.targets_conformance(config("conformance.vidicore", pyargs=False))  # a folder named so


def test_the_role_of_a_process():
    assert interrupting.role_of(config(dist="no")) == "serial"
    assert interrupting.role_of(config(dist="load", tx=["popen"] * 2)) == "controller"
    worker = config(dist="load", tx=["popen"])
    worker.workerinput = {"workerid": "gw0"}  # type: ignore[attr-defined]
    assert interrupting.role_of(worker) == "worker"


def test_a_signal_another_thread_receives_still_wakes_the_waiting_case():
    """The kernel may give the process's signal to any thread (the receiver's, a server's); the case waiting in the
    main thread must still stop at once, not when its wait ends."""
    handling = interrupting.Interrupting(config(), "serial")  # type: ignore[arg-type]
    STATE.reset(grace=60.0)
    handling.install()
    release = threading.Event()
    other = threading.Thread(target=release.wait, args=(30,))
    other.start()
    try:
        started = time.monotonic()
        with pytest.raises(Interrupted, match="interrupted by SIGTERM"), STATE.armed_case():
            signal.pthread_kill(other.ident, signal.SIGTERM)  # not to the main thread
            threading.Event().wait(30)  # a delivery wait
        assert time.monotonic() - started < 10
    finally:
        release.set()
        other.join()
        STATE.done.set()  # the grace watchdog stands down
        handling.uninstall()
        STATE.reset()



def test_a_late_poke_after_the_run_ended_does_not_end_the_process():
    """The poking thread may poke the main thread after the handlers are gone (a loaded machine: the run ended
    between its read of the wakeup pipe and its poke). SIGUSR2's default would end the process (exit -12) after a
    run that ended well; it is ignored instead."""
    handling = interrupting.Interrupting(config(), "serial")  # type: ignore[arg-type]
    handling.install()
    handling.uninstall()
    assert signal.getsignal(interrupting.POKE) not in (signal.SIG_DFL, None)
    signal.pthread_kill(threading.main_thread().ident, interrupting.POKE)  # the late poke: this process lives on

# --- the tests that kill --------------------------------------------------------------------------------------

GRACE = DEFAULT_GRACE
DOCUMENT = ('<NotificationDocument xmlns="http://xml.vidispine.com/schema/vidispine"><action><http><url>{url}</url>'
            '<method>POST</method></http></action><trigger><job><finished/></job></trigger></NotificationDocument>')
DURATIONS: dict[str, float] = {}  # what each kill test measured: printed at the end of the module's tests


@dataclass
class Server:
    """One reference server for the module's runs (both protocols), a target file naming it, another user's things
    on it, and what it holds."""

    server: reference.ReferenceServer
    path: Path
    data: dict
    foreign: dict[str, set[str]] = field(default_factory=dict)

    def held(self) -> dict[str, set[str]]:
        vidicore, spectra = self.server.apps["vidicore"], self.server.apps["spectra"]
        provisioned = set(vidicore.store.provisioned.values())
        return {"notifications": set(vidicore.store.notifications),
                "items": set(vidicore.store.entities["item"]) - provisioned,
                "registrations": set(spectra.registrations), "buckets": set(spectra.jobs.buckets),
                "jobs in progress": {job.id for job in spectra.jobs.jobs.values() if job.status == "IN_PROGRESS"}}


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    path = tmp_path_factory.mktemp("target")
    (path / "media.bin").write_bytes(b"conformance media\n")
    with reference.start(("vidicore", "spectra")) as server:
        data = server.target_data()
        data["vidicore"]["jobs"] = {"readable_uri": (path / "media.bin").as_uri()}
        data["delivery"] = {"quiet_window": 30}  # only the signal ends a quiet window early
        (path / "target.toml").write_text(toml(data))
        spectra = data["spectra"]
        admin = SpectraAuth(spectra["users"]["admin"]["access_id"],
                            server.env[spectra["users"]["admin"]["secret_key_env"]])
        basic = ("admin", server.env["CONFORMANCE_REFERENCE_ADMIN_PASSWORD"])
        notification = httpx.post(f"{data['vidicore']['base_url']}/item/notification", auth=basic,
                                  content=DOCUMENT.format(url="http://someone.else.invalid/hook"),
                                  headers={"Content-Type": "application/xml"})
        registration = httpx.post(f"{spectra['base_url']}/_rest_/job_completed_notification_registration",
                                  params={"notification_end_point": "http://someone.else.invalid/hook"}, auth=admin)
        bucket = httpx.post(f"{spectra['base_url']}/_rest_/bucket", params={"name": "someone-elses-bucket"},
                            auth=admin)
        assert (notification.status_code, registration.status_code, bucket.status_code) == (200, 201, 201)
        found = Server(server, path, data)
        found.foreign = found.held()
        yield found
    if DURATIONS:  # the figures of the closing note: signal to exit, each run
        print("\nsignal to exit: " + "; ".join(f"{name} {seconds:.2f} s" for name, seconds in DURATIONS.items()))


@dataclass
class Run:
    """`conformance run` in a process group of its own; its output collected as it comes."""

    process: subprocess.Popen
    cwd: Path
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, cwd: Path, *args: str, env: dict[str, str] | None = None) -> Run:
        full = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
        full.update(env or {})
        full["PYTHONUNBUFFERED"] = "1"
        (cwd / "tmp").mkdir(exist_ok=True)  # its own pytest temporary folders (not every earlier session's to prune)
        full["PYTEST_DEBUG_TEMPROOT"] = str(cwd / "tmp")
        process = subprocess.Popen([sys.executable, "-m", "conformance", "run", *args], cwd=cwd, env=full, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        run = cls(process, cwd)
        run.reader = threading.Thread(target=lambda: run.output.extend(process.stdout or ()), daemon=True)
        run.reader.start()
        return run

    @property
    def text(self) -> str:
        return "".join(self.output)

    @property
    def ledger(self) -> Path:
        return self.cwd / "reports" / "ledger.jsonl"

    def made(self) -> int:
        return self.ledger.read_text().count('"event":"made"') if self.ledger.exists() else 0

    def when(self, ready, what: str, within: float = 120.0) -> None:
        """Poll (a test may; the suite never does) until `ready()`, or fail naming `what`."""
        deadline = time.monotonic() + within
        while not ready():
            assert self.process.poll() is None, f"the run ended before {what}:\n{self.text[-3000:]}"
            assert time.monotonic() < deadline, f"no {what} within {within:g} s:\n{self.text[-3000:]}"
            time.sleep(0.01)

    def signal(self, number: int, name: str, then: int | None = None) -> tuple[int, float]:
        """Send `number` to the run's process group (`then` right after it, if given: a second signal); its exit
        code and the seconds from the signal to its end."""
        sent = time.monotonic()
        os.killpg(self.process.pid, number)
        if then is not None:
            self.when(lambda: "stopping" in self.text, "the first signal's line", within=10)
            os.killpg(self.process.pid, then)
        code = self.process.wait(timeout=60)
        took = time.monotonic() - sent
        DURATIONS[name] = took
        if self.reader is not None:
            self.reader.join(timeout=10)  # its last lines
        return code, took


def results(cwd: Path) -> dict:
    return json.loads((cwd / "reports" / "results.json").read_text())


def check_ended(run: Run, code: int, took: float, exit_code: int = 2, verdict: str = "INTERRUPTED") -> dict:
    """Within the grace, the verdict and exit code, every report written, the ledger all removed."""
    assert took <= GRACE, f"the run took {took:.1f} s after the signal:\n{run.text[-3000:]}"
    assert code == exit_code, run.text[-3000:]
    data = results(run.cwd)
    assert data["verdict"]["kind"] == verdict and run.text.rstrip().splitlines()[-1].startswith(f"VERDICT: {verdict}")
    assert (run.cwd / "reports" / "junit.xml").exists() and (run.cwd / "reports" / "report.html").exists()
    assert data["meta"]["interruption"]["stopped"] or "no case was running" in run.text or \
        "before any case started" in run.text
    if run.ledger.exists():  # (a run stopped before it made anything has none)
        assert [entry.describe() for entry in read(str(run.ledger)) if entry.open] == []
    assert data["meta"]["ledger"]["left"] == [] and "left on the target" not in run.text
    return data


def in_target(target: Server, name: str, **jobs: str) -> Path:
    cwd = target.path / name
    cwd.mkdir()
    data = json.loads(json.dumps(target.data))
    data["vidicore"]["jobs"].update(jobs)
    (cwd / "target.toml").write_text(toml(data))
    return cwd


REPORTS = ("--junitxml", "reports/junit.xml")
DELIVERY_WAITS = "test_one_request_per_event or test_registration_fires_only_for_its_job"


@pytest.mark.parametrize("number, name", [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")])
def test_a_signal_during_a_delivery_wait_ends_the_run_cleanly(target, number, name):
    """Serially against the target: the signal comes while the case waits out a 30 s quiet window."""
    cwd = in_target(target, f"wait-{name}")
    run = Run.start(cwd, "vidicore", "--target", "target.toml", "-k", "test_one_request_per_event", *REPORTS,
                    env=dict(target.server.env))
    run.when(lambda: run.made() >= 3, "item, notification and job in the ledger")  # then it waits
    code, took = run.signal(number, f"serial {name}, delivery wait")
    data = check_ended(run, code, took)
    assert data["meta"]["interruption"]["stopped"] == ["cases/test_delivery.py::test_one_request_per_event"]
    assert f"interrupted by {name}: stopped 1 running case(s)" in run.text
    assert target.held() == target.foreign


def test_a_signal_during_a_generated_case_after_a_must_failed(tmp_path):
    """On the embedded server: a Hypothesis example in flight is stopped (its example's cleanup and the case's
    teardown run); a MUST that failed before the signal makes the run NOT CONFORMANT, exit 1."""
    run = Run.start(tmp_path, "vidicore", "--fault", "id-lowercase", "-k",
                    "test_create_xml[item] or test_generated_round_trip", *REPORTS)
    run.when(lambda: run.made() >= 6, "the generated case's notifications (after the failing case)")
    code, took = run.signal(signal.SIGTERM, "serial SIGTERM, generated case (embedded)")
    data = check_ended(run, code, took, exit_code=1, verdict="NOT CONFORMANT")
    assert "VC-ID-FORMAT" in data["verdict"]["reason"]
    assert data["meta"]["interruption"]["stopped"] == ["cases/test_generated.py::test_generated_round_trip"]


@pytest.mark.parametrize("number, name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")])
def test_under_two_workers_every_worker_stops_and_the_controller_reports(target, number, name):
    """`-n 2`: SIGTERM while the first case sets up (its placeholder item is the first thing the ledger names),
    SIGINT while each worker waits for deliveries."""
    cwd = in_target(target, f"workers-{name}")
    run = Run.start(cwd, "--target", "target.toml", "-n", "2", "-k", DELIVERY_WAITS, *REPORTS,
                    env=dict(target.server.env))
    made = 1 if number == signal.SIGTERM else 9  # the first set-up; both cases' things (then both wait)
    run.when(lambda: run.made() >= made, f"{made} thing(s) in the ledger")
    code, took = run.signal(number, f"-n 2 {name}, " + ("set-up" if number == signal.SIGTERM else "delivery waits"))
    data = check_ended(run, code, took)
    if number == signal.SIGINT:
        assert len(data["meta"]["interruption"]["stopped"]) == 2, run.text[-3000:]
    assert "replacing crashed worker" not in run.text and "node down" not in run.text
    assert target.held() == target.foreign


def test_a_second_signal_ends_the_run_at_once_and_says_what_is_left(target, monkeypatch):
    """The first SIGTERM comes while the case starts its job through the target's `start_command`, one that takes
    3 s and ignores the signal (the case is shielded meanwhile: a job started is written down before it stops); the
    second ends the run at once, naming what is left (then `conformance cleanup` removes it)."""
    command = "sh -c 'trap \"\" INT TERM; touch started; sleep 3; echo VX-1'"
    cwd = in_target(target, "second", start_command=command)
    run = Run.start(cwd, "vidicore", "--target", "target.toml", "-k", "test_one_request_per_event", *REPORTS,
                    env=dict(target.server.env))
    run.when(lambda: (cwd / "started").exists(), "the start_command running")
    code, took = run.signal(signal.SIGTERM, "serial second SIGTERM", then=signal.SIGTERM)
    assert code == 128 + signal.SIGTERM and took <= GRACE, run.text[-3000:]
    assert "a second SIGTERM: the run ends at once; no results and no reports" in run.text
    left = re.findall(r"^  vidicore (\w+) ", run.text, re.MULTILINE)
    assert sorted(left) == ["item", "notification"], run.text[-3000:]
    assert "conformance cleanup --target target.toml" in run.text
    for name, value in target.server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    assert cli.main(["cleanup", "--target", "target.toml"]) == 0
    assert target.held() == target.foreign
    os.killpg(run.process.pid, signal.SIGKILL)  # the start_command's sleep, orphaned


def test_cleanup_removes_what_a_killed_run_left_and_nothing_else(target):
    """SIGKILL cannot be caught: the ledger the run wrote (and the run marker) let `conformance cleanup` find
    everything it left, while another user's notification, registration and bucket survive."""
    cwd = in_target(target, "killed")
    run = Run.start(cwd, "--target", "target.toml", "-n", "2", "-k", DELIVERY_WAITS, env=dict(target.server.env))
    run.when(lambda: run.made() >= 9, "both cases' things in the ledger")
    run.signal(signal.SIGKILL, "-n 2 SIGKILL")
    left = {kind: things - target.foreign[kind] for kind, things in target.held().items()}
    assert left["notifications"] and left["items"] and left["registrations"] and left["buckets"]
    started = time.monotonic()
    sweep = subprocess.run([sys.executable, "-m", "conformance", "cleanup", "--target", "target.toml"], cwd=cwd,
                           env={**os.environ, **target.server.env}, capture_output=True, text=True, timeout=60)
    DURATIONS["conformance cleanup after the SIGKILL"] = time.monotonic() - started
    assert sweep.returncode == 0, sweep.stdout + sweep.stderr
    assert target.held() == target.foreign, sweep.stdout
    assert "could not remove" not in sweep.stdout and "removed: spectra bucket" in sweep.stdout
    assert [entry for entry in read(str(run.ledger)) if entry.open] == []
