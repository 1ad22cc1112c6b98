"""The benchmark: four figures of the conformance suite, measured in one run on one machine, written to
reports/bench.json and printed as a table.

    python bench/run.py [--repeat N] [--quick] [--delayed-protocols vidicore|both] [--workers 8]

1. full run: `conformance run` (both protocols, deliveries included) against the embedded reference server; wall
   time of the whole command (interpreter start, collection, server start, every case, summary), median of N.
2. request rate of the CRUD cases (`conformance run vidicore -k CRUD_K`) against a reference server this script
   starts (a target file naming it), counted at the server, over the cases' time; compared with a plain
   `httpx.Client` loop sending exactly the requests the suite sent (method, raw path and query, headers with the
   same Authorization, body) to a fresh server of the same kind. Both clients run in their own process, the server
   in this one.
3. delivery wake-up: from a delivery's arrival at the receiver to its waiting case running again, as the
   receiver records it, over every full run of (1).
4. serial vs `-n WORKERS` (pytest-xdist) behind bench/proxy.py, which answers every request 50 ms later; a target
   file naming the proxy.

Also (the keep-alive question): the CRUD cases and the loop against the same reference apps served by a tiny
HTTP/1.1 server (bench/servers.py) with keep-alive off and on, beside werkzeug as shipped (always
`Connection: close`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REPORTS = ROOT / "reports"
WORK = REPORTS / "bench-runs"  # each run's cwd: results.json, output, probe data (kept as evidence)
sys.path.insert(0, str(BENCH))

from servers import Served  # noqa: E402  (bench/ is on sys.path now)

CRUD_K = "test_create or test_retrieve or test_list or test_delete"
TARGETS = {"full_run_s": 60.0, "crud_rate_ratio": 0.6, "wake_ms": 5.0, "xdist_speedup": 5.0, "broken_ratio": 1.5,
           "silent_s": 60.0}
ROWS = ("full", "crud", "delayed", "broken", "silent")
DELAY = 0.05


# --- running the suite ----------------------------------------------------------------------------------------


def conformance(name: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """`conformance run ARGS -- -p bench_probe` in a fresh folder; its wall time, exit code, output and data."""
    cwd = WORK / name
    shutil.rmtree(cwd, ignore_errors=True)
    cwd.mkdir(parents=True)
    probe = cwd / "probe.json"
    full_env = {**os.environ, **(env or {}), "BENCH_PROBE_OUT": str(probe),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH")]))}
    passthrough = args[args.index("--") + 1:] if "--" in args else []
    own = args[:args.index("--")] if "--" in args else args
    command = [sys.executable, "-m", "conformance.cli", "run", *own, "--results", str(cwd / "results.json"),
               "--", "-p", "bench_probe", *passthrough]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    (cwd / "output.txt").write_text(done.stdout + done.stderr)
    results = json.loads((cwd / "results.json").read_text()) if (cwd / "results.json").exists() else None
    data = json.loads(probe.read_text()) if probe.exists() else None
    out = done.stdout
    pytest_line = next((line for line in reversed(out.splitlines()) if re.search(r" in [\d.]+s", line)), "")
    wake = re.search(r"wake after arrival: median ([\d.]+) ms, worst ([\d.]+) ms", out)
    return {"name": name, "command": " ".join(["conformance", "run", *own, "--results", "...", "--", "-p",
                                               "bench_probe", *passthrough]),
            "wall_s": wall, "exit_code": done.returncode,
            "verdict": (data or {}).get("verdict") or _verdict_line(out), "pytest_line": pytest_line.strip("= "),
            "wake_line_ms": [float(wake.group(1)), float(wake.group(2))] if wake else None,
            "results": results, "probe": data, "output_tail": (done.stdout + done.stderr)[-3000:],
            "folder": str(cwd.relative_to(ROOT))}


def _verdict_line(out: str) -> str:
    return next((line for line in reversed(out.splitlines()) if line.startswith("VERDICT")), "no verdict line")


def _toml(data: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """TOML for nested tables of strings, numbers and booleans (the shape of the project's conftest.toml)."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = [f"[{'.'.join(path)}]"] if path and (scalars or not tables) else []
    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in scalars.items()]
    text = "\n".join(lines) + ("\n" if lines else "")
    return text + "".join(_toml(value, (*path, key)) for key, value in tables.items())


