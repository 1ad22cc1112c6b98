"""Spectra S3 request signing (Amazon S3 signature version 2, NOTES §2.2).

Every Spectra S3 request carries `Date` and `Authorization: AWS {access-id}:{signature}` where

    signature = base64(HMAC-SHA1(secret-key, string_to_sign))
    string_to_sign = VERB "\\n" content-md5 "\\n" content-type "\\n" date "\\n" canonical-x-amz-headers + path

and path is the request path as it goes on the wire (percent-encoding kept literally), without the
query string. `SpectraAuth` is an `httpx.Auth` that stamps and signs a request; `HttpClient.request(...,
auth=SpectraAuth(...))` uses it (the Authorization header is redacted in evidence, the access id kept).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx

AmzHeaders = Mapping[str, str] | Iterable[tuple[str, str]]

_FOLDING = re.compile(r"\s*\r?\n\s*")


def canonical_amz_headers(headers: AmzHeaders | None) -> str:
    """The x-amz-* headers as signed: names lower-cased and sorted, one "name:value\\n" each.

    Values are trimmed and unfolded; repeated names are joined with ','. Other headers are ignored.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    joined: dict[str, list[str]] = {}
    for name, value in pairs:
        key = name.strip().lower()
        if key.startswith("x-amz-"):
            joined.setdefault(key, []).append(_FOLDING.sub(" ", value).strip())
    return "".join(f"{key}:{','.join(joined[key])}\n" for key in sorted(joined))


def string_to_sign(method: str, path: str, date: str, *, content_md5: str = "", content_type: str = "",
                   amz_headers: AmzHeaders | None = None) -> str:
    """The string a Spectra S3 / S3 v2 signature covers. A query string on `path` is not signed."""
    resource = path.split("?", 1)[0]
    return f"{method}\n{content_md5}\n{content_type}\n{date}\n{canonical_amz_headers(amz_headers)}{resource}"


def signature(secret: str, string_to_sign: str) -> str:
    """base64(HMAC-SHA1(secret, string_to_sign)), both UTF-8."""
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def http_date(moment: datetime) -> str:
    """RFC 1123 date in GMT ("Tue, 27 Mar 2007 19:36:42 GMT"); a naive datetime is taken as UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return format_datetime(moment, usegmt=True)


def wire_path(request: httpx.Request) -> str:
    """The request's path exactly as sent (percent-encoded), without the query string."""
    return request.url.raw_path.split(b"?", 1)[0].decode("ascii")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SpectraAuth(httpx.Auth):
    """Signs each request as `access_id` (sets `Date` from `clock`, then `Authorization`)."""

    def __init__(self, access_id: str, secret_key: str, clock: Callable[[], datetime] = _utc_now) -> None:
        self.access_id = access_id
        self._secret_key = secret_key
        self.clock = clock

    def __repr__(self) -> str:
        return f"SpectraAuth(access_id={self.access_id!r})"

    def string_to_sign(self, request: httpx.Request) -> str:
        """What this signer signs for `request` (its Date header must be set)."""
        headers = request.headers
        return string_to_sign(request.method, wire_path(request), headers.get("date", ""),
                              content_md5=headers.get("content-md5", ""),
                              content_type=headers.get("content-type", ""),
                              amz_headers=headers.multi_items())

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Date"] = http_date(self.clock())
        request.headers["Authorization"] = (
            f"AWS {self.access_id}:{signature(self._secret_key, self.string_to_sign(request))}")
        yield request
