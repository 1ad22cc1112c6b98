"""Cancelled runs, measured: each signal at each moment, serially and under `-n 2`, against a target.

    python bench/interrupt.py [--signals SIGINT,SIGTERM] [--modes serial,-n 2] [--moments set-up,delivery,generated]

A reference server (both protocols) in this process holds another user's notification, registration and bucket; a
target file names it (passwords in the environment, a readable media file for VidiCore's import jobs, a 30 s quiet
window so that only the signal ends a delivery wait). For each (mode, moment, signal) `conformance run` starts as
CI starts it, in a process group of its own, with `--junitxml`; when the run's ledger shows the moment has come, the
signal goes to the whole group (as GitHub Actions and GitLab send it). The moments, read from the ledger (the only
outside view of a run's progress):

- set-up: a delivery case's first thing (its placeholder item) is made: the case is still setting up;
- delivery: the delivery case(s) made everything (item, notification, job; per worker) and wait for deliveries;
- generated: the generated case(s) made a few notifications/registrations: a Hypothesis example is in flight.

Prints one row per run: seconds from the signal to the process's exit, its exit code, the verdict of the
results.json it wrote, how many reports it wrote, the cases the signal stopped, the ledger's open entries, and what
the server holds beyond the other user's things (must be nothing). Each run's folder is kept under
reports/bench-runs/interrupt/ (output.txt, results.json, ledger). Timings are the machine's at the time: the load
is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from run import WORK, write_target  # noqa: E402  (bench/ is on sys.path now)

from conformance import reference  # noqa: E402
from conformance.ledger import read  # noqa: E402
from conformance.spectra.signing import SpectraAuth  # noqa: E402

# per mode: (the protocols named, the rest of the command line)
DELIVERY = {"serial": (("vidicore",), ("-k", "test_one_request_per_event")),
            "-n 2": ((), ("-n", "2", "-k", "test_one_request_per_event or test_registration_fires_only_for_its_job"))}
GENERATED = {"serial": (("vidicore",), ("-k", "test_generated_round_trip")),
             "-n 2": ((), ("-n", "2", "-k",
                           "test_generated_round_trip or test_generated_registrations_echo_their_parameters"))}
# moment -> (the run's selection per mode, things the ledger must name first per mode)
MOMENTS = {"set-up": (DELIVERY, {"serial": 1, "-n 2": 1}),
           "delivery": (DELIVERY, {"serial": 3, "-n 2": 9}),
           "generated": (GENERATED, {"serial": 4, "-n 2": 8})}
FOREIGN = ('<NotificationDocument xmlns="http://xml.vidispine.com/schema/vidispine"><action><http>'
           '<url>http://someone.else.invalid/hook</url><method>POST</method></http></action>'
           '<trigger><job><finished/></job></trigger></NotificationDocument>')


def held(server: reference.ReferenceServer) -> dict[str, set[str]]:
    """What the server holds that a run could leave (provisioned entities aside)."""
    vidicore, spectra = server.apps["vidicore"], server.apps["spectra"]
    return {"notifications": set(vidicore.store.notifications),
            "items": set(vidicore.store.entities["item"]) - set(vidicore.store.provisioned.values()),
            "registrations": set(spectra.registrations), "buckets": set(spectra.jobs.buckets),
            "jobs in progress": {job.id for job in spectra.jobs.jobs.values() if job.status == "IN_PROGRESS"}}


def foreign_things(server: reference.ReferenceServer, data: dict) -> None:
    """Another user's notification, registration and bucket: they must survive every run."""
    spectra = data["spectra"]
    admin = SpectraAuth(spectra["users"]["admin"]["access_id"], server.env[spectra["users"]["admin"]["secret_key_env"]])
    basic = ("admin", server.env["CONFORMANCE_REFERENCE_ADMIN_PASSWORD"])
    answers = (httpx.post(f"{data['vidicore']['base_url']}/item/notification", auth=basic, content=FOREIGN,
                          headers={"Content-Type": "application/xml"}),
               httpx.post(f"{spectra['base_url']}/_rest_/job_completed_notification_registration",
                          params={"notification_end_point": "http://someone.else.invalid/hook"}, auth=admin),
               httpx.post(f"{spectra['base_url']}/_rest_/bucket", params={"name": "someone-elses-bucket"}, auth=admin))
    assert [answer.status_code for answer in answers] == [200, 201, 201], [a.text for a in answers]


