"""Tests for conformance.spectra.signing: the S3 v2 string to sign, the signature, and SpectraAuth on httpx.

The worked examples are Amazon's, from "Signing and authenticating REST requests (AWS signature version 2)",
section "Authentication examples", as published in awsdocs/amazon-s3-userguide,
doc_source/RESTAuthentication.md (commit 3e8e42ad73d9f2536ce387b8dc71fde3033fd2b1): request parts, the
printed StringToSign and the printed signature. (Older editions of that page, with the bucket "johnsmith",
print other signatures for other strings; an intermediate edition printed the johnsmith signatures next to
awsexamplebucket1 strings, which do not verify. Every example below verifies.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import httpx
import pytest

from conformance.http import REDACTED, HttpClient
from conformance.spectra.signing import (
    SpectraAuth,
    canonical_amz_headers,
    http_date,
    signature,
    string_to_sign,
    wire_path,
)

ACCESS_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

UPLOAD_HEADERS = [  # the Upload example's request headers, as sent
    ("User-Agent", "curl/7.15.5"),
    ("Date", "Tue, 27 Mar 2007 21:06:08 +0000"),
    ("x-amz-acl", "public-read"),
    ("content-type", "application/x-download"),
    ("Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="),
    ("X-Amz-Meta-ReviewedBy", "joe@awsexamplebucket1.net"),
    ("X-Amz-Meta-ReviewedBy", "jane@awsexamplebucket1.net"),
    ("X-Amz-Meta-FileChecksum", "0x02661779"),
    ("X-Amz-Meta-ChecksumAlgorithm", "crc32"),
    ("Content-Disposition", "attachment; filename=database.dat"),
    ("Content-Encoding", "gzip"),
    ("Content-Length", "5913339"),
]

# name: (method, path, date, keyword parts, published StringToSign, published signature)
AWS_EXAMPLES = {
    "object-get": (
        "GET", "/awsexamplebucket1/photos/puppy.jpg", "Tue, 27 Mar 2007 19:36:42 +0000", {},
        "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg",
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="),
    "object-put": (
        "PUT", "/awsexamplebucket1/photos/puppy.jpg", "Tue, 27 Mar 2007 21:15:45 +0000",
        {"content_type": "image/jpeg"},
        "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/awsexamplebucket1/photos/puppy.jpg",
        "iqRzw+ileNPu1fhspnRs8nOjjIA="),
    "list": (  # the query string is not signed
        "GET", "/awsexamplebucket1/?prefix=photos&max-keys=50&marker=puppy", "Tue, 27 Mar 2007 19:42:41 +0000", {},
        "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/awsexamplebucket1/",
        "m0WP8eCtspQl5Ahe6L1SozdX9YA="),
    "upload": (  # x-amz-* headers sorted, lower-cased, repeated names joined; other headers ignored
        "PUT", "/static.awsexamplebucket1.net/db-backup.dat.gz", "Tue, 27 Mar 2007 21:06:08 +0000",
        {"content_md5": "4gJE4saaMU4BqNR0kLY+lw==", "content_type": "application/x-download",
         "amz_headers": UPLOAD_HEADERS},
        "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n"
        "x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n"
        "x-amz-meta-reviewedby:joe@awsexamplebucket1.net,jane@awsexamplebucket1.net\n"
        "/static.awsexamplebucket1.net/db-backup.dat.gz",
        "dKZcB+bz2EPXgSdXZp9ozGeOM4I="),
    "list-all-my-buckets": (
        "GET", "/", "Wed, 28 Mar 2007 01:29:59 +0000", {},
        "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
        "qGdzdERIC03wnaRNKh6OqZehG9s="),
    "unicode-keys": (  # the path as sent: percent-encoding and its letter case kept literally
        "GET", "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", "Wed, 28 Mar 2007 01:49:49 +0000", {},
        "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
        "DNEZGsoieTZ92F3bUfSPQcbGmlM="),
}


@pytest.mark.parametrize("name", sorted(AWS_EXAMPLES))
def test_aws_worked_examples(name: str):
    method, path, date, parts, published_string, published_signature = AWS_EXAMPLES[name]
    built = string_to_sign(method, path, date, **parts)
    assert built == published_string
    assert signature(SECRET, built) == published_signature


def test_notes_example_signature_from_the_string_alone():
    sts = "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg"
    assert signature(SECRET, sts) == "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="


def test_canonical_amz_headers():
    assert canonical_amz_headers(None) == ""
    assert canonical_amz_headers({"Content-Type": "x", "Date": "d"}) == ""
    headers = {"X-Amz-Meta-B": "  two\r\n   lines  ", "x-amz-acl": "private", "X-AMZ-META-A": "1"}
    assert canonical_amz_headers(headers) == "x-amz-acl:private\nx-amz-meta-a:1\nx-amz-meta-b:two lines\n"


def test_http_date():
    assert http_date(datetime(2007, 3, 27, 19, 36, 42, tzinfo=timezone.utc)) == "Tue, 27 Mar 2007 19:36:42 GMT"
    assert http_date(datetime(2007, 3, 27, 19, 36, 42)) == "Tue, 27 Mar 2007 19:36:42 GMT"  # naive = UTC
    plus_two = timezone(timedelta(hours=2))
    assert http_date(datetime(2007, 3, 27, 21, 36, 42, tzinfo=plus_two)) == "Tue, 27 Mar 2007 19:36:42 GMT"


# --- SpectraAuth on real httpx requests -----------------------------------------------------------------

FIXED = datetime(2007, 3, 27, 19, 36, 42, tzinfo=timezone.utc)


def verify(request: httpx.Request, secret: str = SECRET) -> tuple[str, bool]:
    """What a server does: rebuild the string to sign from the request as received; (access id, valid)."""
    scheme, _, credentials = request.headers["authorization"].partition(" ")
    access_id, _, given = credentials.rpartition(":")
    path = request.url.raw_path.decode("ascii").split("?")[0]
    sts = "\n".join([request.method, request.headers.get("content-md5", ""),
                     request.headers.get("content-type", ""), request.headers["date"], path])
    expected = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    return access_id, scheme == "AWS" and hmac.compare_digest(given, expected)


def test_auth_sets_date_and_a_verifiable_authorization():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    auth = SpectraAuth(ACCESS_ID, SECRET, clock=lambda: FIXED)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.post("http://blackpearl.invalid/_rest_/job_completed_notification_registration",
                    params={"notification_end_point": "http://receiver.invalid/hook?a=1", "format": "JSON"})
    [request] = seen
    assert request.headers["date"] == "Tue, 27 Mar 2007 19:36:42 GMT"
    assert request.headers["authorization"].startswith(f"AWS {ACCESS_ID}:")
    assert verify(request) == (ACCESS_ID, True)
    assert verify(request, secret="wrong")[1] is False


def test_auth_signs_content_type_and_md5_when_present():
    auth = SpectraAuth(ACCESS_ID, SECRET, clock=lambda: FIXED)
    body = b'<Objects><Object Name="o1" Size="10"/></Objects>'
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    request = httpx.Request("PUT", "http://blackpearl.invalid/_rest_/bucket/b1?operation=start_bulk_put",
                            content=body, headers={"Content-Type": "application/xml", "Content-MD5": md5})
    signed = next(auth.auth_flow(request))
    assert auth.string_to_sign(signed) == (
        f"PUT\n{md5}\napplication/xml\nTue, 27 Mar 2007 19:36:42 GMT\n/_rest_/bucket/b1")
    assert verify(signed) == (ACCESS_ID, True)


def test_auth_signs_the_path_as_it_goes_on_the_wire():
    auth = SpectraAuth(ACCESS_ID, SECRET, clock=lambda: FIXED)
    url = "http://blackpearl.invalid/b1/caf\u00e9 au lait.txt?job=j&offset=0"
    request = next(auth.auth_flow(httpx.Request("PUT", url)))
    assert request.url.raw_path.startswith(b"/b1/caf%C3%A9%20au%20lait.txt?")
    assert wire_path(request) == "/b1/caf%C3%A9%20au%20lait.txt"
    assert auth.string_to_sign(request).endswith("\n/b1/caf%C3%A9%20au%20lait.txt")
    # an already-encoded path is signed literally, letter case of the escapes included (AWS "Unicode keys")
    literal = next(auth.auth_flow(httpx.Request("GET", "http://s3.invalid/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re")))
    assert auth.string_to_sign(literal).endswith("\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re")


def test_auth_signs_amz_headers():
    auth = SpectraAuth(ACCESS_ID, SECRET, clock=lambda: FIXED)
    request = next(auth.auth_flow(httpx.Request("GET", "http://blackpearl.invalid/_rest_/job/x",
                                                headers={"X-Amz-Meta-B": "2", "x-amz-meta-a": "1"})))
    assert auth.string_to_sign(request) == (
        "GET\n\n\nTue, 27 Mar 2007 19:36:42 GMT\nx-amz-meta-a:1\nx-amz-meta-b:2\n/_rest_/job/x")


def test_default_clock_is_now_in_utc():
    auth = SpectraAuth(ACCESS_ID, SECRET)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    url = "http://blackpearl.invalid/_rest_/job_completed_notification_registration"
    request = next(auth.auth_flow(httpx.Request("GET", url)))
    after = datetime.now(timezone.utc)
    assert request.headers["date"].endswith(" GMT")
    assert before <= parsedate_to_datetime(request.headers["date"]) <= after
    assert verify(request) == (ACCESS_ID, True)


def test_each_request_gets_a_fresh_date():
    moments = iter([FIXED, FIXED + timedelta(seconds=5)])
    auth = SpectraAuth(ACCESS_ID, SECRET, clock=lambda: next(moments))
    first = next(auth.auth_flow(httpx.Request("GET", "http://blackpearl.invalid/x")))
    second = next(auth.auth_flow(httpx.Request("GET", "http://blackpearl.invalid/x")))
    assert first.headers["date"] != second.headers["date"]
    assert first.headers["authorization"] != second.headers["authorization"]


def test_the_secret_never_shows():
    auth = SpectraAuth(ACCESS_ID, SECRET)
    assert SECRET not in repr(auth) and SECRET not in str(auth)
    assert ACCESS_ID in repr(auth)


def test_through_the_suites_http_client_with_redacted_evidence():
    def handler(request: httpx.Request) -> httpx.Response:
        access_id, valid = verify(request)
        return httpx.Response(201 if valid and access_id == ACCESS_ID else 403)

    client = HttpClient("http://blackpearl.invalid", transport=httpx.MockTransport(handler), secrets=[SECRET])
    try:
        response = client.request("POST", "/_rest_/job_completed_notification_registration",
                                  params={"notification_end_point": "http://receiver.invalid/h"},
                                  auth=SpectraAuth(ACCESS_ID, SECRET, clock=lambda: FIXED))
        refused = client.request("POST", "/_rest_/job_completed_notification_registration",
                                 params={"notification_end_point": "http://receiver.invalid/h"},
                                 auth=SpectraAuth(ACCESS_ID, "not-the-secret", clock=lambda: FIXED))
    finally:
        client.close()
    assert (response.status, refused.status) == (201, 403)
    exchange = response.exchange
    assert exchange.request_headers["authorization"] == f"AWS {ACCESS_ID}:{REDACTED}"
    assert exchange.request_headers["date"] == "Tue, 27 Mar 2007 19:36:42 GMT"
    for text in (exchange.render(), exchange.curl):
        assert SECRET not in text
