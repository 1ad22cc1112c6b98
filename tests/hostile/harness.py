"""Running the suite as a user would (a subprocess of `python -m conformance.cli run`) against a target file that
names the hostile proxy, and collecting what the run left: exit code, time, output, reports, peak RSS."""

from __future__ import annotations

import base64
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

CHILD = Path(__file__).with_name("child.py")
TIMEOUT = 2  # seconds per request, in the target file
DATA_LIMIT = 384 << 20
"""RLIMIT_DATA of the child (384 MiB, over RSS_BOUND_MB): a backstop, like the time one, so that a suite that does not bound its memory
fails its test (MemoryError, or a peak over the bound) instead of taking the test machine's memory."""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (DATA_LIMIT, DATA_LIMIT))


@dataclass
class Run:
    code: int | None  # None: killed (see `killed`)
    seconds: float
    stdout: str
    stderr: str
    results: dict | None
    rss_kb: int | None
    directory: Path
    killed: str | None = None  # why the harness killed it (None: it ended by itself)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def verdict(self) -> str:
        if self.results is not None:
            return self.results["verdict"]["line"]
        lines = [line for line in self.stdout.splitlines() if line.startswith("VERDICT")]
        return lines[-1] if lines else "(no verdict line)"

    def files(self) -> dict[Path, bytes]:
        """Every file the run wrote (results, JUnit, Allure, anything else in its directory)."""
        return {path: path.read_bytes() for path in self.directory.rglob("*") if path.is_file()}


def secrets(server, authorizations: Iterable[str] = ()) -> list[str]:
    """Every credential value of the reference server's users, the Basic header values made of them, and the
    credential part of every Authorization header sent (a Basic token, an S3 signature: the suite itself redacts
    them in headers and curl lines)."""
    values = [v for v in server.env.values() if v]
    for user in server.target_data().get("vidicore", {}).get("users", {}).values():
        password = server.env[user["password_env"]]
        values.append(base64.b64encode(f"{user['username']}:{password}".encode()).decode())
    for header in authorizations:
        scheme, _, credential = header.partition(" ")
        values.append(credential.rpartition(":")[2] if scheme.upper() == "AWS" else credential)
    return sorted({v for v in values if len(v) >= 8})


def write_target(directory: Path, protocol: str, base_url: str, server, media: Path) -> Path:
    """target.toml for `protocol` at `base_url` (the proxy), the reference server's users, timeout 2 s."""
    data = server.target_data()[protocol]
    lines = ["[delivery]", "deadline = 8", "quiet_window = 1", "", f"[{protocol}]", f'base_url = "{base_url}"',
             f"timeout = {TIMEOUT}"]
    for role, user in data["users"].items():
        lines += [f"[{protocol}.users.{role}]"] + [f"{k} = {json.dumps(v)}" for k, v in user.items()]
    if protocol == "vidicore":
        lines += ["[vidicore.entities]"] + [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in data["entities"].items()]
        lines += ["[vidicore.jobs]", f'readable_uri = "{media.as_uri()}"']
    path = directory / "target.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(directory: Path, protocol: str, keyword: str, env: dict[str, str], backstop: float,
            watchdog: Callable[[], str | None] = lambda: None) -> Run:
    """`python -m conformance.cli run PROTOCOL --target target.toml -k KEYWORD` with results, JUnit and Allure
    written into `directory` (the working directory); killed (with its process group) after `backstop` s, or as
    soon as `watchdog` (asked ten times a second) names a reason."""
    rss = directory.parent / f"{directory.name}.rss"
    argv = [sys.executable, str(CHILD), str(rss), "run", protocol, "--target", "target.toml", "-k", keyword,
            "--results", str(directory / "results.json"), "--junitxml", str(directory / "junit.xml"),
            "--alluredir", str(directory / "allure")]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CONFORMANCE_"))}
    child_env.update(env)
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=directory, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True, preexec_fn=_limit_memory)
    killed, output = None, {}
    readers = [threading.Thread(target=lambda name=name, stream=stream: output.__setitem__(name, stream.read()),
                                daemon=True) for name, stream in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    while process.poll() is None:
        reason = watchdog()
        if reason is None and time.monotonic() - started > backstop:
            reason = f"killed by the backstop after {backstop:g} s"
        if reason is not None:
            killed = reason
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            break
        time.sleep(0.1)
    seconds = time.monotonic() - started
    for reader in readers:
        reader.join(10)
    stdout, stderr = output.get("out", ""), output.get("err", "")
    code = None if killed else process.returncode
    results_file = directory / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else None
    rss_kb = int(rss.read_text()) if rss.exists() and rss.read_text().strip() else None
    return Run(code, seconds, stdout, stderr, results, rss_kb, directory, killed)
