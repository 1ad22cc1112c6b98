"""Tests of conformance.target: reading and checking the target file and the --base-url environment."""

from __future__ import annotations

import dataclasses
import functools
import textwrap
from pathlib import Path

import pytest

from conformance.target import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TIMEOUT,
    Target,
    TargetError,
    load_target,
    target_for_url,
    target_from_mapping,
)
from conformance.vidicore.settings import User

vidicore_target_for_url = functools.partial(target_for_url, "vidicore")
spectra_target_for_url = functools.partial(target_for_url, "spectra")

ADMIN_PASSWORD = "s3cr3t-admin-Pa55"
READER_PASSWORD = "s3cr3t-reader-Pa55"
ENV = {
    "VC_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "VC_READER_PASSWORD": READER_PASSWORD,
    "VC_WRITER_PASSWORD": "s3cr3t-writer",
    "VC_NOROLE_PASSWORD": "s3cr3t-norole",
    "VC_SINGLE_PASSWORD": "s3cr3t-single",
    "VC_EMPTY": "",
    "SP_ADMIN_SECRET": "s3cr3t-spectra-admin",
    "SP_USER_SECRET": "s3cr3t-spectra-user",
}

MINIMAL = """
[vidicore]
base_url = "http://vs.example.com:8080/API"
[vidicore.users.admin]
username = "admin"
password_env = "VC_ADMIN_PASSWORD"
"""

FULL = """
[vidicore]
base_url = "https://vs.example.com:8443/API/"
verify_tls = true
ca_bundle = "ca.pem"
timeout = 2.5
shared = true
max_body_bytes = 4096

[vidicore.users.admin]
username = "admin"
password_env = "VC_ADMIN_PASSWORD"
[vidicore.users.reader]
username = "reader"
password_env = "VC_READER_PASSWORD"
[vidicore.users.writer]
username = "writer"
password_env = "VC_WRITER_PASSWORD"
[vidicore.users.norole]
username = "norole"
password_env = "VC_NOROLE_PASSWORD"
[vidicore.users.single]
username = "single"
password_env = "VC_SINGLE_PASSWORD"
entity = "deletion-lock"

[vidicore.entities]
item = "VX-1"
collection = "VX-2"
job = "VX-3"
storage = "VX-4"
file = "VX-5"
quota = "VX-6"
group = "editors"
document = "VX-8"
deletion-lock = "VX-9"
"""


