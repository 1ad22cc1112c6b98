"""The `conformance` command as a user meets it: a real process, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import re
import shlex
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
    """`conformance run -n 2` with no target: each pytest-xdist worker (a runtime dependency) starts its own embedded
    server, and the results are the serial run's, requirement by requirement (a few cases of each protocol, a
    generated one included: derandomised under ci). A whole run on workers sharing one server is test_parallel's."""
    chosen = ("-k", "test_list_text_crlf or test_get_one or SP-NOT-FOUND or test_generated_round_trip")
    runs = {}
    for name, extra in (("serial", ()), ("parallel", ("-n", "2"))):
        done = conformance("run", "--results", f"{name}.json", *chosen, *extra, cwd=tmp_path, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr
        data = json.loads((tmp_path / f"{name}.json").read_text())
        runs[name] = ({r["id"]: (r["status"], r["counts"]) for r in data["requirements"]}, data["verdict"]["line"])
    assert runs["parallel"] == runs["serial"]
    assert runs["serial"][1].startswith("VERDICT: CONFORMANT")
    assert {r for r, (status, _) in runs["serial"][0].items() if status == "PASS"} >= {"VC-LIST-TEXT", "SP-GET"}


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


def test_the_readings_a_verdict_may_rest_on_are_listed_with_their_notes_section(capsys):
    """`conformance requirements --readings`: every [reading] of the catalogue, with its level and NOTES section,
    and nothing else: what a vendor may dispute before a run."""
    from conformance import catalogue
    from conformance.cli import main

    assert main(["requirements", "--readings"]) == 0
    out = capsys.readouterr().out
    readings = [r for r in catalogue.load_all().values() if r.reading]
    for requirement in readings:
        assert f"{requirement.id:<28}{requirement.level:<7}{requirement.source}: {requirement.reading}" in out
    listed = [line.split()[0] for line in out.splitlines() if line[:3] in ("VC-", "SP-")]
    assert listed == [r.id for r in readings]
    wide = [reading for protocol in ("vidicore", "spectra") for reading in catalogue.load(protocol).readings]
    assert wide and all(f"{'(every case)':<35}{reading.source}: {reading.text}" in out for reading in wide)
    assert main(["requirements", "spectra", "--readings"]) == 0
    assert capsys.readouterr().out.startswith("# Spectra S3 job-completed notification registrations: 6 reading(s)")


def test_version_is_the_installed_distributions():
    from importlib import metadata

    done = conformance("--version", cwd=".", timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"conformance {metadata.version('notification-conformance')}"


@pytest.mark.parametrize("args", [("requirements",), ("faults",), ("run", "vidicore", "-k", "VC-LIST-TEXT and item")],
                         ids=["requirements", "faults", "run"])
def test_output_into_a_closed_pipe_ends_quietly(tmp_path, args):
    """`conformance requirements | head`: the reader is gone before the output ends. No traceback, exit 141 (what a
    shell reports for a process SIGPIPE ended). The pipe's reading end is closed before the process starts, so every
    write fails, whatever the timing."""
    reading, writing = os.pipe()
    os.close(reading)
    try:
        done = subprocess.run([sys.executable, "-m", "conformance", *args], cwd=tmp_path, stdout=writing,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(writing)
    assert done.returncode == 141 and done.stderr == ""


def test_every_option_of_every_command_shows_its_default_in_help():
    import argparse

    from conformance.cli import _parser

    parser = _parser()
    [commands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    missing = []
    for name, command in commands.choices.items():
        for action in command._actions:
            if isinstance(action, argparse._HelpAction) or action.required:  # (a required argument has none)
                continue
            shown = (action.help or "") % {"default": action.default, "prog": command.prog}
            if "default" not in shown:
                missing.append(f"conformance {name} {'/'.join(action.option_strings) or action.dest}")
        assert "(default: " in " ".join(command.format_help().split()) or name in ("faults", "behaviours")
    assert missing == []


def test_a_selection_that_leaves_no_case_is_one_line(tmp_path):
    done = conformance("run", "-m", "bookkeeping and vidicore", cwd=tmp_path, timeout=60)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, lines
    assert re.fullmatch(r"conformance: no case selected: -m 'bookkeeping and vidicore' matched none of the "
                        r"\d{3} case\(s\) collected", lines[0])


def test_the_rerun_command_of_a_failing_case_reruns_it_alone(tmp_path):
    first = conformance("run", "vidicore", "-k", "VC-LIST-TEXT and entity", "--fault", "list-text-lf", cwd=tmp_path)
    assert first.returncode == 1
    cases = json.loads((tmp_path / "reports" / "results.json").read_text())["cases"]
    rerun = cases[0]["rerun"]
    assert f"rerun: {rerun}" in first.stdout
    words = shlex.split(rerun)
    assert words[:2] == ["conformance", "run"]
    again = conformance(*words[1:], "--results", "again.json", cwd=tmp_path)
    assert again.returncode == 1
    rerun_cases = json.loads((tmp_path / "again.json").read_text())
    assert [case["case"] for case in rerun_cases["cases"]] == [cases[0]["case"]] and rerun_cases["digests"] == []
