"""Tests of the reference VidiCore server (conformance.reference): real HTTP over loopback with httpx.

A clean server is shared by the module; a test that turns a fault on starts its own server.
"""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from conformance.reference import describe, serve_forever, start
from conformance.reference.faults import FAULTS, resolve

NS = "http://xml.vidispine.com/schema/vidispine"
CATALOGUE = Path(__file__).parents[2] / "conformance" / "catalogue" / "vidicore.toml"
XML = {"Content-Type": "application/xml"}
AS_JSON = {"Accept": "application/json"}
AS_TEXT = {"Accept": "text/plain"}
ADMIN = ("admin", "admin-secret")

HTTP_DOC = f"""<NotificationDocument xmlns="{NS}">
  <action><http><url>http://10.10.0.3/notify-job</url><timeout>5</timeout><retry>3</retry>
    <method>POST</method><contentType>application/xml</contentType></http></action>
  <trigger><job><finished/><filter><type>PLACEHOLDER_IMPORT</type></filter></job></trigger>
</NotificationDocument>"""
MINIMAL_JSON = {"action": {"http": {"url": "http://example.com/n"}}, "trigger": {"item": {"create": ""}}}


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with start() as running:
        yield running


@pytest.fixture(scope="module")
def client(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.urls["vidicore"] + "/", auth=ADMIN, timeout=5) as http:
        yield http


@pytest.fixture(scope="module")
def any_client() -> Iterator[httpx.Client]:
    """One client for the servers the tests start themselves (a client costs ~30 ms to make)."""
    with httpx.Client(auth=ADMIN, timeout=5) as http:
        yield http


def root(response: httpx.Response) -> Any:
    return SafeET.fromstring(response.content, forbid_dtd=True)


def create(client: httpx.Client, path: str = "item/notification", body: str = HTTP_DOC) -> str:
    response = client.post(path, content=body, headers={**XML, **AS_TEXT})
    assert response.status_code == 200, response.text
    return response.text


def text_list(client: httpx.Client, path: str) -> list[str]:
    response = client.get(path, headers=AS_TEXT)
    assert response.status_code == 200, response.text
    return response.text.split("\r\n") if response.text else []


# ------------------------------------------------------------------ lifecycle, interface


def test_start_on_a_free_port_and_stop_quickly(any_client: httpx.Client) -> None:
    server = start(port=0)
    url = server.urls["vidicore"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/API", url) and server.port > 0
    assert any_client.get(url + "/item/notification").status_code == 200
    began = time.perf_counter()
    server.stop()
    server.stop()  # idempotent
    assert time.perf_counter() - began < 0.5
    with pytest.raises(httpx.ConnectError):
        any_client.get(url + "/item/notification")


def test_connections_are_answered_on_reused_threads_and_a_slow_one_holds_no_other(any_client: httpx.Client) -> None:
    """Each connection is answered on an idle thread of the server's, or a new one when none is idle: sequential
    requests reuse one thread; a client that connects and sends nothing holds its own; stop() ends them."""
    import socket
    import threading

    server = start(port=0)
    url = server.urls["vidicore"] + "/item/notification"
    prefix = f"reference-server:{server.port}-"

    def threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith(prefix)]

    try:
        for _ in range(40):
            assert any_client.get(url).status_code == 200
        # a thread may still be closing the last connection when the next arrives: then one more starts
        assert 1 <= len(threads()) < 10
        with socket.create_connection(("127.0.0.1", server.port)) as silent:  # holds its thread, sends no end
            silent.sendall(b"GET /API/item/notification HTTP/1.1\r\n")
            for _ in range(5):
                assert any_client.get(url).status_code == 200
            assert len(threads()) >= 2
    finally:
        server.stop()
    for thread in threads():
        thread.join(timeout=5)
        assert not thread.is_alive(), thread.name


def test_target_data_names_users_entities_and_passwords(server: Any) -> None:
    data = server.target_data()["vidicore"]
    assert data["base_url"] == server.urls["vidicore"]
    assert set(data["users"]) == {"admin", "reader", "writer", "norole", "single"}
    assert data["users"]["single"]["entity"] == "item"
    for user in data["users"].values():
        assert server.env[user["password_env"]] == f"{user['username']}-secret"
    assert data["entities"]["item"] == "VX-1" and "storage/file" not in data["entities"]
    assert len(data["entities"]) == 9


