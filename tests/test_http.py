"""Tests for conformance.http: recording, redaction, curl lines, body caps and transport errors.

Every test but the last swaps the network through `HttpClient(transport=httpx.MockTransport(...))`;
the last one talks to a real local server (pytest-httpserver) that answers too slowly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
from werkzeug import Request as WerkzeugRequest
from werkzeug import Response as WerkzeugResponse

from conformance import http
from conformance.http import (
    EVIDENCE_BODY_LIMIT,
    REDACTED,
    Credentials,
    HttpClient,
    Recorder,
    Redactor,
    TransportError,
)

BASE = "http://target.invalid/API/"
PASSWORD = "s3cr3t-Pa55"
TOKEN = "tok-0123456789"

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with http.recording(Recorder()) as current:
        yield current


def client(handler: Handler, **options) -> HttpClient:
    options.setdefault("secrets", [PASSWORD, TOKEN])
    return HttpClient(BASE, transport=httpx.MockTransport(handler), **options)


def answer(status: int = 200, body: bytes = b"", **headers: str) -> Handler:
    return lambda request: httpx.Response(status, headers=headers, content=body)


def raising(exc: type[httpx.TransportError], message: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc(message, request=request)
    return handler


# --- recording ------------------------------------------------------------------------------------------


def test_exchange_is_recorded_into_the_current_recorder(recorder):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, headers={"Content-Type": "application/xml"}, content=b"<a/>")

    response = client(handler).request("POST", "/item/notification", content="<doc/>",
                                       headers={"Content-Type": "application/xml"}, label="create")

    assert [str(r.url) for r in seen] == ["http://target.invalid/API/item/notification"]
    assert seen[0].content == b"<doc/>"
    assert response.status == 201 and response.body == b"<a/>" and response.text == "<a/>"
    assert recorder.exchanges == [response.exchange]
    assert recorder.last() is response.exchange
    exchange = response.exchange
    assert (exchange.method, exchange.url, exchange.status) == (
        "POST", "http://target.invalid/API/item/notification", 201)
    assert exchange.request_body == "<doc/>" and exchange.response_body == "<a/>"
    assert exchange.request_headers["content-type"] == "application/xml"
    assert exchange.response_headers["content-type"] == "application/xml"
    assert exchange.error is None and exchange.elapsed >= 0
    rendered = recorder.render()
    assert rendered.startswith("> POST http://target.invalid/API/item/notification    [create]")
    assert "< 201" in rendered and "<doc/>" in rendered


def test_each_request_is_recorded_in_order_and_nothing_without_a_recorder(recorder):
    target = client(answer(204))
    target.request("GET", "a")
    target.request("DELETE", "http://elsewhere.invalid/b")
    assert [(e.method, e.url) for e in recorder.exchanges] == [
        ("GET", "http://target.invalid/API/a"), ("DELETE", "http://elsewhere.invalid/b")]
    with http.recording(None):
        target.request("GET", "c")  # no recorder: nothing is kept, nothing breaks
    assert len(recorder.exchanges) == 2


def test_no_cookie_is_replayed_on_later_requests():
    cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"})

    target = client(handler)
    target.request("GET", "login", credentials=Credentials("admin", PASSWORD))
    target.request("GET", "notification")  # must go out without credentials of any kind
    assert cookies == [None, None]


# --- redaction ------------------------------------------------------------------------------------------


def test_authorization_header_and_every_secret_are_redacted_everywhere(recorder):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Set-Cookie": "id=1", "X-Echo": TOKEN},
                              content=f"<echo>{PASSWORD} {TOKEN}</echo>".encode())

    response = client(handler).request(
        "PUT", f"notification/VX-1?token={TOKEN}", credentials=Credentials("admin", PASSWORD),
        headers={"X-Api-Key": TOKEN, "Cookie": "id=1"}, content=f"<doc>{PASSWORD}</doc>")

    exchange = response.exchange
    assert exchange.url == f"http://target.invalid/API/notification/VX-1?token={REDACTED}"
    assert exchange.request_headers["authorization"] == f"Basic {REDACTED}"
    assert exchange.request_headers["x-api-key"] == REDACTED
    assert exchange.request_headers["cookie"] == REDACTED
    assert exchange.request_body == f"<doc>{REDACTED}</doc>"
    assert exchange.response_headers["set-cookie"] == REDACTED
    assert exchange.response_headers["x-echo"] == REDACTED
    assert exchange.response_body == f"<echo>{REDACTED} {REDACTED}</echo>"
    basic = Credentials("admin", PASSWORD).header().partition(" ")[2]
    evidence = json.dumps(exchange.as_dict()) + recorder.render() + exchange.curl
    for secret in (PASSWORD, TOKEN, basic):
        assert secret not in evidence
    assert response.body == f"<echo>{PASSWORD} {TOKEN}</echo>".encode()  # the case sees the real answer


def test_secret_in_a_transport_error_is_redacted_in_message_and_evidence(recorder):
    target = client(raising(httpx.ConnectError, f"refused by proxy {TOKEN}"))
    with pytest.raises(TransportError) as caught:
        target.request("GET", "x")
    assert TOKEN not in str(caught.value) and REDACTED in str(caught.value)
    assert TOKEN not in recorder.render()


def test_aws_scheme_keeps_the_access_id_and_hides_the_signature(recorder):
    response = client(answer()).request("GET", "_rest_/job", headers={"Authorization": "AWS AKIDEXAMPLE:c2lnbmF0dXJl"})
    assert response.exchange.request_headers["authorization"] == f"AWS AKIDEXAMPLE:{REDACTED}"
    assert "c2lnbmF0dXJl" not in response.exchange.curl
    assert f"authorization: AWS AKIDEXAMPLE:{REDACTED}" in response.exchange.curl


@pytest.mark.parametrize(("value", "shown"), [
    ("AWS AKID:sig", f"AWS AKID:{REDACTED}"),
    ("aws AKID:sig", f"AWS AKID:{REDACTED}"),
    ("Bearer abc.def", f"Bearer {REDACTED}"),
    ("Basic YWRtaW46cHc=", f"Basic {REDACTED}"),
    ("opaque-token", REDACTED),
])
def test_redactor_sensitive_header_forms(value, shown):
    assert Redactor().headers({"Authorization": value}) == {"Authorization": shown}
    assert Redactor().headers({"Proxy-Authorization": value}) == {"Proxy-Authorization": shown}


def test_a_secret_key_field_is_redacted_known_or_not():
    """BlackPearl's user documents (the user lookup and the list the suite reads to find an Id) carry each user's
    SecretKey, also of users the target does not name: the field's value is never shown, XML or JSON."""
    redact = Redactor(["known"]).text
    assert redact("<Data><User><Name>a</Name><SecretKey>unknown-1</SecretKey></User></Data>") == \
        "<Data><User><Name>a</Name><SecretKey>***</SecretKey></User></Data>"
    assert redact('{"SecretKey": "un\\"known", "Name": "known"}') == '{"SecretKey": "***", "Name": "***"}'
    assert redact("a SecretKeyless text") == "a SecretKeyless text"


