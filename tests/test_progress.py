"""Tests for conformance.progress: a live line on a terminal (the CLI on a pseudo-terminal), one plain line per
protocol done everywhere else (CI logs), serially and under pytest-xdist."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from test_cli import conformance

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but tab and newline


def on_a_terminal(*args: str, cwd, timeout: float = 120) -> tuple[int, str]:
    """`python -m conformance ARGS` with a pseudo-terminal as stdin, stdout and stderr; its exit code and all it
    wrote."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env.update(COLUMNS="200", TERM="xterm")
    process = subprocess.Popen([sys.executable, "-m", "conformance", *args], cwd=cwd, env=env, stdin=terminal,
                               stdout=terminal, stderr=terminal, close_fds=True)
    os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process ended and closed the terminal
                break
            if not chunk:
                break
            output += chunk
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    return code, output.decode("utf-8", "replace")


def test_on_a_terminal_a_live_line_shows_cases_done_time_and_requirement(tmp_path):
    code, output = on_a_terminal("run", "vidicore", "-k", "VC-LIST-TEXT or VC-CREATE-TEXT", "--fault", "list-text-lf",
                                 cwd=tmp_path)
    assert code == 1, output[-3000:]
    drawn = [part for part in output.split("\r") if part.startswith("[")]
    assert drawn, output[:2000]
    shown = re.compile(r"\[\s*(\d+)/40\]  \d+\.\d s(  (\d+) failed)?  vidicore (VC-[A-Z-]+)  test_\w+\[[\w-]+\]\x1b\[K")
    matches = [shown.fullmatch(part) for part in drawn]  # nothing after a drawn line: no letters of pytest
    assert all(matches), [part for part, match in zip(drawn, matches) if not match][:3]
    assert {match.group(4) for match in matches} >= {"VC-CREATE-STATUS", "VC-CREATE-TEXT", "VC-LIST-TEXT"}
    assert int(matches[-1].group(1)) == 40 and int(matches[-1].group(3)) == 20
    summary = re.sub(r"\x1b\[[\d;]*m", "", output[output.rindex("\r\x1b[K"):])  # erased, then the summary
    assert "FAILED cases/test_negotiation.py::test_list_text_crlf[item]" in summary
    assert "VERDICT: NOT CONFORMANT" in summary
    assert not re.search(r"(?m)^[.FsE]+\s*(\[\s*\d+/\d+\])?\s*$", output), "pytest's own letters were written"


def test_not_on_a_terminal_one_plain_line_per_protocol_done(tmp_path):
    done = conformance("run", "-k", "test_list_text_crlf[item] or test_get_one or SP-NOT-FOUND", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert not CONTROL.search(done.stdout + done.stderr)
    finished = re.findall(r"(?m)^(\w+): (\d+) cases done in \d+\.\d s$", done.stdout)
    assert finished == [("vidicore", "1"), ("spectra", "3")]


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_each_protocol_is_reported_once_all_its_cases_are_done(run_suite, workers):
    result, data = run_suite("--conformance-progress", "lines", "-k", "VC-LIST-TEXT or SP-NOT-FOUND", *workers,
                             protocol="conformance")
    assert result.ret == 0
    finished = [line for line in result.stdout.lines if " cases done in " in line]
    assert sorted(line.split(" cases done")[0] for line in finished) == ["spectra: 2", "vidicore: 20"]
    assert len(data["digests"]) == 22


def test_a_run_that_ends_early_says_how_far_each_protocol_got(run_suite):
    result, _ = run_suite("--conformance-progress", "lines", "-x", "-k", "VC-LIST-TEXT", "--reference-fault",
                          "list-text-lf")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["vidicore: 1 of 20 cases done in *.* s"])