def test_serve_forever_prints_how_to_use_it_and_returns_on_interrupt() -> None:
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            raise KeyboardInterrupt

    serve_forever(("vidicore",), ("slash-404",), "127.0.0.1", 0, out=out)
    text = "\n".join(lines)
    assert re.search(r"http://127\.0\.0\.1:\d+/API", text) and "slash-404" in text
    assert "CONFORMANCE_REFERENCE_ADMIN_PASSWORD=admin-secret" in text


def test_a_conforming_behaviour_is_served_by_name_and_its_keys_join_the_target_file() -> None:
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            raise KeyboardInterrupt

    serve_forever(("spectra",), (), "127.0.0.1", 0, out=out, behaviours=("no-default-data-policy",))
    text = "\n".join(lines)
    assert "behaviours on: no-default-data-policy" in text and "faults on: none" in text
    assert tomllib.loads(text[text.index("[spectra]"):text.index("set the passwords")])["spectra"]["data_policy_id"]
    with pytest.raises(ValueError, match="behaviour 'blackpearl-users' belongs to spectra, which is not started"):
        start(("vidicore",), behaviours=["blackpearl-users"])


def test_the_version_is_a_read_for_any_authenticated_user(client: httpx.Client) -> None:
    """`GET /API/version`, what `conformance run` and `check` authenticate each user with: every user, roles or
    not; a wrong password 401."""
    assert client.get("version", auth=("norole", "norole-secret")).status_code == 200
    assert client.get("version", auth=("norole", "wrong")).status_code == 401


def test_describe_holds_a_valid_target_file(server: Any) -> None:
    lines = describe(server)
    toml = "\n".join(lines[lines.index("[vidicore]"):lines.index("set the passwords (fixed test credentials):")])
    assert tomllib.loads(toml) == server.target_data()


def test_resolve_checks_fault_names() -> None:
    assert resolve(["slash-404", "create-201"]) == {"slash-404", "create-201"}
    assert resolve("slash-404, create-201") == {"slash-404", "create-201"}
    assert resolve(()) == frozenset()
    with pytest.raises(ValueError, match=r"unknown fault 'nope'; known: accept-ignored-json, .*slash-404"):
        resolve(["slash-404", "nope"])
    with pytest.raises(ValueError, match="unknown fault"):
        start(faults=["nope"])
    with pytest.raises(ValueError, match="unknown protocol"):
        start(protocols=["gopher"])


def test_every_requirement_has_a_fault_and_every_fault_a_requirement() -> None:
    ids = {requirement["id"] for requirement in tomllib.loads(CATALOGUE.read_text())["requirement"]}
    named = {r for fault in FAULTS.values() if fault.protocol == "vidicore" for r in fault.requirements}
    assert named == ids


# ------------------------------------------------------------------ documents


def test_create_retrieve_change_delete_in_xml(client: httpx.Client) -> None:
    created = client.post("job/notification", content=HTTP_DOC, headers=XML)
    assert created.status_code == 200
    assert created.headers["content-type"] == "application/xml;charset=UTF-8"
    assert root(created).tag == f"{{{NS}}}URIListDocument"
    [uri] = [element.text for element in root(created)]
    assert re.fullmatch(r"VX-\d+", uri) and int(uri[3:]) > 8  # after the pre-provisioned entities

    got = client.get(f"job/notification/{uri}")
    assert got.status_code == 200
    http = root(got).find(f"{{{NS}}}action/{{{NS}}}http")
    assert http.get("synchronous") == "false"
    assert {child.tag.split("}")[1]: child.text for child in http} == {
        "url": "http://10.10.0.3/notify-job", "timeout": "5", "retry": "3", "method": "POST",
        "contentType": "application/xml"}
    assert root(got).find(f"{{{NS}}}trigger/{{{NS}}}job/{{{NS}}}filter/{{{NS}}}type").text == "PLACEHOLDER_IMPORT"

    changed = client.put(f"job/notification/{uri}", content=HTTP_DOC.replace("PLACEHOLDER_IMPORT", "TRANSCODE"),
                         headers=XML)
    assert changed.status_code == 200 and "TRANSCODE" in changed.text
    assert "TRANSCODE" in client.get(f"job/notification/{uri}").text

    deleted = client.delete(f"job/notification/{uri}")
    assert (deleted.status_code, deleted.content) == (200, b"")
    for method in ("GET", "PUT", "DELETE"):
        gone = client.request(method, f"job/notification/{uri}", content=HTTP_DOC, headers=XML)
        assert gone.status_code == 404
        assert root(gone)[0].tag == f"{{{NS}}}notFound" and root(gone)[0][1].text == uri