def test_redactor_replaces_longer_secrets_first_and_ignores_empty_ones():
    redactor = Redactor(["abc", "abcdef", ""])
    assert redactor.text("xx abcdef abc") == f"xx {REDACTED} {REDACTED}"
    assert redactor.headers({"Accept": "application/xml"}) == {"Accept": "application/xml"}


def test_redactor_with_thousands_of_signatures_replaces_exactly_what_trying_each_would():
    """Against Spectra every request adds its signature: the redactor finds the ones a value holds through its
    index, and the result is what replacing every secret, longest first, one after the other gives."""
    import base64
    import hashlib

    signatures = [base64.b64encode(hashlib.sha1(str(i).encode()).digest()).decode() for i in range(3000)]
    others = ["pass*word", "a-b", "short", "admin-secret", "YWRtaW46YWRtaW4tc2VjcmV0", "c2VjcmV0"]
    redactor = Redactor(others)
    for signature in signatures:
        redactor.add(signature)
    redactor.add(signatures[0])  # known already
    assert redactor.knows(signatures[1]) and not redactor.knows("c2VjcmV")
    order = redactor.secrets
    assert len(order) == len(signatures) + len(others) and [len(s) for s in order] == sorted(map(len, order))[::-1]

    def one_by_one(value: str) -> str:
        for secret in order:
            value = value.replace(secret, REDACTED)
        return value

    values = [f"GET /x?sig={signatures[7]}&k=YWRtaW46YWRtaW4tc2VjcmV0 {signatures[2999]}{signatures[5][:9]}",
              f"<a>{signatures[3]}{signatures[4]}</a> pass*word a-b shortc2VjcmV0 admin-secret",
              "x" * 3000 + signatures[11] + "=" * 40, "nothing secret here", "", "***",
              f"pass*{signatures[9]}word"]
    for value in values:
        assert redactor.text(value) == one_by_one(value), value
    assert signatures[7] not in redactor.text(values[0]) and redactor.text(values[3]) == values[3]