def write_target(path: Path, data: dict[str, Any], protocols: tuple[str, ...]) -> None:
    """A target file naming `protocols` of a reference server's `target_data()` (passwords stay in the
    environment, as in tests/test_plugin.py::_target_file). VidiCore gets a readable media file for its import
    jobs: without `[vidicore.jobs] readable_uri` the cases that need a FINISHED job are N-A against a target."""
    chosen = {protocol: dict(data[protocol]) for protocol in protocols}
    if "vidicore" in chosen:
        media = WORK / "media.bin"
        media.write_bytes(b"conformance benchmark media\n")
        chosen["vidicore"]["jobs"] = {"readable_uri": media.as_uri()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_toml(chosen))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- 1 and 3: the full run and the wake-up latencies ----------------------------------------------------------


def full_runs(repeat: int) -> dict[str, Any]:
    runs = []
    for i in range(repeat):
        runs.append(conformance(f"full-{i + 1}", []))
        print(f"   full run {i + 1}: {runs[-1]['wall_s']:.1f} s, {runs[-1]['verdict']}", flush=True)
    latencies = [lat for run in runs for process in (run["probe"] or {}).get("processes", [])
                 for lat in process["latencies"]]
    inbound = [sum(p["inbound"] for p in (run["probe"] or {}).get("processes", [])) for run in runs]
    return {
        "runs": [_summary(run) for run in runs],
        "wall_s": [run["wall_s"] for run in runs],
        "median_wall_s": median([run["wall_s"] for run in runs]),
        "all_conformant": all(run["exit_code"] == 0 for run in runs),
        "wake": {"samples": len(latencies), "median_ms": median(latencies) * 1000 if latencies else None,
                 "worst_ms": max(latencies) * 1000 if latencies else None,
                 "p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else None,
                 "inbound_per_run": inbound,
                 "terminal_lines_ms": [run["wake_line_ms"] for run in runs]},
    }


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    meta = (run["results"] or {}).get("meta", {})
    cases = (run["probe"] or {}).get("cases", [])
    timeline = {}
    if cases and meta.get("started"):  # where the time went: before the first case (start-up, collection,
        first = min(c["started"] for c in cases)  # workers) and from the first case's start to the last's end
        last = max(c["started"] + c["duration"] for c in cases)
        timeline = {"session_start_to_first_case_s": round(first - meta["started"], 2),
                    "first_case_to_last_end_s": round(last - first, 2),
                    "sum_case_durations_s": round(sum(c["duration"] for c in cases), 2)}
    return {"name": run["name"], "command": run["command"], "wall_s": round(run["wall_s"], 3),
            "exit_code": run["exit_code"], "verdict": run["verdict"], "pytest": run["pytest_line"],
            "requests": {p: t["requests"] for p, t in meta.get("targets", {}).items()},
            "cases": meta.get("cases"), "timeline": timeline, "folder": run["folder"]}


# --- 2: the CRUD cases' request rate, and the loop ------------------------------------------------------------


