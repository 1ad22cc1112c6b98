"""`conformance cleanup` on a crowded staging server: its wall time, and that it removes exactly what it should.

    python bench/cleanup.py [--foreign 500] [--left 50] [--repeat 3]

A reference server (both protocols) in this process holds `--foreign` VidiCore notifications of other users (spread
over the whole resources of every entity and the placeholder, none carrying a run marker), another user's
registration and bucket, and what a killed run left: `--left` notifications, made through the suite's own client
with its ledger, as a run makes them (each carries the run's marker; the ledger names half of them, the other half
are found by the marker alone, as a create whose answer never arrived). Then `conformance cleanup --target FILE` runs
as a user runs it (its own process, interpreter start included), and the server must hold exactly the foreign
things again. Repeated `--repeat` times (the killed run's things made anew each time); prints median, min and max.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance import reference
from conformance.http import HttpClient
from conformance.ledger import Ledger
from conformance.names import Names, new_run_token
from conformance.spectra.signing import SpectraAuth
from conformance.target import load_target
from conformance.vidicore import documents
from conformance.vidicore.client import WHOLE_FORMS, Bound, VidiCoreClient

FOREIGN = ('<NotificationDocument xmlns="http://xml.vidispine.com/schema/vidispine"><action><http>'
           '<url>http://someone.else.invalid/hook/{n}</url><method>POST</method></http></action>'
           '<trigger><job><finished/></job></trigger></NotificationDocument>')


def held(server) -> dict[str, set[str]]:
    vidicore, spectra = server.apps["vidicore"], server.apps["spectra"]
    return {"notifications": set(vidicore.store.notifications), "registrations": set(spectra.registrations),
            "buckets": set(spectra.jobs.buckets)}


def killed_run(target_file: Path, ledger: Path, left: int) -> None:
    """What a run killed mid-way leaves: `left` notifications it made (the ledger names the first half)."""
    target = load_target(target_file)
    settings = target.settings("vidicore")
    names = Names(new_run_token(now=time.time() - 3600), "gw0")  # a run of an hour ago
    http = HttpClient(settings.base_url, secrets=target.secrets())
    book = Ledger(str(ledger), names.run_id, names.prefix, "gw0").book("vidicore", settings.base_url, "target.toml")
    written = VidiCoreClient(http, settings, names, ledger=book)
    unwritten = VidiCoreClient(http, settings, names)
    for number in range(left):
        client = written if number < left // 2 else unwritten
        bound = Bound(WHOLE_FORMS[number % len(WHOLE_FORMS)])
        response = client.create(bound, documents.page_example(client.marker(), names.run_id))
        assert response.status == 200, response.status
    http.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--foreign", type=int, default=500)
    parser.add_argument("--left", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cleanup-bench-"))
    with reference.start(("vidicore", "spectra")) as server:
        data = server.target_data()
        lines = []
        for protocol in ("vidicore", "spectra"):
            section = data[protocol]
            lines += [f"[{protocol}]", f'base_url = "{section["base_url"]}"']
            for role, user in section["users"].items():
                lines.append(f"[{protocol}.users.{role}]")
                lines += [f'{key} = "{value}"' for key, value in user.items()]
            if section.get("entities"):
                lines.append(f"[{protocol}.entities]")
                lines += [f'"{key}" = "{value}"' for key, value in section["entities"].items()]
        (work / "target.toml").write_text("\n".join(lines) + "\n")
        os.environ.update(server.env)
        basic = ("admin", server.env["CONFORMANCE_REFERENCE_ADMIN_PASSWORD"])
        with httpx.Client(auth=basic) as client:
            for number in range(args.foreign):
                form = WHOLE_FORMS[number % len(WHOLE_FORMS)]
                answer = client.post(f"{data['vidicore']['base_url']}/{form.path()}",
                                     content=FOREIGN.format(n=number), headers={"Content-Type": "application/xml"})
                assert answer.status_code == 200, answer.text
        admin = data["spectra"]["users"]["admin"]
        signer = SpectraAuth(admin["access_id"], server.env[admin["secret_key_env"]])
        spectra = data["spectra"]["base_url"]
        assert httpx.post(f"{spectra}/_rest_/job_completed_notification_registration",
                          params={"notification_end_point": "http://someone.else.invalid/hook"},
                          auth=signer).status_code == 201
        assert httpx.post(f"{spectra}/_rest_/bucket", params={"name": "someone-elses-bucket"},
                          auth=signer).status_code == 201
        foreign = held(server)
        walls = []
        for _ in range(args.repeat):
            ledger = work / "reports" / "ledger.jsonl"
            killed_run(work / "target.toml", ledger, args.left)
            assert len(held(server)["notifications"]) == len(foreign["notifications"]) + args.left
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "conformance", "cleanup", "--target", "target.toml"],
                                  cwd=work, capture_output=True, text=True, timeout=600)
            walls.append(time.monotonic() - started)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr
            assert held(server) == foreign, "the cleanup removed too little or too much"
            last = done.stdout.strip().splitlines()[-1]
    print(f"conformance cleanup --target FILE over {args.foreign} foreign notifications and {args.left} left by a "
          f"killed run ({args.left // 2} in its ledger, {args.left - args.left // 2} by the marker alone):")
    print(f"  wall median {statistics.median(walls):.2f} s, min {min(walls):.2f} s, max {max(walls):.2f} s "
          f"({args.repeat} runs, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print(f"  last run: {last}; every foreign notification, registration and bucket survived")


if __name__ == "__main__":
    main()