def test_json_bodies_and_answers(client: httpx.Client) -> None:
    body = {"action": {"http": {"url": "http://x/n", "retry": 2, "synchronous": "true"}},
            "trigger": {"job": {"finished": {}, "filter": {"type": "X", "step": 1}}}}
    created = client.post("collection/notification", json=body, headers=AS_JSON)
    assert created.status_code == 200 and created.headers["content-type"] == "application/json;charset=UTF-8"
    [uri] = created.json()["uri"]
    got = client.get(f"collection/notification/{uri}", headers=AS_JSON).json()
    assert got == {"action": {"http": {"synchronous": True, "url": "http://x/n", "retry": "2", "timeout": "10"}},
                   "trigger": {"job": {"finished": "", "filter": {"type": "X", "step": "1"}}}}
    changed = client.put(f"collection/notification/{uri}", json=MINIMAL_JSON,
                         headers={**AS_JSON, "Content-Type": "application/json; charset=utf-8"})
    assert changed.json() == {"action": {"http": {"synchronous": False, "url": "http://example.com/n",
                                                  "timeout": "10"}},
                              "trigger": {"item": {"create": ""}}}
    assert client.get("collection/notification", headers=AS_JSON).json() == {"uri": [uri]}
    assert client.delete("collection/notification").status_code == 200
    assert client.get("collection/notification", headers=AS_JSON).json() == {"uri": []}


def test_text_forms(client: httpx.Client) -> None:
    first, second = create(client, "quota/notification"), create(client, "quota/notification")
    listed = client.get("quota/notification", headers=AS_TEXT)
    assert listed.headers["content-type"] == "text/plain;charset=UTF-8"
    assert listed.text == f"{first}\r\n{second}"
    assert client.delete("quota/notification").status_code == 200
    assert client.get("quota/notification", headers=AS_TEXT).text == ""


@pytest.mark.parametrize("accept, expected", [
    (None, "application/xml"), ("*/*", "application/xml"), ("application/xml", "application/xml"),
    ("application/json", "application/json"), ("text/plain", "application/xml"),
])
def test_retrieve_follows_accept(client: httpx.Client, accept: str | None, expected: str) -> None:
    uri = create(client, "file/notification")
    headers = {"Accept": accept} if accept else {}
    got = client.get(f"file/notification/{uri}", headers=headers)
    assert got.headers["content-type"] == f"{expected};charset=UTF-8"


@pytest.mark.parametrize("collection", [
    "item/notification", "storage/file/notification", "deletion-lock/notification", "notification",
    "item/VX-1/notification", "deletion-lock/VX-8/notification", "group/reference-group/notification",
])
def test_every_form_works_with_and_without_a_trailing_slash(client: httpx.Client, collection: str) -> None:
    uri = create(client, collection + "/")
    assert uri in text_list(client, collection) and uri in text_list(client, collection + "/")
    for suffix in ("", "/"):
        assert client.get(f"{collection}/{uri}{suffix}").status_code == 200
        assert client.put(f"{collection}/{uri}{suffix}", content=HTTP_DOC, headers=XML).status_code == 200
    assert client.delete(f"{collection}/{uri}/").status_code == 200
    assert client.delete(collection + "/").status_code == 200


def test_not_found_forms(client: httpx.Client) -> None:
    unknown_entity = client.get("item/VX-999999/notification", headers=AS_JSON)
    assert unknown_entity.status_code == 404 and unknown_entity.json() == {"notFound": {"type": "item",
                                                                                        "id": "VX-999999"}}
    assert client.post("item/VX-999999/notification", content=HTTP_DOC, headers=XML).status_code == 404
    assert client.get("item/notification/VX-999999").status_code == 404
    assert client.get("storage/file/VX-4/notification").status_code == 404  # no single-entity form
    assert client.get("nothing/notification").status_code == 404


