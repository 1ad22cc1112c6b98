"""The `conformance` command as a user meets it: a real process, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def conformance(*args: str, cwd, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


def test_run_against_the_embedded_server_prints_the_verdict(tmp_path):
    done = conformance("run", "-k", "VC-LIST-TEXT", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "VERDICT: CONFORMANT" in done.stdout
    assert (tmp_path / "reports" / "results.json").exists()


def test_workers_from_the_command_line_report_what_a_serial_run_reports(tmp_path):
    """`conformance run -n 2`: the cases run on pytest-xdist workers (a runtime dependency) and the results are
    the serial run's, requirement by requirement (the generated cases included: derandomised under ci)."""
    import json

    runs = {}
    for name, extra in (("serial", ()), ("parallel", ("-n", "2"))):
        done = conformance("run", "spectra", "--results", f"{name}.json", *extra, cwd=tmp_path, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr
        data = json.loads((tmp_path / f"{name}.json").read_text())
        runs[name] = ({r["id"]: (r["status"], r["counts"]) for r in data["requirements"]}, data["verdict"]["line"])
    assert runs["parallel"] == runs["serial"]
    assert runs["serial"][1].startswith("VERDICT: CONFORMANT")


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_bad_worker_count_is_one_line_and_exit_2(tmp_path, value):
    done = conformance("run", "-n", value, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "expected a number of workers" in done.stderr and "Traceback" not in done.stderr


def test_a_fault_gives_exit_1(tmp_path):
    done = conformance("run", "-k", "VC-LIST-TEXT", "--fault", "list-text-lf", cwd=tmp_path)
    assert done.returncode == 1
    assert "VERDICT: NOT CONFORMANT" in done.stdout and "VC-LIST-TEXT" in done.stdout


@pytest.mark.parametrize("args, env, message", [
    (("--target", "missing.toml"), {}, "missing.toml: file not found"),
    (("--base-url", "http://127.0.0.1:9/API"), {}, "CONFORMANCE_VIDICORE_ADMIN_USER"),
    (("--base-url", "http://127.0.0.1:9/API"),
     {"CONFORMANCE_VIDICORE_ADMIN_USER": "a", "CONFORMANCE_VIDICORE_ADMIN_PASSWORD": "p"},
     "target unreachable: http://127.0.0.1:9/API"),
    (("-k", "no_such_case_anywhere"), {}, "no case selected"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, env, message):
    done = conformance("run", "vidicore", *args, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr
    output = done.stdout + done.stderr
    assert message in output
    assert "Traceback" not in output


def test_malformed_target_file_names_the_key(tmp_path):
    (tmp_path / "t.toml").write_text('[vidicore]\nbase_url = "http://h/API"\n[vidicore.users.admin]\n'
                                     'username = "admin"\npassword = "hunter2"\n')
    done = conformance("run", "--target", "t.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert "[vidicore.users.admin] password" in done.stderr and "password_env" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def test_requirements_and_faults_are_listed(tmp_path):
    listed = conformance("requirements", cwd=tmp_path)
    assert listed.returncode == 0 and "VC-LIST-TEXT" in listed.stdout and "[reading:" in listed.stdout
    faults = conformance("faults", cwd=tmp_path)
    assert faults.returncode == 0 and "list-text-lf" in faults.stdout