# --- curl lines -----------------------------------------------------------------------------------------


def test_curl_names_the_environment_variable_of_the_password():
    response = client(answer()).request("POST", "job/notification", content="<doc/>",
                                        credentials=Credentials("admin", PASSWORD, env="VIDICORE_PASSWORD"),
                                        headers={"Content-Type": "application/xml"})
    curl = response.exchange.curl
    assert curl.startswith("curl -sS -X POST http://target.invalid/API/job/notification")
    assert '-u "admin:$VIDICORE_PASSWORD"' in curl
    assert "-H 'content-type: application/xml'" in curl
    assert "--data-binary '<doc/>'" in curl
    assert PASSWORD not in curl and "authorization" not in curl.lower()


def test_curl_hides_a_secret_password_without_env():
    curl = client(answer()).request("GET", "x", credentials=Credentials("admin", PASSWORD)).exchange.curl
    assert f"-u 'admin:{REDACTED}'" in curl
    assert PASSWORD not in curl


def test_curl_never_shows_a_secret_anywhere():
    response = client(answer()).request(
        "PUT", f"x?key={TOKEN}", credentials=Credentials("admin", PASSWORD, env="PW"),
        headers={"X-Api-Key": TOKEN}, content=f"{{\"password\": \"{PASSWORD}\"}}")
    curl = response.exchange.curl
    assert PASSWORD not in curl and TOKEN not in curl
    assert curl.count(REDACTED) == 3  # url, header, body


# --- bodies ---------------------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_naming_the_limit(recorder):
    target = client(answer(body=b"x" * 101), max_body_bytes=100)
    with pytest.raises(TransportError, match=r"^GET http://target.invalid/API/big: .*larger than 100 bytes"):
        target.request("GET", "big")
    assert "100 bytes" in recorder.last().error and recorder.last().status is None
    assert client(answer(body=b"x" * 100), max_body_bytes=100).request("GET", "ok").body == b"x" * 100


def test_evidence_bodies_are_truncated_but_the_answer_is_not():
    body = "é" * (EVIDENCE_BODY_LIMIT + 10)  # characters, not bytes, are counted
    response = client(answer(body=body.encode())).request("POST", "x", content=body)
    for evidence in (response.exchange.request_body, response.exchange.response_body):
        assert evidence.startswith("é" * EVIDENCE_BODY_LIMIT)
        assert evidence.endswith("(10 more characters)")
        assert len(evidence) < EVIDENCE_BODY_LIMIT + 40
    assert response.text == body
    short = client(answer(body=b"short")).request("GET", "x")
    assert short.exchange.response_body == "short"


def test_a_secret_cut_by_the_evidence_limit_does_not_leak_its_start():
    body = "a" * (EVIDENCE_BODY_LIMIT - 4) + PASSWORD
    evidence = client(answer(body=body.encode())).request("GET", "x").exchange.response_body
    assert PASSWORD[:4] not in evidence


@pytest.mark.parametrize(("content_type", "media_type"), [
    ("application/xml", "application/xml"),
    ("Application/JSON; charset=UTF-8", "application/json"),
    ("text/plain ;charset=utf-8", "text/plain"),
    (None, ""),
])
def test_media_type_strips_parameters_and_lower_cases(content_type, media_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client(lambda request: httpx.Response(200, headers=headers)).request("GET", "x")
    assert response.media_type == media_type


# --- transport errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("exc", "message", "expected"), [
    (httpx.ConnectError, "[Errno 111] Connection refused", "ConnectError: [Errno 111] Connection refused"),
    (httpx.ConnectError, "refused\n  by the\nfirewall", "ConnectError: refused by the firewall"),
    (httpx.ConnectError, "", "ConnectError"),
    (httpx.ReadTimeout, "The read operation timed out", "timed out after 0.5 s"),
    (httpx.ConnectTimeout, "", "timed out after 0.5 s"),
    (httpx.RemoteProtocolError, "Server disconnected", "RemoteProtocolError: Server disconnected"),
])
def test_transport_failures_become_one_line_transport_errors(recorder, exc, message, expected):
    target = client(raising(exc, message), timeout=0.5)
    with pytest.raises(TransportError) as caught:
        target.request("DELETE", "notification/VX-9")
    text = str(caught.value)
    assert text == f"DELETE http://target.invalid/API/notification/VX-9: {expected}"
    assert "\n" not in text
    exchange = recorder.last()
    assert exchange.error == expected and exchange.status is None
    assert "< no answer after" in exchange.render()


