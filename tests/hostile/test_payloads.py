"""The hostile server's payloads are real attacks: a naive reader would fall for each (so the suite's passing the
hostile tests means something), and the proxy is faithful until it switches."""

from __future__ import annotations

import io
import json
import xml.sax
import zlib

import httpx
import pytest

from .server import BEHAVIOURS, BILLION_LAUGHS, GZIP_CHUNK, GZIP_CHUNKS, JSON_DEPTH_BOMB, XML_DEPTH_BOMB, \
    Elsewhere, HostileProxy, gzip_bomb, gzip_bomb_nested, xxe

pytestmark = pytest.mark.hostile


def test_there_are_at_least_18_misbehaviours():
    assert len(BEHAVIOURS) >= 18


def test_the_external_entity_reads_the_local_file_in_a_naive_parser(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-naive")
    seen = []

    class Text(xml.sax.ContentHandler):
        def characters(self, content):
            seen.append(content)

    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, True)
    parser.setContentHandler(Text())
    parser.parse(io.BytesIO(xxe(str(secret))))
    assert "CANARY-naive" in "".join(seen)


def test_the_bombs_are_what_they_say():
    assert BILLION_LAUGHS.count(b"<!ENTITY") == 10 and b"&lol9;" in BILLION_LAUGHS
    assert XML_DEPTH_BOMB.count(b"<a>") == 100_000 and len(XML_DEPTH_BOMB) < 1 << 20
    with pytest.raises(RecursionError):
        json.loads(JSON_DEPTH_BOMB)
    bomb = gzip_bomb()
    assert len(bomb) < 1 << 20 and zlib.decompress(gzip_bomb_nested(), 31) == bomb
    decoder = zlib.decompressobj(31)
    assert decoder.decompress(bomb, 1 << 20) == bytes(1 << 20)  # zeros, and a gzip trailer naming 1.0 GB:
    assert int.from_bytes(bomb[-4:], "little") == (GZIP_CHUNK * GZIP_CHUNKS) & 0xFFFFFFFF


def test_the_proxy_forwards_faithfully_then_misbehaves():
    upstream = Elsewhere().start()  # answers 200 to everything
    try:
        with HostileProxy(upstream.url, "status-500", after=2) as proxy, httpx.Client() as client:
            codes = [client.get(f"{proxy.url}/x/{n}", headers={"Authorization": "Basic c2VjcmV0"}).status_code
                     for n in range(4)]
        assert codes == [200, 200, 500, 500]
        assert [seen.mode for seen in proxy.log] == ["faithful", "faithful", "status-500", "status-500"]
        assert proxy.authorizations == {"Basic c2VjcmV0"}
        assert len(upstream.received) == 2 and b"GET /x/1 HTTP/1.1" in upstream.received[1]
    finally:
        upstream.stop()
