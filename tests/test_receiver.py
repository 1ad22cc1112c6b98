"""The callback receiver, over real HTTP on loopback: attribution, waiting, scripts, strays, caps, evidence."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import httpx
import pytest

from conformance.http import Redactor
from conformance.receiver import Answer, Delivery, Receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as http:
        yield http


def post_when(go: threading.Event, client: httpx.Client, url: str, body: bytes = b"<x/>") -> threading.Thread:
    """A thread that posts once `go` is set (set it just before starting to wait)."""
    def run() -> None:
        go.wait(5)
        client.post(url, content=body)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_each_mailbox_gets_only_its_own_deliveries(receiver, client):
    first, second = receiver.mailbox("job finished/xml"), receiver.mailbox("job finished/xml")
    assert first.url == receiver.public_base + first.path
    assert first.path.startswith(f"/cb/{receiver.token}/") and first.path.endswith("-job-finished-xml")
    assert first.path != second.path
    before = receiver.total
    urls = [first.url] * 6 + [second.url] * 4
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: client.post(urls[i], content=f"n={i}".encode()).status_code,
                                 range(len(urls))))
    assert statuses == [200] * 10
    assert len(first.wait_for(6, within=5)) == 6
    assert len(second.wait_for(4, within=5)) == 4
    assert {d.body for d in first.deliveries} == {f"n={i}".encode() for i in range(6)}
    assert {d.body for d in second.deliveries} == {f"n={i}".encode() for i in range(6, 10)}
    assert all(d.path == second.path for d in second.deliveries)
    assert receiver.total - before == 10


def test_delivery_records_the_request(receiver, client):
    box = receiver.mailbox("record")
    client.put(box.url + "?a=1&b=2", content=b'{"k": 1}',
               headers={"Content-Type": "Application/JSON; charset=utf-8", "X-Extra": "yes"})
    (got,) = box.wait_for(1, within=5)
    assert (got.method, got.path, got.query, got.body) == ("PUT", box.path, "a=1&b=2", b'{"k": 1}')
    assert got.header("x-extra") == got.header("X-EXTRA") == "yes" and got.header("absent") is None
    assert got.media_type == "application/json"
    assert (got.answer_status, got.answer_delay, got.truncated) == (200, 0.0, False)
    assert got.arrived <= time.monotonic() and abs(got.arrived_wall - time.time()) < 5


def test_wait_for_wakes_on_arrival_not_at_the_deadline(receiver, client):
    box = receiver.mailbox("prompt")
    go = threading.Event()
    sender = post_when(go, client, box.url)
    started = time.monotonic()
    go.set()
    got = box.wait_for(1, within=5)
    elapsed = time.monotonic() - started
    sender.join()
    assert len(got) == 1 and elapsed < 1.0
    assert receiver.latencies and receiver.latencies[-1] < 1.0


def test_wait_for_returns_what_arrived_at_the_deadline(receiver, client):
    box = receiver.mailbox("short")
    client.post(box.url, content=b"one")
    started = time.monotonic()
    got = box.wait_for(2, within=0.2)
    assert [d.body for d in got] == [b"one"] and 0.2 <= time.monotonic() - started < 1.5


def test_wait_for_counts_only_matching_deliveries(receiver, client):
    box = receiver.mailbox("where")
    for body in (b"job-1", b"job-2", b"job-1"):
        client.post(box.url, content=body)
    got = box.wait_for(2, within=5, where=lambda d: d.body == b"job-1")
    assert [d.body for d in got] == [b"job-1", b"job-1"]
    assert [d.body for d in box.wait_for(2, within=0.05, where=lambda d: d.body == b"job-2")] == [b"job-2"]


def test_quiet_watches_the_window_and_returns_everything_the_path_received(receiver, client):
    box = receiver.mailbox("quiet")
    assert box.quiet(within=0.05) == []
    client.post(box.url, content=b"before")
    box.wait_for(1, within=5)
    started = time.monotonic()
    assert [d.body for d in box.quiet(within=0.1)] == [b"before"]  # an early arrival is not missed
    assert time.monotonic() - started >= 0.1
    go = threading.Event()
    sender = post_when(go, client, box.url, b"during")
    go.set()
    got = box.quiet(within=0.3)
    sender.join()
    assert [d.body for d in got] == [b"before", b"during"]
    assert box.quiet(within=0.05, where=lambda d: d.body == b"nothing") == []


def test_script_fails_n_times_then_answers_200(receiver, client):
    box = receiver.mailbox("retry")
    box.script(*Answer.fail(2, status=503), Answer(status=202, body=b"taken"))
    answers = [client.post(box.url, content=b"x") for _ in range(4)]
    assert [(a.status_code, a.content) for a in answers] == [(503, b""), (503, b""), (202, b"taken"), (200, b"")]
    assert [d.answer_status for d in box.deliveries] == [503, 503, 202, 200]
    assert Answer.fail(3) == [Answer(status=500)] * 3


def test_a_delayed_answer_is_observed_by_the_client_and_the_waiter_wakes_before_it(receiver, client):
    box = receiver.mailbox("slow")
    box.script(Answer(status=201, delay=0.3))
    answered: list[tuple[int, float]] = []

    def send() -> None:
        started = time.monotonic()
        answered.append((client.post(box.url, content=b"x").status_code, time.monotonic() - started))

    sender = threading.Thread(target=send)
    sender.start()
    (got,) = box.wait_for(1, within=5)
    assert not answered  # the delivery is recorded on arrival, the answer is still being delayed
    sender.join()
    assert answered[0][0] == 201 and answered[0][1] >= 0.3
    assert (got.answer_status, got.answer_delay) == (201, 0.3)


def test_concurrent_deliveries_while_one_answer_is_delayed_and_stop_releases_it(client):
    receiver = Receiver()
    receiver.start()
    slow, fast = receiver.mailbox("slow"), receiver.mailbox("fast")
    slow.script(Answer(status=504, delay=60))
    with ThreadPoolExecutor(4) as pool:
        delayed = pool.submit(client.post, slow.url, content=b"slow")
        assert len(slow.wait_for(1, within=5)) == 1
        others = [pool.submit(client.post, fast.url, content=b"fast") for _ in range(5)]
        assert [f.result(timeout=5).status_code for f in others] == [200] * 5
        assert not delayed.done()
        waiter = pool.submit(fast.wait_for, 99, 60)
        started = time.monotonic()
        receiver.stop()
        assert delayed.result(timeout=5).status_code == 504
        assert len(waiter.result(timeout=5)) == 5
    assert time.monotonic() - started < 2
    receiver.stop()  # twice is harmless


def test_strays_and_late_deliveries_are_never_attributed(receiver, client):
    box, other = receiver.mailbox("ended"), receiver.mailbox("other")
    client.post(box.url, content=b"in time")
    box.wait_for(1, within=5)
    strays_before, total_before = len(receiver.strays), receiver.total
    box.close()
    assert client.post(box.url, content=b"late").status_code == 200
    assert client.get(receiver.public_base + "/somewhere/else?x=1").status_code == 404
    assert client.post(receiver.public_base + f"/cb/{receiver.token}/999-nobody").status_code == 404
    new = receiver.strays[strays_before:]
    assert [(s.path, s.label, s.late) for s in new] == [
        (box.path, "ended", True), ("/somewhere/else?x=1", None, False),
        (f"/cb/{receiver.token}/999-nobody", None, False)]
    assert "late" in str(new[0]) and "no mailbox" in str(new[1])
    assert [d.body for d in box.deliveries] == [b"in time"] and other.deliveries == []
    assert receiver.total - total_before == 3


def test_multiplier_scales_every_deadline():
    receiver = Receiver(multiplier=0.1, public_url="http://receiver.test:1")  # never started: nothing arrives
    box = receiver.mailbox("scaled")
    started = time.monotonic()
    assert box.quiet(within=2.0) == [] and box.wait_for(1, within=2.0) == []
    assert 0.4 <= time.monotonic() - started < 1.5


def test_public_url_names_the_mailboxes_and_its_path_prefix_is_tolerated(client):
    with Receiver(public_url="http://gateway.example:9000/hooks/") as receiver:
        box = receiver.mailbox("proxied")
        assert receiver.public_base == "http://gateway.example:9000/hooks"
        assert box.url == f"http://gateway.example:9000/hooks/cb/{receiver.token}/1-proxied"
        local = f"http://127.0.0.1:{receiver.port}"
        client.post(local + box.path, content=b"stripped by the proxy")
        client.post(local + "/hooks" + box.path + "/", content=b"passed on as is")
        assert [d.body for d in box.wait_for(2, within=5)] == [b"stripped by the proxy", b"passed on as is"]
    assert Receiver(port=8123).public_base == "http://127.0.0.1:8123"
    assert Receiver(host="::1", port=8123).public_base == "http://[::1]:8123"
    with pytest.raises(RuntimeError):
        Receiver().mailbox("no port yet")


def test_bodies_are_capped(client):
    with Receiver(max_body_bytes=1000, max_stored_bytes=1500) as receiver:
        box = receiver.mailbox("big")
        assert client.post(box.url, content=b"a" * 5000).status_code == 200
        client.post(box.url, content=iter([b"b" * 700] * 3))  # chunked, no Content-Length
        client.post(box.url, content=b"c" * 10)  # the run's budget is spent
        first, chunked, late = box.wait_for(3, within=5)
        assert (first.body, first.truncated) == (b"a" * 1000, True)
        assert (chunked.body, chunked.truncated) == (b"b" * 500, True)
        assert (late.body, late.truncated) == (b"", True)
        assert "truncated at receipt" in box.render()


def test_render_shows_each_request_and_its_answer(receiver, client):
    box = receiver.mailbox("evidence")
    assert box.render() == "(no request arrived)"
    box.script(Answer(status=500, delay=0.01))
    client.post(box.url + "?q=1", content=b"<doc>\xff</doc>", headers={"Content-Type": "application/xml"})
    client.post(box.url, content=b"x" * 20_000)
    box.wait_for(2, within=5)
    first, second = box.render().split("\n\n> ")
    assert first.startswith(f"> POST {box.path}?q=1    [arrived 20")
    assert "> Content-Type: application/xml" in first and "<doc>\ufffd</doc>" in first
    assert first.endswith("< 500 after a 10 ms delay")
    assert "… (3616 more characters)" in second and second.endswith("< 200")


def test_render_redacts_header_values_and_bodies(client):
    secret = "s3cret-Passw0rd"
    with Receiver(redact=Redactor([secret]).text) as receiver:
        box = receiver.mailbox("secrets")
        client.post(box.url + f"?token={secret}", content=f"<password>{secret}</password>".encode(),
                    headers={"X-Token": secret, "Authorization": "Basic dXNlcjpwYXNz"})
        box.wait_for(1, within=5)
        shown = box.render()
        assert secret not in shown and "dXNlcjpwYXNz" not in shown
        assert "> X-Token: ***" in shown and "> Authorization: Basic ***" in shown and "<password>***" in shown
        assert "REDACTED" in box.render(redact=lambda text: text.replace(secret, "REDACTED"))
        box.close()
        client.post(box.url + f"?token={secret}")
        assert secret not in str(receiver.strays[-1])


def test_wake_latency_over_200_deliveries(receiver):
    """The figure the run reports: arrival to the waiting case running again."""
    box = receiver.mailbox("latency")
    go, done = threading.Event(), threading.Event()
    before = len(receiver.latencies)

    def send() -> None:
        with httpx.Client(trust_env=False, timeout=10) as own:
            while go.wait(5) and not done.is_set():
                go.clear()
                own.post(box.url, content=b"<x/>")

    sender = threading.Thread(target=send)
    sender.start()
    for n in range(1, 201):
        go.set()
        assert len(box.wait_for(n, within=5)) == n
    done.set()
    go.set()
    sender.join()
    latencies = sorted(receiver.latencies[before:])
    assert len(latencies) >= 150  # a few may land before the wait starts: those are not wakes
    median, worst = statistics.median(latencies), latencies[-1]
    print(f"wake latency over {len(latencies)} deliveries: median {median * 1000:.2f} ms, worst {worst * 1000:.2f} ms")
    assert median < 0.05


def test_delivery_is_a_frozen_value():
    delivery = Delivery("POST", "/cb/t/1-x", "", {"Content-Type": "text/xml"}, b"", 0.0, 0.0, 200, 0.0)
    assert delivery.media_type == "text/xml"
    with pytest.raises(AttributeError):
        delivery.method = "PUT"  # type: ignore[misc]


def test_quiet_ends_as_soon_as_the_server_says_nothing_more_can_come(client):
    """The embedded reference server knows when it is idle: a "nothing more arrives" window ends then, and what
    did arrive is still returned."""
    asked: list[float] = []

    def settled(timeout: float) -> bool:
        asked.append(timeout)
        return True

    with Receiver(settled=settled, multiplier=2.0) as receiver:
        box = receiver.mailbox("settled")
        client.post(box.url, content=b"<early/>")
        started = time.monotonic()
        got = box.quiet(within=30.0)
        assert time.monotonic() - started < 5.0
        assert [d.body for d in got] == [b"<early/>"] and asked == [60.0]  # the window, scaled


def test_quiet_against_a_busy_server_waits_the_window_once(client):
    """If the server stays busy the whole window, the window is not waited a second time."""
    with Receiver(settled=lambda timeout: threading.Event().wait(timeout)) as receiver:
        box = receiver.mailbox("busy")
        started = time.monotonic()
        assert box.quiet(within=1.0) == []
        elapsed = time.monotonic() - started
        assert 0.95 <= elapsed < 1.9  # waiting it twice would be 2 s


def test_a_wait_for_deliveries_ends_when_the_server_says_nothing_more_can_come(client):
    """A server that does not deliver (a defect) costs no deadline when it can say it is idle; a server that is
    still busy keeps the waiter waiting, and an arrival still wakes it at once."""
    idle = threading.Event()
    with Receiver(settled=lambda timeout: idle.is_set()) as receiver:
        box = receiver.mailbox("settling")
        threading.Timer(0.2, client.post, args=(box.url,), kwargs={"content": b"<one/>"}).start()
        started = time.monotonic()
        assert [d.body for d in box.wait_for(1, within=10.0)] == [b"<one/>"]  # busy: it waits for the arrival
        assert time.monotonic() - started < 5.0
        idle.set()
        started = time.monotonic()
        assert [d.body for d in box.wait_for(2, within=10.0)] == [b"<one/>"]  # idle: what came is all
        assert time.monotonic() - started < 5.0


def test_a_port_in_use_is_an_oserror_not_an_exit():
    with Receiver() as first:
        second = Receiver(port=first.port)
        with pytest.raises(OSError, match="cannot listen"):
            second.start()


def test_a_receiver_beside_refuses_until_it_resumes_and_keeps_its_port_and_mailboxes(receiver, client):
    side = receiver.beside()
    try:
        box = side.mailbox("switch")
        assert box.url.startswith(f"http://127.0.0.1:{side.port}/cb/") and side.port != receiver.port
        assert not side.listening
        with pytest.raises(httpx.ConnectError):  # held, not listening: refused at once
            client.post(box.url, content=b"refused")
        side.resume()
        box.script(Answer(status=500))
        assert [client.post(box.url, content=b"one").status_code, client.post(box.url, content=b"two").status_code] \
            == [500, 200]
        side.pause()
        with pytest.raises(httpx.ConnectError):
            client.post(box.url, content=b"refused again")
        side.resume()
        assert client.post(box.url, content=b"three").status_code == 200
        assert [d.body for d in box.deliveries] == [b"one", b"two", b"three"]
        before = receiver.total
        assert side.total == 3 and before >= 3  # its figures count in the receiver it was made beside
    finally:
        side.stop()
    with pytest.raises(httpx.ConnectError):
        client.post(box.url, content=b"stopped")


def test_a_receiver_beside_is_reached_at_the_public_host(client):
    with Receiver(public_url="http://gateway.example:9000/hooks/") as receiver:
        side = receiver.beside()
        try:
            assert side.public_base == f"http://gateway.example:{side.port}"  # same host, its own port, no prefix
        finally:
            side.stop()