SPECTRA = """
[spectra]
base_url = "http://bp.example.com"
[spectra.users.admin]
access_id = "YWRtaW4="
secret_key_env = "SP_ADMIN_SECRET"
[spectra.users.user]
access_id = "dXNlcg=="
secret_key_env = "SP_USER_SECRET"
"""


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(text: str, env: dict[str, str] | None = None) -> Target:
    """Write `text` to target.toml in the current folder and load it."""
    Path("target.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_target("target.toml", ENV if env is None else env)


def with_vidicore(extra: str) -> str:
    """MINIMAL with `extra` lines added to the [vidicore] table."""
    return MINIMAL.replace("[vidicore]\n", "[vidicore]\n" + textwrap.dedent(extra).strip() + "\n", 1)


# --- valid files --------------------------------------------------------------------------------------------


def test_full_file(in_tmp: Path) -> None:
    (in_tmp / "ca.pem").write_text("dummy")
    target = load(FULL)
    assert target.source == "target.toml"
    vc = target.vidicore
    assert vc is not None
    assert vc.base_url == "https://vs.example.com:8443/API"
    assert vc.verify == str(in_tmp / "ca.pem")
    assert vc.timeout == 2.5
    assert vc.shared is True
    assert vc.max_body_bytes == 4096
    assert list(vc.users) == ["admin", "reader", "writer", "norole", "single"]
    assert vc.users["reader"] == User(
        role="reader", username="reader", password=READER_PASSWORD, password_env="VC_READER_PASSWORD", entity=None
    )
    assert vc.users["single"].entity == "deletion-lock"
    assert vc.entities["deletion-lock"] == "VX-9"
    assert vc.entities["group"] == "editors"
    assert len(vc.entities) == 9


def test_defaults(in_tmp: Path) -> None:
    vc = load(MINIMAL).vidicore
    assert vc is not None
    assert vc.base_url == "http://vs.example.com:8080/API"
    assert vc.verify is True
    assert vc.timeout == DEFAULT_TIMEOUT == 10.0
    assert isinstance(vc.timeout, float)
    assert vc.shared is False
    assert vc.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    assert list(vc.users) == ["admin"]
    assert vc.users["admin"].entity is None
    assert dict(vc.entities) == {}


def test_integer_timeout_becomes_float(in_tmp: Path) -> None:
    vc = load(with_vidicore("timeout = 3")).vidicore
    assert vc is not None and vc.timeout == 3.0 and isinstance(vc.timeout, float)


def test_verify_tls_false(in_tmp: Path) -> None:
    vc = load(with_vidicore("verify_tls = false")).vidicore
    assert vc is not None and vc.verify is False


def test_ca_bundle_is_relative_to_the_file(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = in_tmp / "conf"
    folder.mkdir()
    (folder / "ca.pem").write_text("dummy")
    (folder / "target.toml").write_text(with_vidicore('ca_bundle = "ca.pem"'))
    target = load_target(folder / "target.toml", ENV)
    assert target.vidicore is not None and target.vidicore.verify == str(folder / "ca.pem")
    assert target.source == str(folder / "target.toml")


def test_dotted_keys_are_the_same_table(in_tmp: Path) -> None:
    target = load("""
        vidicore.base_url = "http://h/API"
        vidicore.users.admin.username = "admin"
        vidicore.users.admin.password_env = "VC_ADMIN_PASSWORD"
    """)
    assert target.vidicore is not None and target.vidicore.base_url == "http://h/API"


def test_result_is_immutable(in_tmp: Path) -> None:
    target = load(MINIMAL)
    assert target.vidicore is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.vidicore.timeout = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        target.vidicore.users["reader"] = target.vidicore.users["admin"]  # type: ignore[index]
    with pytest.raises(TypeError):
        target.vidicore.entities["item"] = "VX-1"  # type: ignore[index]


# --- environment variables ----------------------------------------------------------------------------------


def test_password_comes_from_the_given_env(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_ADMIN_PASSWORD", "from-os-environ")
    target = load(MINIMAL, {"VC_ADMIN_PASSWORD": "from-mapping"})
    assert target.vidicore is not None
    assert target.vidicore.users["admin"].password == "from-mapping"
    assert target.vidicore.users["admin"].password_env == "VC_ADMIN_PASSWORD"


def test_env_defaults_to_os_environ(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_ADMIN_PASSWORD", "from-os-environ")
    Path("target.toml").write_text(MINIMAL)
    target = load_target("target.toml")
    assert target.vidicore is not None and target.vidicore.users["admin"].password == "from-os-environ"


def test_target_from_mapping() -> None:
    data = {"vidicore": {"base_url": "http://h/API", "users": {"admin": {"username": "a", "password_env": "P"}}}}
    target = target_from_mapping(data, "inline", {"P": "pw"})
    assert target.source == "inline"
    assert target.vidicore is not None and target.vidicore.users["admin"].password == "pw"
    with pytest.raises(TargetError, match=r"^inline: \[vidicore.users.admin\] password_env: environment variable P "):
        target_from_mapping(data, "inline", {})


# --- secrets and redaction ----------------------------------------------------------------------------------


def test_secrets_lists_every_password(in_tmp: Path) -> None:
    (in_tmp / "ca.pem").write_text("dummy")
    target = load(FULL)
    assert target.secrets() == frozenset(value for key, value in ENV.items() if value and key.startswith("VC_"))
    assert Target(source="x", vidicore=None).secrets() == frozenset()


def test_passwords_are_never_shown(in_tmp: Path) -> None:
    (in_tmp / "ca.pem").write_text("dummy")
    target = load(FULL)
    assert target.vidicore is not None
    shown = [repr(target), str(target), repr(target.vidicore), str(target.vidicore)]
    for user in target.vidicore.users.values():
        shown += [repr(user), str(user), f"{user}", f"{user!r}"]
    for text in shown:
        for password in target.secrets():
            assert password not in text
    assert "password_env='VC_ADMIN_PASSWORD'" in repr(target.vidicore.users["admin"])


def test_literal_password_is_refused_without_showing_it(in_tmp: Path) -> None:
    with pytest.raises(TargetError) as caught:
        load(MINIMAL + 'password = "hunter2-literal"\n')
    message = str(caught.value)
    assert message.startswith("target.toml: [vidicore.users.admin] password: ")
    assert "password_env" in message and "environment variable" in message
    assert "hunter2-literal" not in message


def test_password_put_in_password_env_is_not_shown(in_tmp: Path) -> None:
    with pytest.raises(TargetError) as caught:
        load(MINIMAL.replace('"VC_ADMIN_PASSWORD"', '"hunter2 pass!"'))
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("target.toml: [vidicore.users.admin] password_env: expected the NAME")


def test_credentials_in_base_url_are_not_shown(in_tmp: Path) -> None:
    with pytest.raises(TargetError) as caught:
        load(MINIMAL.replace("http://vs.example.com", "http://admin:hunter2@vs.example.com"))
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("target.toml: [vidicore] base_url: must not contain a user name or password")


def test_errors_after_reading_passwords_do_not_show_them(in_tmp: Path) -> None:
    text = MINIMAL + '[vidicore.users.reader]\nusername = "admin"\npassword_env = "VC_READER_PASSWORD"\n'
    with pytest.raises(TargetError) as caught:
        load(text)
    assert ADMIN_PASSWORD not in str(caught.value) and READER_PASSWORD not in str(caught.value)


# --- one test per error kind --------------------------------------------------------------------------------


def user(role: str, **keys: str) -> str:
    """A [vidicore.users.<role>] table; `keys` are TOML values (already quoted) added or replaced."""
    values = {"username": f'"{role}"', "password_env": f'"VC_{role.upper()}_PASSWORD"', **keys}
    return f"[vidicore.users.{role}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())


def entities(line: str) -> str:
    """MINIMAL with a [vidicore.entities] table holding `line`."""
    return MINIMAL + "[vidicore.entities]\n" + line + "\n"


NO_USERS = '[vidicore]\nbase_url = "http://h/API"\n'
VIDICORE_KEYS = "expected one of: base_url, verify_tls, ca_bundle, timeout, shared, max_body_bytes, users, entities"
URL = '[vidicore] base_url: expected an http or https URL such as "http://vs.example.com:8080/API"'
SECONDS = "[vidicore] timeout: expected a number of seconds > 0, got "
BYTES = "[vidicore] max_body_bytes: expected a whole number of bytes > 0, got "
USERNAME = '[vidicore.users.admin] username: expected a user name (non-empty, no ":"), got '
ENTITY_NAMES = "expected one of: item, collection, job, storage, file, quota, group, document, deletion-lock"
ENTITY_ID = 'expected an existing entity id such as "VX-1" (no /, ?, #, % or spaces), got '

# id: (file text, the message after "target.toml: " starts with this)
ERRORS = {
    # reading the file
    "toml syntax": (
        '[vidicore]\nbase_url = "http://x"\nretry 3\n',
        "not valid TOML: Expected '=' after a key in a key/value pair (at line 3, column 7)",
    ),
    "duplicate key": (MINIMAL + 'username = "again"\n', "not valid TOML: Cannot overwrite a value"),
    # top level
    "empty file": ("", "nothing to test; expected one of these tables: [vidicore]"),
    "unknown table": (MINIMAL + "[vidicor]\n", "vidicor: unknown table; expected one of: vidicore"),
    "unknown key": ("title = 1\n" + MINIMAL, "title: unknown key; expected one of: vidicore"),
    "spectra no url": (MINIMAL + SPECTRA.replace('base_url = "http://bp.example.com"\n', ""),
                       "[spectra] base_url: required key missing"),
    "spectra no users": ('[spectra]\nbase_url = "http://bp.example.com"\n', "[spectra] users: required key missing"),
    "spectra no admin": (SPECTRA.replace("[spectra.users.admin]", "[spectra.users.user]", 1).split("[spectra.users.user]\naccess_id = \"dXNlcg==\"")[0],
                         "[spectra.users] admin: required table missing"),
    "spectra unknown role": (SPECTRA + "[spectra.users.operator]\naccess_id = 'x'\nsecret_key_env = 'SP_USER_SECRET'\n",
                             "[spectra.users] operator: unknown user; expected one of: admin, user"),
    "spectra literal secret": (SPECTRA.replace('secret_key_env = "SP_ADMIN_SECRET"', 'secret_key = "x"'),
                               "[spectra.users.admin] secret_key: secret keys are not read from the target file"),
    "spectra unset secret": (SPECTRA.replace("SP_ADMIN_SECRET", "SP_MISSING"),
                             "[spectra.users.admin] secret_key_env: environment variable SP_MISSING is not set"),
    "spectra same access id": (SPECTRA.replace('"dXNlcg=="', '"YWRtaW4="'),
                               '[spectra.users.user] access_id: "YWRtaW4=" is already the admin user'),
    "spectra bad access id": (SPECTRA.replace('"dXNlcg=="', '"a:b"'), "[spectra.users.user] access_id: expected"),
    "spectra timeout": (SPECTRA.replace("[spectra]\n", "[spectra]\ntimeout = -1\n"),
                        "[spectra] timeout: expected a number of seconds > 0"),
    "spectra url": (SPECTRA.replace("http://bp.example.com", "ftp://bp"),
                    '[spectra] base_url: expected an http or https URL such as "http://blackpearl:80"'),
    "spectra user_id type": (SPECTRA.replace('access_id = "dXNlcg=="', 'access_id = "dXNlcg=="\nuser_id = 7'),
                             "[spectra.users.user] user_id: expected the user's Id (as GET /_rest_/user shows it): a "
                             "non-empty string without /, ?, #, % or spaces, got 7"),
    "spectra name with a slash": (SPECTRA.replace('access_id = "dXNlcg=="', 'access_id = "dXNlcg=="\nname = "a/b"'),
                                  "[spectra.users.user] name: expected the user's name"),
    "spectra data policy type": (SPECTRA.replace("[spectra]\n", "[spectra]\ndata_policy_id = true\n"),
                                 "[spectra] data_policy_id: expected a data policy's Id or name: a non-empty string"),
    "spectra unknown user key": (SPECTRA.replace('access_id = "dXNlcg=="', 'access_id = "dXNlcg=="\nuserid = "x"'),
                                 "[spectra.users.user] userid: unknown key; expected one of: access_id, secret_key_env, "
                                 "user_id, name"),
    "delivery port": (MINIMAL + "[delivery]\nlisten_port = 70000\n", "[delivery] listen_port: expected a port"),
    "delivery unknown key": (MINIMAL + "[delivery]\nwait = 3\n", "[delivery] wait: unknown key"),
    "delivery window": (MINIMAL + "[delivery]\nquiet_window = 0\n", "[delivery] quiet_window: expected a number > 0"),
    "jobs unknown key": (MINIMAL + "[vidicore.jobs]\nuri = 'x'\n", "[vidicore.jobs] uri: unknown key"),
    "jobs empty uri": (MINIMAL + "[vidicore.jobs]\nreadable_uri = ''\n", "[vidicore.jobs] readable_uri: expected"),
    "delivery only": ("[delivery]\ndeadline = 5\n", "nothing to test"),
    "vidicore not a table": ('vidicore = "x"\n', 'vidicore: expected a table, got "x"'),
    # [vidicore]
    "unknown vidicore key": (with_vidicore("retries = 3"), f"[vidicore] retries: unknown key; {VIDICORE_KEYS}"),
    "unknown vidicore table": (MINIMAL + "[vidicore.extra]\n", f"[vidicore] extra: unknown table; {VIDICORE_KEYS}"),
    "odd key is quoted": (with_vidicore('"a b" = 1'), '[vidicore] "a b": unknown key'),
    "base_url missing": (
        MINIMAL.replace('base_url = "http://vs.example.com:8080/API"', ""),
        "[vidicore] base_url: required key missing; expected an http or https URL",
    ),
    "base_url not a string": (MINIMAL.replace('"http://vs.example.com:8080/API"', "8080"), URL + ", got 8080"),
    "base_url scheme": (MINIMAL.replace("http://", "ftp://"), URL + ', got "ftp://vs.example.com:8080/API"'),
    "base_url no scheme": (MINIMAL.replace("http://", ""), URL),
    "base_url no host": (MINIMAL.replace("vs.example.com:8080", ""), URL),
    "base_url bad port": (MINIMAL.replace(":8080", ":80x"), URL),
    "base_url space": (MINIMAL.replace("/API", "/A PI"), URL),
    "base_url query": (
        MINIMAL.replace("/API", "/API?x=1"),
        "[vidicore] base_url: expected the API root without query or fragment",
    ),
    "base_url credentials": (
        MINIMAL.replace("http://", "http://u@"),
        "[vidicore] base_url: must not contain a user name or password",
    ),
    "verify_tls not bool": (
        with_vidicore('verify_tls = "yes"'),
        '[vidicore] verify_tls: expected true or false, got "yes"',
    ),
    "ca_bundle missing file": (with_vidicore('ca_bundle = "nope.pem"'), "[vidicore] ca_bundle: file not found: "),
    "ca_bundle not a string": (
        with_vidicore("ca_bundle = true"),
        "[vidicore] ca_bundle: expected the path of a CA bundle file, got true",
    ),
    "ca_bundle with verify_tls false": (
        with_vidicore('verify_tls = false\nca_bundle = "ca.pem"'),
        "[vidicore] ca_bundle: cannot be used with verify_tls = false",
    ),
    "timeout not a number": (with_vidicore('timeout = "ten"'), SECONDS + '"ten"'),
    "timeout zero": (with_vidicore("timeout = 0"), SECONDS + "0"),
    "timeout negative": (with_vidicore("timeout = -1.5"), SECONDS + "-1.5"),
    "timeout infinite": (with_vidicore("timeout = inf"), SECONDS + "inf"),
    "timeout bool": (with_vidicore("timeout = true"), SECONDS + "true"),
    "shared not bool": (with_vidicore("shared = 1"), "[vidicore] shared: expected true or false, got 1"),
    "max_body_bytes zero": (with_vidicore("max_body_bytes = 0"), BYTES + "0"),
    "max_body_bytes float": (with_vidicore("max_body_bytes = 1e6"), BYTES + "1000000.0"),
    "max_body_bytes bool": (with_vidicore("max_body_bytes = true"), BYTES + "true"),
    "max_body_bytes array": (with_vidicore("max_body_bytes = [1]"), BYTES + "an array"),
    # [vidicore.users]
    "users missing": (NO_USERS, "[vidicore] users: required key missing; expected a [vidicore.users.admin] table"),
    "users not a table": (NO_USERS + 'users = ["admin"]\n', "[vidicore] users: expected a table, got an array"),
    "admin missing": (NO_USERS + user("reader"), "[vidicore.users] admin: required table missing"),
    "unknown user": (
        MINIMAL + user("guest"),
        "[vidicore.users] guest: unknown user; expected one of: admin, reader, writer, norole, single",
    ),
    "user not a table": (
        MINIMAL + '[vidicore.users]\nreader = "r"\n',
        '[vidicore.users] reader: expected a table, got "r"',
    ),
    "unknown user key": (
        MINIMAL + 'roles = ["x"]\n',
        "[vidicore.users.admin] roles: unknown key; expected one of: username, password_env",
    ),
    "literal password": (
        MINIMAL + 'password = "x"\n',
        "[vidicore.users.admin] password: passwords are not read from the target file",
    ),
    "username missing": (
        MINIMAL.replace('username = "admin"', ""),
        "[vidicore.users.admin] username: required key missing",
    ),
    "username not a string": (MINIMAL.replace('"admin"', "1"), USERNAME + "1"),
    "username empty": (MINIMAL.replace('"admin"', '""'), USERNAME + '""'),
    # never shown: "user:password" is the usual paste (this assertion once required the value in the line)
    "username with colon": (MINIMAL.replace('"admin"', '"ad:min"'),
                            USERNAME.replace(", got ", '; the value contains ":" (not shown')),
    "username duplicated": (
        MINIMAL + user("reader", username='"admin"'),
        '[vidicore.users.reader] username: "admin" is already the admin user; each role needs its own user',
    ),
    "password_env missing": (
        MINIMAL.replace('password_env = "VC_ADMIN_PASSWORD"', ""),
        "[vidicore.users.admin] password_env: required key missing; "
        "expected the name of the environment variable holding the password",
    ),
    "password_env not a string": (
        MINIMAL.replace('"VC_ADMIN_PASSWORD"', "1234"),
        "[vidicore.users.admin] password_env: expected the NAME of an environment variable",
    ),
    "password_env not set": (
        MINIMAL + user("reader", password_env='"VC_READER_PASSWORD_X"'),
        "[vidicore.users.reader] password_env: environment variable VC_READER_PASSWORD_X is not set",
    ),
    "password_env empty": (
        MINIMAL.replace('"VC_ADMIN_PASSWORD"', '"VC_EMPTY"'),
        "[vidicore.users.admin] password_env: environment variable VC_EMPTY is empty",
    ),
    "entity on another user": (
        MINIMAL + 'entity = "item"\n',
        "[vidicore.users.admin] entity: only [vidicore.users.single] has an entity",
    ),
    "single without entity": (
        MINIMAL + user("single"),
        f"[vidicore.users.single] entity: required key missing; {ENTITY_NAMES}",
    ),
    "single unknown entity": (
        MINIMAL + user("single", entity='"storage/file"'),
        f'[vidicore.users.single] entity: {ENTITY_NAMES}, got "storage/file"',
    ),
    "single entity not a string": (
        MINIMAL + user("single", entity="1"),
        f"[vidicore.users.single] entity: {ENTITY_NAMES}, got 1",
    ),
    # [vidicore.entities]
    "entities not a table": (with_vidicore('entities = "VX-1"'), '[vidicore] entities: expected a table, got "VX-1"'),
    "unknown entity": (entities('shape = "VX-1"'), f"[vidicore.entities] shape: unknown entity; {ENTITY_NAMES}"),
    "storage/file entity": (
        entities('"storage/file" = "VX-1"'),
        '[vidicore.entities] "storage/file": storage/file has no single-entity form',
    ),
    "entity id not a string": (entities("item = 1"), f"[vidicore.entities] item: {ENTITY_ID}1"),
    "entity id empty": (entities('item = ""'), f'[vidicore.entities] item: {ENTITY_ID}""'),
    "entity id with slash": (entities('job = "VX-1/x"'), f'[vidicore.entities] job: {ENTITY_ID}"VX-1/x"'),
    "entity id with newline": (entities('job = "VX-1\\n"'), f'[vidicore.entities] job: {ENTITY_ID}"VX-1\\n"'),
}


@pytest.mark.parametrize(("text", "expected"), list(ERRORS.values()), ids=list(ERRORS))
def test_error(in_tmp: Path, text: str, expected: str) -> None:
    (in_tmp / "ca.pem").write_text("dummy")
    with pytest.raises(TargetError) as caught:
        load(text)
    message = str(caught.value)
    assert message.startswith(f"target.toml: {expected}")
    assert "\n" not in message and "\r" not in message
    assert isinstance(caught.value, ValueError)
    for password in ENV.values():
        if password:
            assert password not in message


def test_missing_file(in_tmp: Path) -> None:
    with pytest.raises(TargetError, match=r"^target\.toml: file not found$"):
        load_target("target.toml", ENV)


def test_directory(in_tmp: Path) -> None:
    (in_tmp / "target.toml").mkdir()
    with pytest.raises(TargetError, match=r"^target\.toml: is a directory"):
        load_target("target.toml", ENV)


def test_not_utf8(in_tmp: Path) -> None:
    (in_tmp / "target.toml").write_bytes(b'[vidicore]\nbase_url = "\xff"\n')
    with pytest.raises(TargetError, match=r"^target\.toml: not valid TOML: "):
        load_target("target.toml", ENV)


def test_mapping_that_is_not_a_table() -> None:
    with pytest.raises(TargetError, match=r"^inline: expected a table at the top level, got an array$"):
        target_from_mapping([], "inline", {})  # type: ignore[arg-type]


# --- --base-url without a file ------------------------------------------------------------------------------

URL_ENV = {
    "CONFORMANCE_VIDICORE_ADMIN_USER": "admin",
    "CONFORMANCE_VIDICORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
}


def test_url_with_admin_only() -> None:
    target = vidicore_target_for_url("http://localhost:8080/API/", URL_ENV)
    vc = target.vidicore
    assert vc is not None
    assert target.source == "--base-url"
    assert vc.base_url == "http://localhost:8080/API"
    assert (vc.verify, vc.timeout, vc.shared, vc.max_body_bytes) == (True, 10.0, False, 1024 * 1024)
    assert vc.users["admin"] == User(role="admin", username="admin", password=ADMIN_PASSWORD,
                                     password_env="CONFORMANCE_VIDICORE_ADMIN_PASSWORD", entity=None)
    assert list(vc.users) == ["admin"] and dict(vc.entities) == {}
    assert target.secrets() == {ADMIN_PASSWORD}
    assert ADMIN_PASSWORD not in repr(target)


def test_url_with_every_role_and_entity() -> None:
    env = dict(URL_ENV)
    for role in ("READER", "WRITER", "NOROLE", "SINGLE"):
        env[f"CONFORMANCE_VIDICORE_{role}_USER"] = role.lower()
        env[f"CONFORMANCE_VIDICORE_{role}_PASSWORD"] = f"pw-{role}"
    env["CONFORMANCE_VIDICORE_SINGLE_ENTITY"] = "job"
    env["CONFORMANCE_VIDICORE_ENTITY_ITEM"] = "VX-1"
    env["CONFORMANCE_VIDICORE_ENTITY_DELETION_LOCK"] = "VX-7"
    env["CONFORMANCE_VIDICORE_ENTITY_JOB"] = ""  # empty counts as not set
    vc = vidicore_target_for_url("https://vs/API", env).vidicore
    assert vc is not None
    assert list(vc.users) == ["admin", "reader", "writer", "norole", "single"]
    assert vc.users["single"].entity == "job"
    assert vc.users["norole"].password == "pw-NOROLE"
    assert dict(vc.entities) == {"item": "VX-1", "deletion-lock": "VX-7"}


def test_url_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in URL_ENV.items():
        monkeypatch.setenv(name, value)
    vc = vidicore_target_for_url("http://h/API").vidicore
    assert vc is not None and vc.users["admin"].password == ADMIN_PASSWORD


def role_env(role: str, username: str = "", password: str = "p") -> dict[str, str]:
    """URL_ENV plus the CONFORMANCE_VIDICORE_<ROLE>_USER/_PASSWORD variables of one more role."""
    env = {**URL_ENV, f"CONFORMANCE_VIDICORE_{role}_PASSWORD": password}
    if username:
        env[f"CONFORMANCE_VIDICORE_{role}_USER"] = username
    return env


# id: (environment, the message starts with this)
URL_ERRORS = {
    "no admin": (
        {},
        "--base-url: the admin user is required: "
        "set CONFORMANCE_VIDICORE_ADMIN_USER and CONFORMANCE_VIDICORE_ADMIN_PASSWORD",
    ),
    "admin empty": (
        {"CONFORMANCE_VIDICORE_ADMIN_USER": "", "CONFORMANCE_VIDICORE_ADMIN_PASSWORD": ""},
        "--base-url: the admin user is required",
    ),
    "admin password missing": (
        {"CONFORMANCE_VIDICORE_ADMIN_USER": "admin"},
        "--base-url: CONFORMANCE_VIDICORE_ADMIN_PASSWORD: not set (or empty), "
        "but CONFORMANCE_VIDICORE_ADMIN_USER is; set both or neither",
    ),
    "reader user missing": (
        role_env("READER"),
        "--base-url: CONFORMANCE_VIDICORE_READER_USER: not set, but CONFORMANCE_VIDICORE_READER_PASSWORD is",
    ),
    "bad username": (
        {**URL_ENV, "CONFORMANCE_VIDICORE_ADMIN_USER": "a:b"},
        '--base-url: CONFORMANCE_VIDICORE_ADMIN_USER: expected a user name (non-empty, no ":"); the value contains '
        '":" (not shown: the part after it may be a password or key)',
    ),
    "duplicate username": (
        role_env("WRITER", "admin"),
        '--base-url: CONFORMANCE_VIDICORE_WRITER_USER: "admin" is already the admin user',
    ),
    "single without entity": (
        role_env("SINGLE", "s"),
        "--base-url: CONFORMANCE_VIDICORE_SINGLE_ENTITY: not set; the single user needs it",
    ),
    "single bad entity": (
        {**role_env("SINGLE", "s"), "CONFORMANCE_VIDICORE_SINGLE_ENTITY": "shape"},
        "--base-url: CONFORMANCE_VIDICORE_SINGLE_ENTITY: expected one of: item, ",
    ),
    "entity without single": (
        {**URL_ENV, "CONFORMANCE_VIDICORE_SINGLE_ENTITY": "item"},
        "--base-url: CONFORMANCE_VIDICORE_SINGLE_ENTITY: set, but there is no single user",
    ),
    "unknown entity": (
        {**URL_ENV, "CONFORMANCE_VIDICORE_ENTITY_STORAGE_FILE": "VX-1"},
        "--base-url: CONFORMANCE_VIDICORE_ENTITY_STORAGE_FILE: unknown entity; "
        "expected one of: CONFORMANCE_VIDICORE_ENTITY_ITEM, ",
    ),
    "bad entity id": (
        {**URL_ENV, "CONFORMANCE_VIDICORE_ENTITY_ITEM": "VX 1"},
        '--base-url: CONFORMANCE_VIDICORE_ENTITY_ITEM: expected an existing entity id such as "VX-1"',
    ),
}


@pytest.mark.parametrize(("env", "expected"), list(URL_ERRORS.values()), ids=list(URL_ERRORS))
def test_url_error(env: dict[str, str], expected: str) -> None:
    with pytest.raises(TargetError) as caught:
        vidicore_target_for_url("http://h/API", env)
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)
    assert ADMIN_PASSWORD not in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://h/API", "h:8080/API", "http:///API", "http://h/API#x", ""])
def test_url_bad_base_url(url: str) -> None:
    with pytest.raises(TargetError, match=r"^--base-url: expected "):
        vidicore_target_for_url(url, URL_ENV)


def test_url_credentials_not_shown() -> None:
    with pytest.raises(TargetError) as caught:
        vidicore_target_for_url("http://admin:hunter2@h/API", URL_ENV)
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("--base-url: must not contain a user name or password")


def test_delivery_and_jobs_tables(tmp_path):
    path = tmp_path / "target.toml"
    path.write_text(MINIMAL + '[vidicore.jobs]\nreadable_uri = "file:///srv/a.mp4"\nstart_command = "start-job"\n'
                    '[delivery]\nlisten_host = "0.0.0.0"\nlisten_port = 8765\n'
                    'public_url = "http://runner.example:8765"\ndeadline = 30\nquiet_window = 5\nmultiplier = 2\n')
    target = load_target(path, env=ENV)
    assert target.vidicore.jobs.readable_uri == "file:///srv/a.mp4"
    assert target.vidicore.jobs.start_command == "start-job"
    assert target.delivery.listen_port == 8765 and target.delivery.public_url == "http://runner.example:8765"
    assert (target.delivery.deadline, target.delivery.quiet_window, target.delivery.multiplier) == (30, 5, 2)


def test_delivery_defaults_when_absent(tmp_path):
    path = tmp_path / "target.toml"
    path.write_text(MINIMAL)
    target = load_target(path, env=ENV)
    assert target.delivery is None and target.vidicore.jobs.readable_uri is None


def test_spectra_section(in_tmp: Path) -> None:
    env = {**ENV, "SP_ADMIN_SECRET": "admin-key", "SP_USER_SECRET": "user-key"}
    target = load(SPECTRA, env)
    assert target.vidicore is None
    spectra = target.spectra
    assert spectra is not None and spectra.base_url == "http://bp.example.com"
    assert spectra.timeout == 10.0 and spectra.verify is True
    assert spectra.users["admin"].access_id == "YWRtaW4=" and spectra.users["user"].secret_key == "user-key"
    assert "admin-key" not in repr(target) and target.secrets() == {"admin-key", "user-key"}
    assert spectra.data_policy_id is None and spectra.users["admin"].user_id is None
    told = load(SPECTRA.replace("[spectra]\n", '[spectra]\ndata_policy_id = "dp-1"\n').replace(
        'access_id = "dXNlcg=="', 'access_id = "dXNlcg=="\nuser_id = "u-1"\nname = "Jo"'), env).spectra
    assert (told.data_policy_id, told.users["user"].user_id, told.users["user"].name) == ("dp-1", "u-1", "Jo")
    both = load(MINIMAL + SPECTRA, env)
    assert both.vidicore is not None and both.spectra is not None
    assert both.secrets() >= {"admin-key", "user-key"}


def test_spectra_url_from_env() -> None:
    env = {"CONFORMANCE_SPECTRA_ADMIN_ACCESS_ID": "YWRtaW4=", "CONFORMANCE_SPECTRA_ADMIN_SECRET_KEY": "k"}
    target = spectra_target_for_url("http://bp:8080/", env)
    assert target.spectra is not None and target.spectra.base_url == "http://bp:8080"
    assert set(target.spectra.users) == {"admin"} and target.secrets() == {"k"}
    with pytest.raises(TargetError, match="the administrator is required"):
        spectra_target_for_url("http://bp", {})
    with pytest.raises(TargetError, match="CONFORMANCE_SPECTRA_USER_SECRET_KEY: not set"):
        spectra_target_for_url("http://bp", {**env, "CONFORMANCE_SPECTRA_USER_ACCESS_ID": "dXNlcg=="})


def test_the_waivers_file_is_relative_to_the_target_file(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "known.toml").write_text("")
    (tmp_path / "conf" / "target.toml").write_text('waivers = "known.toml"\n' + MINIMAL)
    monkeypatch.chdir(tmp_path)
    target = load_target("conf/target.toml", ENV)
    assert target.waivers == str(tmp_path / "conf" / "known.toml")
    assert target.with_settings("spectra", None).waivers == target.waivers  # --spectra-url beside the file


@pytest.mark.parametrize("line, expected", [
    ('waivers = "missing.toml"', 'waivers: file not found: "'),
    ("waivers = 3", "waivers: expected the path of a waivers file (TOML), got 3"),
    ('waivers = ""', 'waivers: expected the path of a waivers file (TOML), got ""'),
])
def test_a_bad_waivers_key_is_one_line(in_tmp: Path, line: str, expected: str) -> None:
    with pytest.raises(TargetError) as caught:
        load(line + "\n" + MINIMAL)
    assert str(caught.value).startswith(f"target.toml: {expected}")


def test_the_run_table_sets_the_grace_after_a_signal(in_tmp: Path) -> None:
    assert load(MINIMAL).run.interrupt_grace == 7.0  # the default, as CI runners allow (conformance.interruption)
    target = load(MINIMAL + "[run]\ninterrupt_grace = 25\n")
    assert target.run.interrupt_grace == 25.0 and target.with_settings("spectra", None).run == target.run


@pytest.mark.parametrize("line, expected", [
    ("interrupt_grace = 2", "[run] interrupt_grace: expected more than 2 seconds (kept for the reports after the "
                            "cleanup), got 2.0"),
    ('interrupt_grace = "7"', '[run] interrupt_grace: expected a number > 0, got "7"'),
    ("grace = 7", "[run] grace: unknown key"),
])
def test_a_bad_run_key_is_one_line(in_tmp: Path, line: str, expected: str) -> None:
    with pytest.raises(TargetError) as caught:
        load(MINIMAL + "[run]\n" + line + "\n")
    assert str(caught.value).startswith(f"target.toml: {expected}")
