"""No secret is ever written: the whole suite, both protocols, run as a vendor runs it (a target file whose
passwords and secret keys come from environment variables) against a server with a fault of each protocol on (so
failing cases write their evidence: every exchange, every delivery, the curl lines), with every report asked
for (and its ledger). Then the terminal output and every file the run wrote are searched for each password and
secret key, and for the forms they travel in (HTTP Basic credentials)."""

from __future__ import annotations

import base64

from conformance import reference
from conftest import toml
from test_cli import conformance

FAULTS = ("list-text-lf", "sp-book-no-code")  # a failing case of each protocol: its evidence is written out


def forms(data: dict, env: dict[str, str]) -> dict[str, str]:
    """What must never appear -> which secret it is: every password and secret key as is, and each VidiCore
    user's Basic credentials (base64 of user:password)."""
    found = {}
    for protocol in ("vidicore", "spectra"):
        for role, user in data[protocol]["users"].items():
            variable = user.get("password_env") or user["secret_key_env"]
            secret = env[variable]
            found[secret] = f"{protocol} {role}'s secret ({variable})"
            if "username" in user:
                basic = base64.b64encode(f"{user['username']}:{secret}".encode()).decode()
                found[basic] = f"{protocol} {role}'s Basic credentials"
    return found


def test_no_secret_reaches_the_output_or_any_file_the_run_writes(tmp_path):
    media = tmp_path / "media.bin"
    media.write_bytes(b"conformance media\n")
    with reference.start(("vidicore", "spectra"), FAULTS) as server:
        data = server.target_data()
        data["vidicore"]["jobs"] = {"readable_uri": media.as_uri()}
        (tmp_path / "target.toml").write_text(toml(data))
        out = tmp_path / "out"
        done = conformance("run", "--target", "target.toml", "--results", "out/results.json", "--junitxml",
                           "out/junit.xml", "--html", "out/report.html", "--alluredir", "out/allure", "-v",
                           cwd=tmp_path, env=server.env, timeout=600)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "VERDICT: NOT CONFORMANT" in done.stdout and "VC-LIST-TEXT" in done.stdout and "SP-BOOK-SUCCESS" in done.stdout
    secrets = forms(data, server.env)
    assert len(secrets) >= 7 and all(len(secret) >= 8 for secret in secrets)
    written = [path for path in out.rglob("*") if path.is_file()]
    names = {path.name for path in written}
    assert {"results.json", "junit.xml", "report.html", "ledger.jsonl"} <= names  # the ledger beside the results
    assert any(n.endswith("-result.json") for n in names)
    assert any(n.endswith("-attachment.txt") for n in names), "Allure got no evidence attached"
    texts = {"terminal output": done.stdout + done.stderr,
             **{str(path.relative_to(tmp_path)): path.read_bytes().decode("utf-8", "replace") for path in written}}
    evidence = texts["out/results.json"]
    assert "curl " in evidence and "$CONFORMANCE_REFERENCE_ADMIN_PASSWORD" in evidence  # the evidence is there
    leaks = [f"{what} in {where}" for where, text in texts.items() for secret, what in secrets.items()
             if secret in text]
    assert leaks == []


def test_the_search_finds_a_secret_where_there_is_one(tmp_path):
    """The test above can fail: a password written in clear is found by the same search."""
    data = {"vidicore": {"users": {"admin": {"username": "admin", "password_env": "PW"}}},
            "spectra": {"users": {"admin": {"access_id": "a", "secret_key_env": "KEY"}}}}
    secrets = forms(data, {"PW": "s3cret-password", "KEY": "s3cret-key"})
    basic = base64.b64encode(b"admin:s3cret-password").decode()
    text = f"Authorization: Basic {basic}\n"
    assert [what for secret, what in secrets.items() if secret in text] == ["vidicore admin's Basic credentials"]
