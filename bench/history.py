"""The history benchmark: `conformance history` over 30 and 200 results files of full runs, median of N.

    python bench/history.py [--from RESULTS.json] [--runs 200] [--repeat 3]

It takes a full run's results file (--from; default: `conformance run --html ''` against the embedded reference
server, run once into reports/bench-history/base.json) and writes --runs results files made from it under
reports/bench-history/files/: a run a night apart, a few requirements' statuses changed in each (seeded: a
regression that stays, one that is fixed, a requirement that flips now and then), the verdict made again from
those, the time per area jittered, a new suite version halfway; the events, cases and digests of the full run as
they are, so each file is as large as a full run's (~4 MB). Then it times `conformance history DIR -o PAGE` over
the first 30 files and over all of them (the whole command, interpreter start included), --repeat times each, and
prints the median, min and max, the page's size and the machine's load; reports/bench-history.json keeps them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conformance.results import Verdict
from conformance.status import STATUS_ORDER, Status, VerdictKind

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "reports" / "bench-history"
TARGET_S = 3.0
NIGHT = 86_400.0


def base_file(given: str | None) -> Path:
    if given:
        return Path(given)
    base = WORK / "base.json"
    if not base.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        print("a full run for the base file (conformance run --html '') ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "conformance", "run", "--html", "", "--results", str(base)], cwd=WORK,
                       check=False, capture_output=True)
    return base


def variants(base: Path, folder: Path, runs: int, seed: int = 25) -> None:
    """`runs` results files made from `base` (see the module's description), run-001.json ... in `folder`."""
    text = base.read_text(encoding="utf-8")
    document = json.loads(text)
    tail = text.index('\n  "events": ')
    head = {part: document[part] for part in ("format", "meta", "verdict", "requirements", "timing")}
    ids = [entry["id"] for entry in head["requirements"]]
    randomness = random.Random(seed)
    stays, fixed, flaky = randomness.sample(ids, 3)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = float(head["meta"]["started"]) - runs * NIGHT
    wall = float(head["meta"]["finished"]) - float(head["meta"]["started"])
    for number in range(1, runs + 1):
        failing = {stays} if number > runs * 0.8 else set()
        failing |= {fixed} if runs * 0.3 < number <= runs * 0.5 else set()
        failing |= {flaky} if randomness.random() < 0.15 else set()
        failing |= set(randomness.sample(ids, 1)) if randomness.random() < 0.05 else set()
        requirements = [{**entry, "status": (Status.FAIL if entry["level"] == "MUST" else Status.WARN).value}
                        if entry["id"] in failing else entry for entry in head["requirements"]]
        counts = {status: sum(entry["status"] == status for entry in requirements) for status in STATUS_ORDER}
        failed = [entry["id"] for entry in requirements if entry["status"] == Status.FAIL]
        verdict = Verdict(VerdictKind.NOT_CONFORMANT, f"{len(failed)} MUST requirement(s) failed: {', '.join(failed)}",
                          counts) if failed else Verdict(VerdictKind.CONFORMANT, "every MUST checked passed", counts)
        jitter = randomness.uniform(0.85, 1.25)
        timing = {"areas": {protocol: {area: {**spent, "seconds": round(spent["seconds"] * jitter, 6)}
                                       for area, spent in by_area.items()}
                            for protocol, by_area in head["timing"]["areas"].items()},
                  "latency": {protocol: {**found, "median": round(found["median"] * jitter, 6),
                                         "p95": round(found["p95"] * randomness.uniform(0.9, 1.6), 6)}
                              for protocol, found in head["timing"]["latency"].items()}}
        begin = started + number * NIGHT
        meta = {**head["meta"], "started": begin, "finished": begin + wall * jitter,
                "suite_version": "0.1.0" if number <= runs // 2 else "0.2.0"}
        made = json.dumps({**head, "meta": meta, "verdict": verdict.as_dict(), "requirements": requirements,
                           "timing": timing}, indent=2, ensure_ascii=False)
        (folder / f"run-{number:03d}.json").write_text(made[:-2] + "," + text[tail:], encoding="utf-8")


def timed(folder: Path, page: Path, repeat: int) -> list[float]:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "conformance", "history", str(folder), "-o", str(page)],
                              capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"conformance history failed: {done.stderr}")
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="base", metavar="RESULTS.json", help="a full run's results file")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = base_file(args.base)
    files = WORK / "files"
    variants(base, files, args.runs)
    few = WORK / "files-30"
    shutil.rmtree(few, ignore_errors=True)
    few.mkdir()
    for path in sorted(files.iterdir())[:30]:
        os.link(path, few / path.name)
    figures: dict[str, Any] = {"machine": f"{platform.node()} {os.cpu_count()} cores", "load": os.getloadavg(),
                               "base": str(base), "file_bytes": base.stat().st_size}
    print(f"results files of a full run: {base.stat().st_size / 1e6:.1f} MB each; load {os.getloadavg()[0]:.1f}")
    print("| files | history build, median of {0} (min–max) | page |".format(args.repeat))
    print("|---|---|---|")
    for name, folder in (("30", few), (str(args.runs), files)):
        page = WORK / f"history-{name}.html"
        walls = timed(folder, page, args.repeat)
        figures[name] = {"walls": walls, "median": statistics.median(walls), "page_bytes": page.stat().st_size}
        print(f"| {name} | {statistics.median(walls):.2f} s ({min(walls):.2f}–{max(walls):.2f}) | "
              f"{page.stat().st_size / 1e3:.0f} KB |")
    verdict = "met" if figures[str(args.runs)]["median"] < TARGET_S else "NOT met"
    print(f"target: {args.runs} files in under {TARGET_S:.0f} s: {verdict}")
    (WORK / "bench-history.json").write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