@dataclass
class Row:
    mode: str
    moment: str
    signal: str
    seconds: float
    code: int
    verdict: str
    reports: int
    stopped: int
    open_entries: int
    left: int

    def cells(self) -> list[str]:
        return [self.mode, self.moment, self.signal, f"{self.seconds:.2f}", str(self.code), self.verdict,
                f"{self.reports}/3", str(self.stopped), str(self.open_entries), str(self.left)]


def made(ledger: Path) -> int:
    return ledger.read_text().count('"event":"made"') if ledger.exists() else 0


def one_run(server: reference.ReferenceServer, data: dict, foreign: dict[str, set[str]], mode: str, moment: str,
            name: str) -> Row:
    cwd = WORK / "interrupt" / f"{mode.replace(' ', '')}-{moment}-{name}"
    shutil.rmtree(cwd, ignore_errors=True)
    write_target(cwd / "target.toml", data, ("vidicore", "spectra"))
    with (cwd / "target.toml").open("a") as target:
        target.write("[delivery]\nquiet_window = 30\n")
    selection, needed = MOMENTS[moment]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env.update(server.env, PYTHONUNBUFFERED="1", PYTEST_DEBUG_TEMPROOT=str(cwd))
    protocols, rest = selection[mode]
    args = [sys.executable, "-m", "conformance", "run", *protocols, "--target", "target.toml", *rest,
            "--junitxml", "reports/junit.xml"]
    process = subprocess.Popen(args, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    ledger = cwd / "reports" / "ledger.jsonl"
    deadline = time.monotonic() + 180
    while made(ledger) < needed[mode]:  # a benchmark may poll; the suite never does
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise SystemExit(f"{mode} {moment}: the moment never came:\n{''.join(output)[-3000:]}")
        time.sleep(0.01)
    number = getattr(signal, name)
    sent = time.monotonic()
    os.killpg(process.pid, number)
    code = process.wait(timeout=120)
    seconds = time.monotonic() - sent
    reader.join(timeout=10)
    (cwd / "output.txt").write_text("".join(output))
    results = cwd / "reports" / "results.json"
    meta = json.loads(results.read_text()) if results.exists() else {}
    verdict = meta.get("verdict", {}).get("kind", "(no results)")
    stopped = len(((meta.get("meta") or {}).get("interruption") or {}).get("stopped") or [])
    reports = sum((cwd / "reports" / name).exists() for name in ("results.json", "junit.xml", "report.html"))
    open_entries = sum(entry.open for entry in read(str(ledger))) if ledger.exists() else 0
    now = held(server)
    left = sum(len(now[kind] - foreign[kind]) for kind in now)
    gone = sum(len(foreign[kind] - now[kind]) for kind in now)
    if gone:
        raise SystemExit(f"{mode} {moment} {name}: {gone} of the other user's things were removed")
    return Row(mode, moment, name, seconds, code, verdict, reports, stopped, open_entries, left)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", default="SIGINT,SIGTERM")
    parser.add_argument("--modes", default="serial,-n 2")
    parser.add_argument("--moments", default=",".join(MOMENTS))
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    rows = []
    with reference.start(("vidicore", "spectra")) as server:
        data = server.target_data()
        foreign_things(server, data)
        foreign = held(server)
        for mode in args.modes.split(","):
            for moment in args.moments.split(","):
                for name in args.signals.split(","):
                    rows.append(one_run(server, data, foreign, mode, moment, name))
                    print("  ".join(rows[-1].cells()), file=sys.stderr, flush=True)
    header = ["mode", "moment", "signal", "signal→exit s", "exit", "verdict", "reports", "stopped", "ledger open",
              "left on server"]
    print(f"| {' | '.join(header)} |\n|{'---|' * len(header)}")
    for row in rows:
        print(f"| {' | '.join(row.cells())} |")
    worst = max(row.seconds for row in rows)
    print(f"\n{len(rows)} runs; slowest {worst:.2f} s after the signal; left on the server in all: "
          f"{sum(row.left for row in rows)}; {os.cpu_count()} cores, load average (1 min) "
          f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