def test_credentials_header_is_basic():
    assert Credentials("admin", "pw").header() == "Basic YWRtaW46cHc="
    assert "pw" not in repr(Credentials("admin", "pw"))


def test_url_joins_paths_and_keeps_absolute_urls():
    target = HttpClient("http://h.invalid/API///")
    assert target.url("item/notification") == "http://h.invalid/API/item/notification"
    assert target.url("/item/notification/") == "http://h.invalid/API/item/notification/"
    assert target.url("https://other.invalid/x") == "https://other.invalid/x"
    target.close()


# --- a real server --------------------------------------------------------------------------------------


def test_a_slow_real_server_times_out(httpserver, recorder):
    release = threading.Event()

    def slow(request: WerkzeugRequest) -> WerkzeugResponse:
        release.wait(timeout=5)  # answers only once the test is done with it
        return WerkzeugResponse("late")

    httpserver.expect_request("/API/slow").respond_with_handler(slow)
    target = HttpClient(httpserver.url_for("/API"), timeout=0.2)
    try:
        with pytest.raises(TransportError, match=r"^GET http://.+/API/slow: timed out after 0\.2 s$"):
            target.request("GET", "slow")
    finally:
        release.set()
        target.close()
    assert recorder.last().error == "timed out after 0.2 s"
    assert 0.15 < recorder.last().elapsed < 2


def test_a_body_trickled_a_byte_at_a_time_is_cut_at_the_timeout(recorder):
    """Each read arrives within the per-read timeout; the exchange as a whole still ends at its timeout."""
    class Trickle(httpx.SyncByteStream):
        def __iter__(self):
            for _ in range(100):
                threading.Event().wait(0.05)  # the server's pace, not the suite's: a byte every 50 ms
                yield b"x"

    target = client(lambda request: httpx.Response(200, stream=Trickle()), timeout=0.5)
    with pytest.raises(TransportError, match=r"timed out after 0\.5 s"):
        target.request("GET", "slow")
    assert recorder.last().error == "timed out after 0.5 s" and recorder.last().elapsed < 2.0


@pytest.mark.parametrize("path", ["http://[::1", "x\x00y"])
def test_a_path_no_request_can_be_made_of_is_a_transport_error(path):
    with pytest.raises(TransportError, match="not a request"):
        client(answer()).request("GET", path)


def test_an_answer_echoing_the_basic_credential_is_redacted(recorder):
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, content=f"bad header: {request.headers['authorization']}".encode())

    response = client(echo).request("GET", "x", credentials=Credentials("admin", PASSWORD))
    basic = Credentials("admin", PASSWORD).header().partition(" ")[2]
    assert basic not in response.exchange.response_body and basic not in recorder.render()