def test_scopes_are_separate(client: httpx.Client) -> None:
    whole, single, placeholder = (create(client, path) for path in
                                  ("storage/notification", "storage/VX-4/notification", "notification"))
    assert single not in text_list(client, "storage/notification")
    assert whole not in text_list(client, "storage/VX-4/notification")
    assert client.get(f"storage/notification/{single}").status_code == 404
    assert client.get(f"storage/VX-4/notification/{whole}").status_code == 404
    assert client.get(f"item/notification/{placeholder}").status_code == 404
    assert client.delete("storage/notification").status_code == 200
    assert text_list(client, "storage/VX-4/notification") == [single]


def _with_action(action: str) -> tuple[str, str]:
    return "application/json", f'{{"action": {action}, "trigger": {{"item": {{"create": ""}}}}}}'


INVALID = {
    "malformed xml": ("application/xml", "<NotificationDocument"),
    "dtd": ("application/xml", f'<!DOCTYPE d [<!ENTITY e "x">]><NotificationDocument xmlns="{NS}"/>'),
    "no namespace": ("application/xml", HTTP_DOC.replace(f' xmlns="{NS}"', "")),
    "wrong root": ("application/xml", HTTP_DOC.replace("NotificationDocument", "JobDocument")),
    "no action": ("application/json", '{"trigger": {"item": {"create": ""}}}'),
    "no trigger": ("application/json", '{"action": {"http": {"url": "u"}}}'),
    "two actions": _with_action('{"http": {"url": "u"}, "javascript": {"script": "s"}}'),
    "two triggers": ("application/json", '{"action": {"http": {"url": "u"}}, '
                                         '"trigger": {"item": {"create": ""}, "job": {"create": ""}}}'),
    "unknown action": ("application/xml", HTTP_DOC.replace("http>", "smtp>")),
    "unknown trigger": ("application/xml", HTTP_DOC.replace("job>", "robot>")),
    "unknown event": ("application/xml", HTTP_DOC.replace("<finished/>", "<finito/>")),
    "http without url": _with_action('{"http": {"timeout": 5}}'),
    "malformed json": ("application/json", '{"action": '),
    "javascript without script": _with_action('{"javascript": {}}'),
    "jms without queue": _with_action('{"jms": {"queueFactory": "f"}}'),
    "sqs without endpoint": _with_action('{"sqs": {"queue": "q"}}'),
    "ejb without method": _with_action('{"ejb": {"bean": "b"}}'),
}


