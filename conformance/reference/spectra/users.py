"""Users of the reference Spectra S3 server and how a request proves who signed it (S3 signature v2, NOTES §2.2).

Fixed, documented test credentials (never use them anywhere real): access id = base64 of the name.

| user  | access id  | secret key           | role          |
|-------|------------|----------------------|---------------|
| admin | `YWRtaW4=` | admin-spectra-secret | administrator |
| user  | `dXNlcg==` | user-spectra-secret  | ordinary      |

The signature check is written here with hmac/hashlib/base64, independently of the suite's signer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class SpectraUser:
    name: str
    secret_key: str = field(repr=False)
    user_id: str
    administrator: bool

    @property
    def access_id(self) -> str:
        return base64.b64encode(self.name.encode()).decode("ascii")

    @property
    def secret_env(self) -> str:
        return f"CONFORMANCE_REFERENCE_SPECTRA_{self.name.upper()}_SECRET"

    def signature_matches(self, environ: Mapping[str, Any], signature: str) -> bool:
        """Whether `signature` is this user's signature of the request."""
        expected = sign(self.secret_key, string_to_sign(environ))
        return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


USERS: dict[str, SpectraUser] = {
    user.name: user
    for user in (
        SpectraUser("admin", "admin-spectra-secret", "5a1f3c2e-8b4d-4e6f-9a01-2b3c4d5e6f70", administrator=True),
        SpectraUser("user", "user-spectra-secret", "7c9e1d3f-2a4b-4c6d-8e0f-1a2b3c4d5e6f", administrator=False),
    )
}
BY_ACCESS_ID = {user.access_id: user for user in USERS.values()}
BY_ID = {user.user_id: user for user in USERS.values()}


def string_to_sign(environ: Mapping[str, Any]) -> str:
    """VERB, Content-MD5, Content-Type, Date, canonical x-amz-* headers + the path as received (no query)."""
    amz: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_X_AMZ_"):
            amz[key[5:].lower().replace("_", "-")] = " ".join(str(value).split())
    canonical = "".join(f"{name}:{amz[name]}\n" for name in sorted(amz))
    return "\n".join([environ.get("REQUEST_METHOD", ""), environ.get("HTTP_CONTENT_MD5", ""),
                      environ.get("CONTENT_TYPE", ""), environ.get("HTTP_DATE", ""), canonical + wire_path(environ)])


def wire_path(environ: Mapping[str, Any]) -> str:
    """The request path exactly as the client sent it (percent-encoding kept), without the query string."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return quote(environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"))
    raw = raw.encode("latin-1").decode("utf-8", "replace")  # undo the WSGI latin-1 decoding
    if "://" in raw.split("?", 1)[0]:  # absolute form: http://host/path
        raw = urlsplit(raw).path or "/"
    return raw.split("?", 1)[0]


def sign(secret_key: str, text: str) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")

