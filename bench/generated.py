"""Which of the reference server's generated-only faults each generation profile finds, how long the run takes,
and how small the shrunk example is; written to reports/generated-faults.json and printed as a table.

    python bench/generated.py [--profiles dev,ci,certify] [--dev-seeds 5] [--seed 1] [--faults NAME,...] [--jobs 2]

For each fault with `Fault.generated` and each profile, one `conformance run PROTOCOL --fault NAME -m generated
-k EXPR --profile P` against the embedded server, in a fresh temporary folder (no example database carries over):
the properties (`-k 'not model'`) for a fault one document or request reveals, the stateful model (`-k model`) for
a fault only a sequence reveals (`Fault.sequence`), as the detection matrix runs them. `ci` is derandomised (one
run tells); `dev` draws at random, so it runs once per seed 1..N (`--dev-seeds`) and says in how many it found the
fault; `certify` runs with `--seed` (default 1).

Found: the run flagged exactly the fault's requirements (FAIL, or WARN for a SHOULD). The shrunk example: the
"minimal example" line of the failing check (its length; for a stateful model its steps), and the largest request
body its exchanges sent (a property's document; a Spectra request carries its parameters in the URL: its length).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.reference.faults import FAULTS  # noqa: E402

EXAMPLE = re.compile(r"minimal example \([^)]*\): (.*?)(?:; rerun: |\]$)", re.S)


def run(fault: str, profile: str, seed: int | None) -> dict[str, Any]:
    spec = FAULTS[fault]
    args = [sys.executable, "-m", "conformance", "run", spec.protocol, "--fault", fault, "-m", "generated",
            "-k", "model" if spec.sequence else "not model", "--profile", profile, "--html", ""]
    if seed is not None:
        args += ["--seed", str(seed)]
    with tempfile.TemporaryDirectory(prefix="gen-faults-") as folder:
        started = time.monotonic()
        done = subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=3600,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.monotonic() - started
        try:
            data = json.loads((Path(folder) / "reports" / "results.json").read_text())
        except (OSError, ValueError):
            return {"fault": fault, "profile": profile, "seed": seed, "wall_s": round(wall, 1), "exit": done.returncode,
                    "found": False, "error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    flagged = sorted(r["id"] for r in data["requirements"] if r["status"] in ("FAIL", "WARN"))
    result: dict[str, Any] = {"fault": fault, "profile": profile, "seed": seed, "wall_s": round(wall, 1),
                              "exit": done.returncode, "flagged": flagged,
                              "found": flagged == sorted(spec.requirements)}
    for case in data["cases"]:
        for event in case["events"]:
            if event["outcome"] not in ("fail", "warn") or event["requirement"] not in spec.requirements:
                continue
            match = EXAMPLE.search(event["message"])
            if not match:
                continue
            example = match.group(1)
            sent = [e for e in case["exchanges"] if e.get("method") in ("POST", "PUT")]
            result.update(example=example, example_chars=len(example),
                          largest_body=max((len(e.get("request_body") or "") for e in sent), default=0),
                          longest_url=max((len(e.get("url") or "") for e in sent), default=0))
            if spec.sequence:
                result["steps"] = len(example.split("; "))
            return result
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", default="dev,ci,certify")
    parser.add_argument("--dev-seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1, help="certify's seed")
    parser.add_argument("--faults", default="", help="comma-separated (default: every generated-only fault)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (each is serial)")
    parser.add_argument("--out", default=str(ROOT / "reports" / "generated-faults.json"))
    options = parser.parse_args()
    faults = [f for f in options.faults.split(",") if f] or sorted(n for n, f in FAULTS.items() if f.generated)
    unknown = [f for f in faults if f not in FAULTS or not FAULTS[f].generated]
    if unknown:
        parser.error(f"not a generated-only fault: {', '.join(unknown)}")
    plan = []
    for profile in options.profiles.split(","):
        seeds = {"dev": list(range(1, options.dev_seeds + 1)), "ci": [None]}.get(profile, [options.seed])
        plan += [(fault, profile, seed) for fault in faults for seed in seeds]
    with ThreadPoolExecutor(options.jobs) as pool:
        results = list(pool.map(lambda job: run(*job), plan))
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    Path(options.out).write_text(json.dumps(results, indent=1))
    print(f"| fault | cases | {' | '.join(options.profiles.split(','))} | shrunk example (ci) |")
    print(f"|---|---|{'---|' * len(options.profiles.split(','))}---|")
    for fault in faults:
        cells = []
        for profile in options.profiles.split(","):
            mine = [r for r in results if r["fault"] == fault and r["profile"] == profile]
            found = sum(r["found"] for r in mine)
            wall = statistics.median(r["wall_s"] for r in mine)
            cells.append(f"{found}/{len(mine)} found, {wall:.0f} s" if len(mine) > 1
                         else f"{'found' if found else 'MISSED'}, {wall:.0f} s")
        shrunk = next((r for r in results if r["fault"] == fault and r["profile"] == "ci" and r.get("example")),
                      next((r for r in results if r["fault"] == fault and r.get("example")), None))
        if shrunk is None:
            size = "-"
        elif FAULTS[fault].sequence:
            size = f"{shrunk['steps']} steps: {shrunk['example'][:120]}"
        else:
            size = (f"body {shrunk['largest_body']} B, URL {shrunk['longest_url']} chars: "
                    f"{shrunk['example'][:120]}")
        kind = "model" if FAULTS[fault].sequence else "properties"
        print(f"| {fault} | {kind} | {' | '.join(cells)} | {size.replace('|', '/')} |")
    missed = [r for r in results if not r["found"]]
    print(f"{len(results)} runs, {len(missed)} without the fault found; details in {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