def _rates(seen: list, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The suite's requests, counted at the server, over two measures of the cases' time."""
    first = min(c["started"] for c in cases)
    last = max(c["started"] + c["duration"] for c in cases)
    inside_window = [s for s in seen if first <= s.started and s.ended <= last]
    spans = sorted((c["started"], c["started"] + c["duration"]) for c in cases)
    inside_cases = [s for s in seen if any(a <= s.started and s.ended <= b for a, b in spans)]
    summed = sum(c["duration"] for c in cases)
    return {
        "cases": len(cases), "requests_at_server": len(seen),
        "requests_by_suite_records": sum(c["requests"] for c in cases),
        "window_s": last - first, "requests_in_window": len(inside_window),
        "rate_window": len(inside_window) / (last - first),
        "sum_case_durations_s": summed, "requests_in_cases": len(inside_cases),
        "rate_case_durations": len(inside_cases) / summed,
        "connections": len({s.peer for s in inside_window}),
    }


def _as_json(seen: list) -> list[dict[str, Any]]:
    return [{"method": s.method, "target": s.target, "headers": s.headers, "body": s.body.decode("latin-1")}
            for s in seen]


def crud(kind: str, index: int) -> dict[str, Any]:
    """The CRUD cases against a fresh recorded server of `kind`, then their requests replayed by the plain loop
    against another fresh one (so the ids the replay names exist as they did for the suite)."""
    name = f"crud-{kind}-{index}"
    with Served(kind) as server:
        target = WORK / f"{name}.toml"
        write_target(target, server.target_data(), ("vidicore",))
        run = conformance(name, ["vidicore", "--target", str(target), "-k", CRUD_K], env=server.env)
        seen = server.recording.take()
    cases = [c for c in (run["probe"] or {}).get("cases", []) if c["outcome"] == "passed" or c["requests"]]
    if not cases:
        raise SystemExit(f"{name}: the suite ran no case ({run['verdict']}); see {run['folder']}/output.txt")
    suite = _rates(seen, cases)
    first = min(c["started"] for c in cases)
    last = max(c["started"] + c["duration"] for c in cases)
    replayed = [s for s in seen if first <= s.started and s.ended <= last]
    requests = WORK / name / "requests.json"
    requests.write_text(json.dumps(_as_json(replayed)))
    with Served(kind) as server:
        done = subprocess.run([sys.executable, str(BENCH / "loop.py"), str(requests), server.root],
                              capture_output=True, text=True, check=True)
        loop_seen = server.recording.take()
    loop = json.loads(done.stdout)
    print(f"   {name}: suite {suite['rate_window']:.0f} req/s over {suite['window_s']:.1f} s, loop "
          f"{loop['requests'] / loop['seconds']:.0f} req/s", flush=True)
    matching = sum(a.status == b for a, b in zip(replayed, loop["statuses"]))
    loop_server_window = (loop_seen[-1].ended - loop_seen[0].started) if loop_seen else float("nan")
    return {
        "kind": kind, "suite": {**suite, "results_json_requests": ((run["results"] or {}).get("meta", {})
                                                                  .get("targets", {}).get("vidicore", {})
                                                                  .get("requests")),
                                "exit_code": run["exit_code"], "verdict": run["verdict"],
                                "wall_s": run["wall_s"], "pytest": run["pytest_line"]},
        "loop": {"requests": loop["requests"], "seconds": loop["seconds"], "rate": loop["requests"] / loop["seconds"],
                 "server_window_s": loop_server_window, "rate_server_window": len(loop_seen) / loop_server_window,
                 "connections": len({s.peer for s in loop_seen}), "http_version": loop["http_version"],
                 "per_request": loop["per_request"],
                 "statuses_as_for_the_suite": f"{matching}/{len(replayed)}"},
        "methods": _count(s.method for s in replayed),
        "folder": run["folder"],
    }


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items()))


def crud_figures(repeat: int, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Each kind of server `repeat` times, interleaved (kind after kind, then again), so that a change in the
    machine's load between runs does not favour one kind."""
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for i in range(repeat):
        for kind in kinds:
            by_kind[kind].append(crud(kind, i + 1))
    out: dict[str, Any] = {}
    for kind, runs in by_kind.items():
        suite_window = median([r["suite"]["rate_window"] for r in runs])
        suite_cases = median([r["suite"]["rate_case_durations"] for r in runs])
        loop_rate = median([r["loop"]["rate"] for r in runs])
        out[kind] = {"runs": runs, "suite_rate_window": suite_window, "suite_rate_case_durations": suite_cases,
                     "loop_rate": loop_rate, "ratio_window": suite_window / loop_rate,
                     "ratio_case_durations": suite_cases / loop_rate,
                     "all_conformant": all(r["suite"]["exit_code"] == 0 for r in runs)}
    return out


# --- 4: serial vs -n behind a delaying proxy ------------------------------------------------------------------


@contextmanager
def delaying_proxy(upstream: str, delay: float):
    """bench/proxy.py in its own process in front of `upstream`; yields (its URL, a dict that gets "said": what
    it printed when stopped, "forwarded N request(s)")."""
    process = subprocess.Popen([sys.executable, str(BENCH / "proxy.py"), "--upstream", upstream, "--delay",
                                str(delay)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info: dict[str, str] = {}
    try:
        line = process.stdout.readline()
        match = re.match(r"proxy (http://\S+)", line)
        if not match:
            raise RuntimeError(f"the proxy did not start: {line!r} {process.stderr.read()}")
        yield match.group(1), info
    finally:
        process.send_signal(signal.SIGINT)  # KeyboardInterrupt: it prints how many requests it forwarded
        try:
            _, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        info["said"] = err.strip()


def delayed(protocols: tuple[str, ...], workers: int, repeat: int) -> dict[str, Any]:
    """Serial and -n WORKERS, `repeat` times each, interleaved; a fresh server and proxy for every run."""
    out: dict[str, Any] = {"protocols": list(protocols), "delay_ms": DELAY * 1000, "workers": workers}
    modes = (("serial", []), (f"n{workers}", ["--", "-n", str(workers)]))
    by_mode: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in modes}
    for i in range(repeat):
        for label, extra in modes:
            with Served("werkzeug") as server, delaying_proxy(server.root, DELAY) as (proxy, said):
                data = server.target_data()
                for protocol in protocols:
                    data[protocol]["base_url"] = data[protocol]["base_url"].replace(server.root, proxy, 1)
                target = WORK / f"delayed-{label}-{i + 1}.toml"
                write_target(target, data, protocols)
                run = conformance(f"delayed-{label}-{i + 1}", [*protocols, "--target", str(target), *extra],
                                  env=server.env)
                at_server = len(server.recording.take())
            summary = _summary(run)
            summary["requests_at_server"] = at_server
            summary["proxy"] = said.get("said", "")
            if label == "serial":
                summary["exclusive_bound"] = _exclusive_bound(run["probe"], workers)
            if run["exit_code"] != 0:
                summary["output_tail"] = run["output_tail"]
            by_mode[label].append(summary)
            print(f"   {label}: {run['wall_s']:.1f} s, {run['verdict']}", flush=True)
    for label, runs in by_mode.items():
        out[label] = {"runs": runs, "median_wall_s": median([r["wall_s"] for r in runs]),
                      "all_conformant": all(r["exit_code"] == 0 for r in runs)}
    out["speedup"] = out["serial"]["median_wall_s"] / out[f"n{workers}"]["median_wall_s"]
    out["bound"] = by_mode["serial"][0].get("exclusive_bound")
    return out


def _exclusive_bound(probe: dict[str, Any] | None, workers: int) -> dict[str, Any] | None:
    """Amdahl's bound on the speed-up of a serial run's cases with `workers`: the exclusive cases run alone
    (under xdist against a target they hold the server lock alone), every other case in parallel at best."""
    cases = (probe or {}).get("cases", [])
    if not cases:
        return None
    alone = sum(c["duration"] for c in cases if c["exclusive"])
    rest = sum(c["duration"] for c in cases if not c["exclusive"])
    return {"exclusive_cases": sum(1 for c in cases if c["exclusive"]), "exclusive_s": round(alone, 2),
            "other_cases_s": round(rest, 2), "workers": workers,
            "best_speedup_of_the_cases": round((alone + rest) / (alone + rest / workers), 2)}


# --- 5: a broken server costs at most 1.5x a clean run ---------------------------------------------------------


def fault_names(chosen: str | None, sample: int | None) -> list[str]:
    """The reference's faults to run: `chosen` (comma-separated names), else every `sample`-th of the registry
    (both protocols, deterministic), else all of them."""
    from conformance.reference.faults import FAULTS

    if chosen:
        names = [name.strip() for name in chosen.split(",") if name.strip()]
        unknown = [name for name in names if name not in FAULTS]
        if unknown:
            raise SystemExit(f"bench: unknown fault(s): {', '.join(unknown)} (see `conformance faults`)")
        return names
    names = list(FAULTS)
    return names[::max(1, len(names) // sample)] if sample else names


def _flagged(results: dict[str, Any] | None) -> list[str]:
    return [r["id"] for r in (results or {}).get("requirements", []) if r.get("status") in ("FAIL", "WARN")]


def _stopped(run: dict[str, Any], clean: dict[str, Any]) -> dict[str, Any]:
    """The cases a fault made fail or block (pytest's outcome not passed), their time in the fault's run and in
    the clean run: the time the defect cost where it showed, much less noisy than two whole runs' wall times."""
    before = {c["case"]: c["duration"] for c in (clean["probe"] or {}).get("cases", [])}
    mine = [c for c in (run["probe"] or {}).get("cases", []) if c["outcome"] != "passed" and c["case"] in before]
    return {"cases": len(mine), "fault_s": round(sum(c["duration"] for c in mine), 2),
            "clean_s": round(sum(before[c["case"]] for c in mine), 2),
            "each": [[c["case"].rsplit("/", 1)[-1], round(c["duration"], 2), round(before[c["case"]], 2)]
                     for c in sorted(mine, key=lambda c: -c["duration"])[:5]]}


def _slowest_cases(run: dict[str, Any], keep: int = 3) -> list[list[Any]]:
    cases = sorted((run["probe"] or {}).get("cases", []), key=lambda c: -c["duration"])
    return [[c["case"].rsplit("/", 1)[-1], round(c["duration"], 1), c["outcome"]] for c in cases[:keep]]


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def broken_servers(names: list[str], repeat: int, clean_every: int) -> dict[str, Any]:
    """The whole suite (both protocols, serial, the default profile, no HTML) against the clean embedded server
    and against each named fault once. The machine's load moves a lot (2 shared cores): a clean run comes before
    the faults and again after every `clean_every` of them (at least `repeat` in all), and each fault's ratio is to
    the mean of the clean runs just before and just after it. Each run's CPU seconds (the suite's processes) are
    kept too: a defect that stretches a wait adds wall time, not CPU time."""
    from conformance.reference.faults import FAULTS

    args = ["--html", ""]
    clean: list[dict[str, Any]] = []

    def clean_run() -> None:
        cpu = _cpu_children()
        run = conformance(f"clean-{len(clean) + 1}", args)
        run["cpu_s"] = _cpu_children() - cpu
        run["after_faults"] = len(faults)
        clean.append(run)
        print(f"   clean {len(clean)}: {run['wall_s']:.1f} s (cpu {run['cpu_s']:.1f} s), {run['verdict']} (load "
              f"{os.getloadavg()[0]:.1f})", flush=True)

    faults: list[dict[str, Any]] = []
    clean_run()
    for index, name in enumerate(names):
        cpu = _cpu_children()
        run = conformance(f"fault-{name}", ["--fault", name, *args])
        flagged, expected = _flagged(run["results"]), list(FAULTS[name].requirements)
        faults.append({"fault": name, "protocol": FAULTS[name].protocol, "wall_s": round(run["wall_s"], 2),
                       "cpu_s": round(_cpu_children() - cpu, 2), "clean_before": len(clean) - 1,
                       "exit_code": run["exit_code"], "verdict": run["verdict"], "expected": expected,
                       "flagged": flagged, "caught": all(requirement in flagged for requirement in expected),
                       "blocked": [r["id"] for r in (run["results"] or {}).get("requirements", [])
                                   if r.get("status") == "BLOCKED"],
                       "slowest_cases": _slowest_cases(run), "load_1min": round(os.getloadavg()[0], 2),
                       "stopped_cases": _stopped(run, clean[-1]), "folder": run["folder"]})
        stopped = faults[-1]["stopped_cases"]
        print(f"   {name}: {run['wall_s']:.1f} s (cpu {faults[-1]['cpu_s']:.1f} s; its {stopped['cases']} failed or "
              f"blocked cases {stopped['fault_s']:.1f} s, clean {stopped['clean_s']:.1f} s), flagged "
              f"{', '.join(flagged) or 'none'}{'' if faults[-1]['caught'] else ' (NOT its requirement)'}; load "
              f"{faults[-1]['load_1min']:.1f}", flush=True)
        if (index + 1) % clean_every == 0 or index + 1 == len(names):
            clean_run()
    while len(clean) < repeat:
        clean_run()
    for fault in faults:
        around = [clean[fault["clean_before"]]["wall_s"]] + ([clean[fault["clean_before"] + 1]["wall_s"]]
                                                             if fault["clean_before"] + 1 < len(clean) else [])
        fault["clean_s"] = round(statistics.mean(around), 2)
        fault["ratio"] = round(fault["wall_s"] / fault["clean_s"], 2)
    ratios = [fault["ratio"] for fault in faults]
    slowest = sorted(faults, key=lambda fault: -fault["ratio"])[:5]
    return {"command": "conformance run --fault NAME --html ''",
            "clean": [{**_summary(run), "cpu_s": round(run["cpu_s"], 2)} for run in clean],
            "clean_median_s": median([run["wall_s"] for run in clean]), "faults": faults,
            "median_ratio": median(ratios) if ratios else None,
            "worst_ratio": max(ratios) if ratios else None, "slowest": [f["fault"] for f in slowest],
            "all_caught": all(fault["caught"] for fault in faults), "sampled": len(names)}


# --- 6: a silent server in a minute -------------------------------------------------------------------------------


@contextmanager
def never_delivering():
    """The reference server this process starts never delivers: every attempt of its dispatcher ends as a refused
    connection would, without a request leaving it (a bench-only patch: the suite has no such fault, and a target's
    public_url cannot point elsewhere under -n, where each worker has its own receiver)."""
    from conformance.reference import dispatch

    original = dispatch.Dispatcher._attempt

    def refused(self: Any, outbound: Any) -> Any:
        return dispatch.Outcome(None, f"no answer from {outbound.url}: ConnectionRefusedError: [Errno 111] "
                                      "Connection refused (bench: a server that never delivers)")

    dispatch.Dispatcher._attempt = refused  # type: ignore[method-assign]
    try:
        yield
    finally:
        dispatch.Dispatcher._attempt = original  # type: ignore[method-assign]


def silent(protocols: tuple[str, ...], modes: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """Both protocols' servers never deliver (a reference server this script starts, named by a target file, whose
    every delivery attempt fails: `never_delivering`), serially and under -n: the verdict, the wall time, and each
    protocol's time from its first case's start to its last case's end (what the run spends on a protocol whose
    deliveries never arrive)."""
    out: dict[str, Any] = {"protocols": list(protocols), "modes": {}}
    for label, extra in modes:
        with never_delivering(), Served("werkzeug") as server:
            target = WORK / f"silent-{label}.toml"
            write_target(target, server.target_data(), protocols)
            run = conformance(f"silent-{label}", [*protocols, "--target", str(target), "--html", "", *extra],
                              env=server.env)
        cases = (run["probe"] or {}).get("cases", [])
        started = (run["results"] or {}).get("meta", {}).get("started")
        per = {}
        for protocol in protocols:
            mine = [c for c in cases if c["protocol"] == protocol]
            if mine:
                first = min(c["started"] for c in mine)
                per[protocol] = {"first_case_to_last_end_s": round(max(c["started"] + c["duration"] for c in mine)
                                                                   - first, 1),
                                 "run_start_to_last_end_s": round(max(c["started"] + c["duration"] for c in mine)
                                                                  - started, 1) if started else None,
                                 "cases": len(mine), "slowest_cases": _slowest_cases({"probe": {"cases": mine}})}
        out["modes"][label] = {"wall_s": round(run["wall_s"], 1), "exit_code": run["exit_code"],
                               "verdict": run["verdict"], "per_protocol": per, "folder": run["folder"],
                               "load_1min": round(os.getloadavg()[0], 2)}
        print(f"   {label}: {run['wall_s']:.1f} s, {run['verdict'][:100]}; "
              + ", ".join(f"{p} {v['first_case_to_last_end_s']:.0f} s" for p, v in per.items())
              + f" (load {os.getloadavg()[0]:.1f})", flush=True)
    return out


# --- machine, load, table --------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    from importlib.metadata import version

    return {"cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)), "cpu": model,
            "platform": platform.platform(), "python": platform.python_version(),
            "commit": git("rev-parse", "HEAD"), "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--", "conformance", "bench")),
            "packages": {name: version(name) for name in ("pytest", "pytest-xdist", "httpx", "werkzeug",
                                                          "pytest-httpserver")},
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def _busy_cpu_s() -> float:
    """CPU seconds every core of the machine spent busy since boot (/proc/stat; idle and iowait excluded)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds of this process and of every child it waited for (the suite's runs, their xdist workers,
    the loop, the proxy)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def metered(into: dict[str, Any], name: str):
    """How many cores other work on the machine kept busy, on average, while the block ran: the machine's busy
    CPU time minus this benchmark's own, over the wall time. Other work shows in every figure here."""
    wall, busy, own = time.monotonic(), _busy_cpu_s(), _own_cpu_s()
    try:
        yield
    finally:
        seconds = time.monotonic() - wall
        into[name] = {"wall_s": round(seconds, 1), "own_cores": round((_own_cpu_s() - own) / seconds, 2),
                      "other_cores": round(max(0.0, (_busy_cpu_s() - busy) - (_own_cpu_s() - own)) / seconds, 2),
                      "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def wait_for_quiet(quiet_cores: float, wait: float) -> dict[str, Any]:
    """Wait (at most `wait` seconds) until other work keeps at most `quiet_cores` cores busy over 10 s."""
    started = time.monotonic()
    while True:
        seen: dict[str, Any] = {}
        with metered(seen, "sample"):
            time.sleep(10 if wait else 2)
        other = seen["sample"]["other_cores"]
        if other <= quiet_cores or time.monotonic() - started >= wait:
            return {"quiet_cores": quiet_cores, "waited_s": round(time.monotonic() - started, 1),
                    "other_cores_then": other, "quiet": other <= quiet_cores}
        print(f"bench: other work keeps {other:.1f} cores busy; waiting ...", flush=True)


def table(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    if "full_run" in report:
        rows += _classic_rows(report)
    if "broken" in report:
        rows += _broken_rows(report["broken"])
    if "silent" in report:
        for label, mode in report["silent"]["modes"].items():
            for protocol, figures in mode["per_protocol"].items():
                took = figures["first_case_to_last_end_s"]
                rows.append((f"silent {protocol} server, {label}: its first case to its last",
                             f"{took:.0f} s ({'ENVIRONMENT ERROR' if mode['exit_code'] == 2 else mode['verdict'][:30]})",
                             "<= 60 s", _met(took <= TARGETS["silent_s"] and mode["exit_code"] == 2)))
    return rows


def _broken_rows(b: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = [(f"broken servers ({b['sampled']} faults, serial, both protocols): clean run",
             f"{b['clean_median_s']:.1f} s",
             "", "")]
    if b["faults"]:
        by_name = {f["fault"]: f for f in b["faults"]}
        worst = by_name[b["slowest"][0]]
        rows.append(("  worst ratio to the clean run", f"{b['worst_ratio']:.2f}x ({worst['fault']}, "
                     f"{worst['wall_s']:.0f} s)", "<= 1.5x", _met(b["worst_ratio"] <= TARGETS["broken_ratio"])))
        rows.append(("  median ratio", f"{b['median_ratio']:.2f}x", "", ""))
        rows.append(("  five slowest", ", ".join(f"{name} {by_name[name]['ratio']:.2f}x" for name in b["slowest"]),
                     "(info)", ""))
        stopped = [f for f in b["faults"] if "stopped_cases" in f]
        if stopped:
            worst_cost = max(stopped, key=lambda f: f["stopped_cases"]["fault_s"] - f["stopped_cases"]["clean_s"])
            cost = worst_cost["stopped_cases"]
            rows.append(("  most time a defect added in its failed/blocked cases",
                         f"+{cost['fault_s'] - cost['clean_s']:.1f} s ({worst_cost['fault']}: {cost['cases']} cases, "
                         f"{cost['fault_s']:.1f} s vs {cost['clean_s']:.1f} s clean)", "(info)", ""))
        rows.append(("  each fault flagged its requirement", f"{sum(f['caught'] for f in b['faults'])}/"
                     f"{len(b['faults'])}", "all", _met(b["all_caught"])))
    return rows


def _classic_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    full = report["full_run"]
    rows.append(("full run, both protocols (median wall)", f"{full['median_wall_s']:.1f} s", "<= 60 s",
                 _met(full["median_wall_s"] <= TARGETS["full_run_s"] and full["all_conformant"])))
    werk = report["crud"]["werkzeug"]
    rows.append(("CRUD req/s, suite / httpx loop (first case start to last end)", f"{werk['ratio_window']:.2f} "
                 f"({werk['suite_rate_window']:.0f} / {werk['loop_rate']:.0f} req/s)", ">= 0.6",
                 _met(werk["ratio_window"] >= TARGETS["crud_rate_ratio"] and werk["all_conformant"])))
    rows.append(("  same, suite over the sum of its case durations", f"{werk['ratio_case_durations']:.2f} "
                 f"({werk['suite_rate_case_durations']:.0f} / {werk['loop_rate']:.0f} req/s)", ">= 0.6",
                 _met(werk["ratio_case_durations"] >= TARGETS["crud_rate_ratio"])))
    wake = full["wake"]
    if wake["samples"]:
        rows.append(("delivery wake-up, median", f"{wake['median_ms']:.2f} ms", "<= 5 ms",
                     _met(wake["median_ms"] <= TARGETS["wake_ms"])))
        rows.append(("delivery wake-up, worst", f"{wake['worst_ms']:.2f} ms", "<= 5 ms",
                     _met(wake["worst_ms"] <= TARGETS["wake_ms"])))
    else:
        rows.append(("delivery wake-up", "no sample", "<= 5 ms", "no"))
    d = report["delayed"]
    parallel = d[f"n{d['workers']}"]
    rows.append((f"{'+'.join(d['protocols'])} behind 50 ms: serial", f"{d['serial']['median_wall_s']:.1f} s", "",
                 _verdicts(d["serial"])))
    rows.append((f"{'+'.join(d['protocols'])} behind 50 ms: -n {d['workers']}", f"{parallel['median_wall_s']:.1f} s",
                 "", _verdicts(parallel)))
    rows.append(("  speed-up", f"{d['speedup']:.1f}x", ">= 5x",
                 _met(d["speedup"] >= TARGETS["xdist_speedup"] and d["serial"]["all_conformant"]
                      and parallel["all_conformant"])))
    if d.get("bound"):
        rows.append(("  bound: exclusive cases alone (Amdahl)", f"{d['bound']['best_speedup_of_the_cases']:.1f}x "
                     f"({d['bound']['exclusive_cases']} cases, {d['bound']['exclusive_s']:.0f} s of "
                     f"{d['bound']['exclusive_s'] + d['bound']['other_cases_s']:.0f} s)", "(info)", ""))
    for kind, figures in report["crud"].items():
        if kind == "werkzeug":
            continue
        rows.append((f"CRUD on {kind}: suite / loop", f"{figures['ratio_window']:.2f} ({figures['suite_rate_window']:.0f} / "
                     f"{figures['loop_rate']:.0f} req/s)", "(info)", ""))
    return rows


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def _verdicts(figures: dict[str, Any]) -> str:
    codes = sorted({r["exit_code"] for r in figures["runs"]})
    return "conformant" if codes == [0] else f"exit {codes}"


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in [("figure", "measured", "target", "met?"), *rows]) for i in range(4)]
    for row in [("figure", "measured", "target", "met?"), tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each figure; medians (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="one run of each figure, no tiny-close variant, VidiCore only behind the proxy")
    parser.add_argument("--delayed-protocols", choices=["vidicore", "both"], default="both")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--output", default=str(REPORTS / "bench.json"))
    parser.add_argument("--quiet-cores", type=float, default=0.3,
                        help="before starting, wait until other processes keep at most this many cores busy "
                             "(default 0.3)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait at most this long for --quiet-cores (default 0: start at once, only record it)")
    parser.add_argument("--rows", default=",".join(ROWS),
                        help=f"which figures to measure, comma-separated, of {', '.join(ROWS)} (default: all)")
    parser.add_argument("--faults", metavar="A,B,C", help="broken: only these reference faults (default: all)")
    parser.add_argument("--fault-sample", type=int, metavar="N",
                        help="broken: about N faults, every k-th of the registry (default: all of them)")
    parser.add_argument("--clean-every", type=int, default=3, metavar="K",
                        help="broken: a clean run again after every K faults (the load moves; default 3)")
    args = parser.parse_args(argv)
    rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    if set(rows) - set(ROWS):
        parser.error(f"--rows: unknown {', '.join(sorted(set(rows) - set(ROWS)))} (known: {', '.join(ROWS)})")
    repeat = 1 if args.quick else max(1, args.repeat)
    kinds = ("werkzeug", "tiny-keepalive") if args.quick else Served.KINDS
    protocols = ("vidicore",) if args.quick or args.delayed_protocols == "vidicore" else ("vidicore", "spectra")
    REPORTS.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine(), "options": {"repeat": repeat, "quick": args.quick,
                                                                 "delayed_protocols": list(protocols),
                                                                 "workers": args.workers, "crud_k": CRUD_K}}
    report["quiet"] = wait_for_quiet(args.quiet_cores, args.wait)
    report["other_work"] = {}
    print(f"bench: {report['machine']['cores']} cores, Python {report['machine']['python']}, "
          f"commit {report['machine']['commit'][:12]}, {repeat} run(s) of each figure", flush=True)
    if "full" in rows:
        print("1+3. full runs ...", flush=True)
        with metered(report["other_work"], "full_run"):
            report["full_run"] = full_runs(repeat)
    if "crud" in rows:
        print(f"2. CRUD cases and the loop on {', '.join(kinds)} ...", flush=True)
        with metered(report["other_work"], "crud"):
            report["crud"] = crud_figures(repeat, kinds)
    if "delayed" in rows:
        print(f"4. {'+'.join(protocols)} behind a {DELAY * 1000:.0f} ms proxy, serial and -n {args.workers} ...",
              flush=True)
        with metered(report["other_work"], "delayed"):
            report["delayed"] = delayed(protocols, args.workers, repeat)
    if "broken" in rows:
        names = fault_names(args.faults, args.fault_sample)
        print(f"5. the whole suite against {len(names)} broken server(s), serial ...", flush=True)
        with metered(report["other_work"], "broken"):
            report["broken"] = broken_servers(names, repeat, args.clean_every)
    if "silent" in rows:
        print("6. servers that never deliver, serial and -n 2 ...", flush=True)
        with metered(report["other_work"], "silent"):
            report["silent"] = silent(("vidicore", "spectra"), [("serial", []), ("n2", ["-n", "2"])])
    report["seconds"] = time.perf_counter() - started
    lines = table(report)
    report["table"] = [dict(zip(("figure", "measured", "target", "met"), row)) for row in lines]
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print()
    print_table(lines)
    print("\nother work on the machine while measuring (cores busy on average, beside the benchmark's own): "
          + ", ".join(f"{name} {m['other_cores']:.2f}" for name, m in report["other_work"].items()))
    busy = [name for name, m in report["other_work"].items() if m["other_cores"] > args.quiet_cores]
    if busy:
        print(f"WARNING: other processes used the machine's cores during {', '.join(busy)}: those figures are "
              f"slower than on a quiet machine")
    print(f"\nwritten to {os.path.relpath(args.output)}; the script took {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