def test_the_breaker_opens_after_requests_in_a_row_without_an_answer_and_sends_nothing_more(recorder):
    calls = []

    def dead(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ConnectError("connection refused", request=request)

    c = client(dead, stop_after=3)
    for _ in range(3):
        with pytest.raises(TransportError, match="connection refused"):
            c.request("GET", "item")
    assert c.stopped == ("the target stopped answering after 3 requests (3 in a row got no answer; the last: "
                         "ConnectError: connection refused)")
    with pytest.raises(TransportError, match="stopped answering after 3 requests"):
        c.request("GET", "item/VX-1")
    assert len(calls) == 3 and c.sent == 3  # the fourth never went on the wire
    assert recorder.last().error.startswith("not sent: the target stopped answering")


def test_an_answer_of_any_status_closes_the_count(recorder):
    answers = iter([None, None, 500, None, None, 200, None, None])

    def flaky(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status is None:
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(status)

    c = client(flaky, stop_after=3)
    for _ in range(8):
        try:
            c.request("GET", "item")
        except TransportError:
            pass
    assert c.stopped is None  # never three in a row


def test_a_compressed_answer_is_inflated_under_the_cap_and_a_bomb_is_refused(recorder, httpserver):
    """On the wire (a real server): gzip and deflate are inflated at most to the body cap; a gzip bomb, an encoding
    not asked for and a body that is not what it says are refused with one line, and none stops the target."""
    import gzip
    import zlib

    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MB of zeros in about 64 kB
    bodies = {"ok": (gzip.compress(b"<a>fine</a>"), "gzip"), "raw": (zlib.compress(b"{}")[2:-4], "deflate"),
              "bomb": (bomb, "gzip"), "br": (b"\x0b\x01\x80", "br"), "junk": (b"not gzip at all", "gzip")}
    for name, (body, encoding) in bodies.items():
        httpserver.expect_request(f"/API/{name}", headers={"Accept-Encoding": "gzip, deflate"}).respond_with_data(
            body, headers={"Content-Encoding": encoding})
    c = HttpClient(httpserver.url_for("/API/"), max_body_bytes=1 << 20)
    assert c.request("GET", "ok").body == b"<a>fine</a>"
    assert c.request("GET", "raw").body == b"{}"
    with pytest.raises(TransportError, match="larger than 1048576 bytes once inflated from gzip"):
        c.request("GET", "bomb")
    with pytest.raises(TransportError, match="content encoding 'br', which was not asked for"):
        c.request("GET", "br")
    with pytest.raises(TransportError, match="not valid gzip"):
        c.request("GET", "junk")
    assert c.stopped is None  # each was an answer, however bad
    c.close()


def test_a_status_line_trickled_within_each_read_timeout_still_ends_at_the_deadline(recorder):
    """One byte of the status line every 0.1 s keeps each read under a 0.5 s timeout; the exchange as a whole
    still ends at 0.5 s (its connection is closed), and the client keeps working for the next request."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                    if stop.wait(0.1):
                        return
                    try:
                        conn.send(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    target = HttpClient(f"http://127.0.0.1:{listener.getsockname()[1]}/API", timeout=0.5)
    try:
        with pytest.raises(TransportError, match="timed out after 0.5 s"):  # each read alone never times out
            target.request("GET", "trickle")
        assert recorder.last().error == "timed out after 0.5 s"
        with pytest.raises(TransportError, match="timed out after 0.5 s"):
            target.request("GET", "again")  # a new connection: the closed pool still sends
    finally:
        stop.set()
        listener.close()
        target.close()


def test_an_s3_signature_echoed_in_an_answer_is_redacted_in_the_evidence(recorder):
    signature = "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"<Error><Message>bad {request.headers['authorization']}</Message></Error>")

    c = client(echo)
    c.request("GET", "x", headers={"Authorization": f"AWS AKIAEXAMPLE:{signature}"})
    assert signature not in recorder.last().response_body and REDACTED in recorder.last().response_body


def test_the_watchdog_runs_each_alarm_at_its_deadline_and_never_a_cancelled_one():
    from conformance.http import Watchdog

    watchdog = Watchdog()
    rang: list[str] = []
    done = threading.Event()
    late = watchdog.arm(0.3, lambda: (rang.append("late"), done.set()))
    cancelled = watchdog.arm(0.05, lambda: rang.append("cancelled"))
    early = watchdog.arm(0.1, lambda: rang.append("early"))  # earlier than `late`: wakes the watchdog sooner
    cancelled.cancel()
    assert done.wait(5)
    assert rang == ["early", "late"] and not early.cancelled and not late.cancelled


def test_the_identity_headers_are_kept_distinct_redacted_and_capped():
    """`Server`, `X-Powered-By`, `Via` of every answer (any status), each distinct value once; a secret echoed
    there is redacted; a server answering with a new value each time keeps at most IDENTITY_VALUES of them."""
    served = iter(range(100))

    def handler(request: httpx.Request) -> httpx.Response:
        n = next(served)
        headers = [("Server", "VidiCore/5.7" if n < 3 else f"build-{n}"), ("Via", "1.1 proxy"),
                   ("Via", f"1.1 edge ({PASSWORD})")]
        return httpx.Response(404 if n % 2 else 200, headers=headers)

    target = client(handler)
    assert target.identity == {}
    for _ in range(3):
        target.request("GET", "item/notification")
    assert target.identity == {"Server": ["VidiCore/5.7"], "Via": ["1.1 proxy", f"1.1 edge ({REDACTED})"]}
    for _ in range(40):
        target.request("GET", "item/notification")
    assert len(target.identity["Server"]) == http.IDENTITY_VALUES and "X-Powered-By" not in target.identity