@pytest.mark.parametrize("content_type, body", INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_answer_400_and_store_nothing(client: httpx.Client, content_type: str, body: str) -> None:
    before = text_list(client, "document/notification")
    refused = client.post("document/notification", content=body, headers={"Content-Type": content_type})
    assert refused.status_code == 400
    assert root(refused)[0].tag == f"{{{NS}}}invalidInput"
    assert text_list(client, "document/notification") == before


def test_bodies_of_other_types_answer_415(client: httpx.Client) -> None:
    assert client.post("item/notification", content=HTTP_DOC, headers={"Content-Type": "text/xml"}).status_code == 415
    assert client.post("item/notification", content=HTTP_DOC).status_code == 415
    assert client.post("item/notification", content=HTTP_DOC,
                       headers={"Content-Type": "application/xml; charset=UTF-8"}).status_code == 200


def test_other_methods_answer_405(client: httpx.Client) -> None:
    assert client.patch("item/notification").status_code == 405
    assert client.post("item/notification/VX-1", content=HTTP_DOC, headers=XML).status_code == 405


# ------------------------------------------------------------------ auth and roles


@pytest.mark.parametrize("auth", [None, ("admin", "wrong"), ("nobody", "nobody-secret")])
def test_missing_or_wrong_credentials_answer_401(client: httpx.Client, auth: tuple[str, str] | None) -> None:
    response = client.get("item/notification", auth=auth)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    assert root(response)[0].tag == f"{{{NS}}}notAuthorized"


@pytest.mark.parametrize("user, method, path, status", [
    ("reader", "GET", "item/notification", 200),
    ("reader", "GET", "storage/file/notification", 200),
    ("reader", "GET", "notification", 200),
    ("reader", "POST", "item/notification", 403),
    ("writer", "POST", "deletion-lock/notification", 200),
    ("writer", "POST", "notification", 200),
    ("writer", "GET", "item/notification", 403),
    ("writer", "DELETE", "group/notification", 200),
    ("norole", "GET", "item/notification", 403),
    ("norole", "POST", "item/notification", 403),
    ("single", "GET", "item/VX-1/notification", 200),
    ("single", "POST", "item/notification", 200),
    ("single", "GET", "collection/notification", 403),
    ("single", "GET", "notification", 403),
    ("norole", "GET", "item/VX-999999/notification", 403),  # roles before the entity check
])
def test_roles(client: httpx.Client, user: str, method: str, path: str, status: int) -> None:
    response = client.request(method, path, content=HTTP_DOC, headers=XML, auth=(user, f"{user}-secret"))
    assert response.status_code == status, response.text
    if status == 403:
        assert root(response)[0].tag == f"{{{NS}}}forbidden"


def test_a_refused_write_changes_nothing(client: httpx.Client) -> None:
    uri = create(client, "collection/VX-2/notification")
    reader = ("reader", "reader-secret")
    assert client.delete(f"collection/VX-2/notification/{uri}", auth=reader).status_code == 403
    assert client.delete("collection/VX-2/notification", auth=reader).status_code == 403
    assert client.put(f"collection/VX-2/notification/{uri}", content="not even xml", headers=XML,
                      auth=reader).status_code == 403  # before the body is read
    assert text_list(client, "collection/VX-2/notification") == [uri]


# ------------------------------------------------------------------ faults

Probe = Callable[[httpx.Client], Any]


def _status(method: str, path: str, **kwargs: Any) -> Probe:
    return lambda client: client.request(method, path, **kwargs).status_code


def _as(user: str, method: str, path: str) -> Probe:
    return _status(method, path, content=HTTP_DOC, headers=XML, auth=(user, f"{user}-secret"))


def _created_then(then: Callable[[httpx.Client, str], Any], path: str = "item/notification",
                  body: str = HTTP_DOC) -> Probe:
    return lambda client: then(client, create(client, path, body))


def _root_tag(response: httpx.Response) -> str:
    return root(response).tag


def _stored_after_refusal(client: httpx.Client) -> tuple[int, int]:
    before = len(text_list(client, "job/VX-3/notification"))
    refused = client.post("job/VX-3/notification", json={"action": {"http": {"timeout": 5}},
                                                          "trigger": {"item": {"create": ""}}})
    return refused.status_code, len(text_list(client, "job/VX-3/notification")) - before


def _text_list_of_two_uses_crlf(client: httpx.Client) -> bool:
    create(client), create(client)
    return "\r\n" in client.get("item/notification", headers=AS_TEXT).text


def _change_persists(client: httpx.Client, uri: str) -> bool:
    assert client.put(f"item/notification/{uri}", json=NO_DEFAULTS).status_code == 200
    return "example.com" in client.get(f"item/notification/{uri}").text


NO_DEFAULTS = MINIMAL_JSON


def _stored_http(fields: dict[str, Any], name: str) -> Probe:
    """Create a JSON http action with `fields`; what `name` reads back as (JSON)."""
    def probe(client: httpx.Client) -> Any:
        body = {"action": {"http": {"url": "http://example.com/n", **fields}}, "trigger": {"item": {"create": ""}}}
        created = client.post("item/notification", json=body, headers=AS_TEXT)
        if created.status_code != 200:
            return created.status_code
        return client.get(f"item/notification/{created.text}", headers=AS_JSON).json()["action"]["http"].get(name)
    return probe


def _changed_then(then: Callable[[httpx.Client, str], Any], change: dict[str, Any]) -> Probe:
    def probe(client: httpx.Client) -> Any:
        uri = create(client)
        assert client.put(f"item/notification/{uri}", json=change).status_code == 200
        return then(client, uri)
    return probe


JS_OUT_OF_ORDER = (f'<NotificationDocument xmlns="{NS}"><action><javascript><retry>1</retry><script>x</script>'
                   '</javascript></action><trigger><item><create/></item></trigger></NotificationDocument>')
SYNCHRONOUS_AND_GROUP = {"action": {"http": {"url": "http://example.com/n", "synchronous": True, "group": "g"}},
                         "trigger": {"item": {"create": ""}}}
# fault -> (probe, what the clean server shows, what the faulty one shows)
FAULT_PROBES: dict[str, tuple[Probe, Any, Any]] = {
    "slash-404": (_status("GET", "item/notification/"), 200, 404),
    "create-text-status-500": (_status("POST", "item/notification", content=HTTP_DOC, headers={**XML, **AS_TEXT}),
                               200, 500),
    "create-201": (_status("POST", "item/notification", content=HTTP_DOC, headers=XML), 200, 201),
    "create-json-wrong-id": (lambda c: c.post("item/notification", content=HTTP_DOC, headers={**XML, **AS_JSON})
                             .json()["uri"][0] == text_list(c, "item/notification")[-1], True, False),
    "create-text-urilist": (lambda c: c.post("item/notification", content=HTTP_DOC, headers={**XML, **AS_TEXT})
                            .headers["content-type"], "text/plain;charset=UTF-8", "application/xml;charset=UTF-8"),
    "id-lowercase": (_created_then(lambda c, uri: bool(re.fullmatch(r"[A-Z]{2,}-\d+", uri))), True, False),
    "uri-full-url": (lambda c: root(c.post("item/notification", content=HTTP_DOC, headers=XML))[0].text
                     .startswith("http://"), False, True),
    "list-omits-newest": (_created_then(lambda c, uri: uri in c.get("item/notification").text), True, False),
    "list-text-lf": (_text_list_of_two_uses_crlf, True, False),
    "retrieve-drops-retry": (_created_then(lambda c, uri: "<retry>" in c.get(f"item/notification/{uri}").text),
                             True, False),
    "no-default-synchronous": (_created_then(lambda c, uri: "synchronous" in c.get(
        f"item/notification/{uri}", headers=AS_JSON).json()["action"]["http"]), True, False),
    "no-default-timeout": (lambda c: "timeout" in c.put(f"item/notification/{create(c)}", json=NO_DEFAULTS,
                                                        headers=AS_JSON).json()["action"]["http"], True, False),
    "change-204": (_created_then(lambda c, uri: c.put(f"item/notification/{uri}", content=HTTP_DOC,
                                                      headers=XML).status_code), 200, 204),
    "change-not-stored": (_created_then(_change_persists), True, False),
    "delete-one-204": (_created_then(lambda c, uri: c.delete(f"item/notification/{uri}").status_code), 200, 204),
    "delete-soft": (_created_then(lambda c, uri: (c.delete(f"item/notification/{uri}").status_code,
                                                  c.get(f"item/notification/{uri}").status_code,
                                                  uri in text_list(c, "item/notification"))),
                    (200, 404, False), (200, 200, False)),
    "delete-all-noop": (_created_then(lambda c, uri: (c.delete("item/notification").status_code,
                                                      uri in text_list(c, "item/notification"))),
                        (200, False), (200, True)),
    "unknown-id-500": (_created_then(lambda c, uri: (c.delete(f"item/notification/{uri}").status_code,
                                                     c.get(f"item/notification/{uri}").status_code,
                                                     c.get("item/notification/VX-999999").status_code)),
                       (200, 404, 404), (200, 404, 500)),
    "entity-unknown-200": (_status("GET", "item/VX-999999/notification"), 404, 200),
    "invalid-500": (lambda c: (c.post("item/notification", content="<x", headers=XML).status_code,
                               c.post("item/notification", json={"action": {"javascript": {}},
                                                                 "trigger": {"item": {"create": ""}}}).status_code),
                    (400, 400), (500, 400)),
    "invalid-stored": (_stored_after_refusal, (400, 0), (400, 1)),
    "client-required-accepted": (_status("POST", "item/notification", content=INVALID["ejb without method"][1],
                                         headers={"Content-Type": "application/json"}), 400, 200),
    "wrong-password-accepted": (_status("GET", "item/notification", auth=("admin", "wrong")), 401, 200),
    "empty-roles-read": (_as("norole", "GET", "item/notification"), 403, 200),
    "reader-may-write": (_as("reader", "POST", "item/notification"), 403, 200),
    "delete-all-read-role": (_as("reader", "DELETE", "quota/notification"), 403, 200),
    "forbidden-401": (lambda c: (lambda r: (r.status_code, r.content == b""))(
        c.get("item/notification", auth=("norole", "norole-secret"))), (403, False), (401, True)),
    "cross-entity-roles": (_as("single", "GET", "collection/notification"), 403, 200),
    "write-implies-read": (_as("writer", "GET", "item/notification"), 403, 200),
    "placeholder-any-role": (_as("single", "POST", "notification"), 403, 200),
    "json-body-415": (_status("POST", "item/notification", json=MINIMAL_JSON), 200, 415),
    "accept-ignored-json": (_created_then(lambda c, uri: c.get(f"item/notification/{uri}", headers=AS_JSON)
                                          .headers["content-type"]),
                            "application/json;charset=UTF-8", "application/xml;charset=UTF-8"),
    "json-empty-object-400": (_status("POST", "item/notification", json={**MINIMAL_JSON,
                                                                         "trigger": {"item": {"create": {}}}}),
                              200, 400),
    "scope-merged": (_created_then(lambda c, uri: uri in text_list(c, "item/notification"),
                                   "item/VX-1/notification"), False, True),
    "notification-xml-no-namespace": (_created_then(lambda c, uri: _root_tag(c.get(f"item/notification/{uri}"))),
                                      f"{{{NS}}}NotificationDocument", "NotificationDocument"),
    "list-xml-no-namespace": (lambda c: (_root_tag(c.get("item/notification")),
                                         _root_tag(c.post("item/notification", content=HTTP_DOC, headers=XML))),
                              (f"{{{NS}}}URIListDocument",) * 2, ("URIListDocument", f"{{{NS}}}URIListDocument")),
    "exception-no-namespace": (lambda c: _root_tag(c.get("item/notification/VX-999999")),
                               f"{{{NS}}}ExceptionDocument", "ExceptionDocument"),
    "json-notification-wrapped": (_created_then(lambda c, uri: list(c.get(f"item/notification/{uri}",
                                                                          headers=AS_JSON).json())),
                                  ["action", "trigger"], ["NotificationDocument"]),
    # bugs only generated input finds
    "gen-long-values-truncated": (lambda c: len(_stored_http({"extradata": "x" * 1500}, "extradata")(c)), 1500, 1000),
    "gen-latin1-storage": (_stored_http({"extradata": "日本 é"}, "extradata"), "日本 é", "?? é"),
    "gen-xml-order-strict": (_status("POST", "item/notification", content=JS_OUT_OF_ORDER, headers=XML), 200, 400),
    "gen-json-numbers-refused": (_stored_http({"retry": 3}, "retry"), "3", 400),
    "gen-url-percent-decoded": (_stored_http({"url": "http://example.com/%41%2F"}, "url"),
                                "http://example.com/%41%2F", "http://example.com/%41/"),
    "gen-retry-int16": (_stored_http({"retry": "40000"}, "retry"), "40000", "32767"),
    "gen-change-drops-group": (_changed_then(lambda c, uri: "group" in c.get(
        f"item/notification/{uri}", headers=AS_JSON).json()["action"]["http"], SYNCHRONOUS_AND_GROUP), True, False),
    "gen-change-lists-twice": (_changed_then(lambda c, uri: text_list(c, "item/notification").count(uri),
                                             MINIMAL_JSON), 1, 2),
    "gen-deleted-after-change-listed": (_changed_then(lambda c, uri: (c.delete(f"item/notification/{uri}").status_code,
                                                                      c.get(f"item/notification/{uri}").status_code,
                                                                      uri in text_list(c, "item/notification")),
                                                      MINIMAL_JSON), (200, 404, False), (200, 404, True)),
    "gen-change-answer-cached": (_changed_then(lambda c, uri: "group" in c.put(
        f"item/notification/{uri}", json=SYNCHRONOUS_AND_GROUP, headers=AS_JSON).json()["action"]["http"], MINIMAL_JSON),
        True, False),
    "json-urilist-key": (lambda c: (list(c.get("item/notification", headers=AS_JSON).json()),
                                    list(c.post("item/notification", json=MINIMAL_JSON, headers=AS_JSON).json())),
                         (["uri"], ["uri"]), (["uris"], ["uri"])),
}


def test_every_vidicore_fault_has_a_probe() -> None:
    # the job engine's faults (dlv-*) are probed in test_vidicore_jobs.py
    assert set(FAULT_PROBES) == {name for name, fault in FAULTS.items()
                                 if fault.protocol == "vidicore" and not name.startswith("dlv-")}


@pytest.mark.parametrize("fault", FAULT_PROBES)
def test_fault_visibly_changes_behaviour(client: httpx.Client, any_client: httpx.Client, fault: str) -> None:
    probe, clean, faulty = FAULT_PROBES[fault]
    assert probe(client) == clean, f"{fault} off"
    with start(faults=[fault]) as server:
        assert server.faults == {fault}
        any_client.base_url = server.urls["vidicore"] + "/"
        assert probe(any_client) == faulty, f"{fault} on"
