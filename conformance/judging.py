"""Judging an answer's body: the one helper for "parse it, then its schema", and the media-type questions.

Both protocols read what a server answers or delivers the same way. A reader (a protocol's documents function)
parses the body with the hardened parsers of `conformance.validation` (entities forbidden, depth bounded, invalid
UTF-8 refused) and returns the document with its schema `errors`; it raises `DocumentError` when the body is no
document at all. `judged` turns that into checks under one requirement: unreadable fails it and stops the case
(`check.fail`, whatever the requirement's level), schema errors fail (or warn) it.

The body's form and its header are separate questions, and separate requirements judge them: `json_media` /
`xml_media` read a Content-Type, `json_body` looks at the body itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from conformance.validation import DocumentError

if TYPE_CHECKING:
    from conformance.check import Check


class Judged(Protocol):
    @property
    def errors(self) -> list[str]: ...


D = TypeVar("D", bound=Judged)


def judged(check: Check, requirement: str, read: Callable[[], D], what: str) -> D:
    """`read()`'s document, judged under `requirement`: not a document at all fails it and stops the case;
    schema errors fail (MUST) or warn (SHOULD) it."""
    try:
        decoded = read()
    except DocumentError as exc:
        check.fail(requirement, f"{what} is not readable: {exc}")
    check(requirement, not decoded.errors, f"{what} does not match the schema: " + "; ".join(decoded.errors))
    return decoded


def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def json_media(content_type: str) -> bool:
    """A JSON media type (parameters and letter case ignored): application/json or any +json."""
    media = _media(content_type)
    return media == "application/json" or media.endswith("+json")


def xml_media(content_type: str) -> bool:
    """An XML media type (parameters and letter case ignored): application/xml, text/xml or any +xml."""
    media = _media(content_type)
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


def json_body(body: bytes) -> bool:
    """Whether the body itself is JSON in form (an object or array), whatever its Content-Type says."""
    return body.lstrip()[:1] in (b"{", b"[")
