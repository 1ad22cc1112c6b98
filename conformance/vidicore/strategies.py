"""Hypothesis strategies for VidiCore NotificationDocuments (NOTES §1.4), built from the tables of
`conformance.vidicore.documents` (action kinds and their fields, trigger entities, events and extras): no second
description of the document. A field added to a table is generated, encoded and compared from then on.

What is generated stays inside the latitude of NOTES:
- text: any character XML 1.0 can carry (no surrogates, no C0 control but tab, LF and CR, not U+FFFE/U+FFFF),
  XML-special and non-ASCII characters, values of up to 40 characters and of 2,000 to 2,100;
- integers (`retry`, `step`, `timeout`): 0 to 2^31-1 with the edges (a negative count of retries or seconds is
  outside the latitude: a server may refuse it); `timeout` also `none`;
- URLs: RFC 3986 http(s) URLs that name nothing real (`.invalid` hosts, IPv6 documentation addresses
  2001:db8::/32) with user-info, ports, percent-escapes, query strings and fragments;
- booleans `true`/`false`; `method` POST or PUT; regular expressions (`key-regex`, `value-regex`) that every
  engine reads alike;
- XML: every order of the children (the tree's key order is the child order, and it is drawn); JSON: integer
  fields as JSON numbers or as strings (values compare as text), non-ASCII as escapes or raw UTF-8.

Two rules keep generated documents harmless on a shared server and findable again:
- every one carries the example's `tag` (a run-unique name): in the action's stamped field (the http `url`'s
  path, else the kind's first client-required field), always present, as are all the fields the official client
  requires (NOTES §1.4: their absence is a SHOULD-refusal, outside what a valid document is);
- a job trigger always has `filter/type` = the tag, a job type no job has (the suite starts PLACEHOLDER_IMPORT
  jobs, other users' jobs have real types), so a generated notification never delivers anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from conformance.vidicore import documents as d

XML = "application/xml"
JSON = "application/json"

# --- values ---------------------------------------------------------------------------------------------

_C0_FORBIDDEN = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters=_C0_FORBIDDEN + "\ufffe\uffff")
SPECIALS = ("<", ">", "&", "'", '"', "]]>", "&amp;", "<![CDATA[x]]>", "\t", "\r\n", "é", "日本語", "😀", "\u0085",
            "\u2028", "%41", "  ", "\\", "{}", "null")
LONG = (2000, 2100)
INT32_MAX = 2**31 - 1


def texts() -> st.SearchStrategy[str]:
    """Any text XML 1.0 can carry: short, specials joined, or long (a short piece repeated to 2,000+)."""
    return st.one_of(
        st.text(CHARACTERS, max_size=40),
        st.lists(st.sampled_from(SPECIALS), min_size=1, max_size=6).map("".join),
        st.tuples(st.text(CHARACTERS, min_size=1, max_size=12), st.integers(*LONG)).map(
            lambda piece: (piece[0] * (piece[1] // len(piece[0]) + 1))[:piece[1]]),
    )


def counts() -> st.SearchStrategy[str]:
    """A non-negative 32-bit integer as text, the edges drawn often."""
    return st.one_of(st.integers(0, INT32_MAX), st.sampled_from((0, 1, 2**15 - 1, 2**15, 2**16, INT32_MAX))).map(str)


_UNRESERVED = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
_SUB_DELIMS = st.sampled_from("!$'()*+,;=")
_PCT = st.integers(0, 255).map(lambda byte: f"%{byte:02X}")
_PCHARS = st.lists(st.one_of(_UNRESERVED, _SUB_DELIMS, _PCT, st.sampled_from(":@")), max_size=12).map("".join)
_QCHARS = st.lists(st.one_of(_UNRESERVED, _PCT, st.sampled_from(":@/?!$'()*+,;")), max_size=12).map("".join)
_NON_ASCII = texts().map(lambda text: "".join(f"%{b:02X}" for b in text[:20].encode("utf-8")))


@st.composite
def urls(draw, tag: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An http(s) URL naming nothing real, carrying `tag` as its first path segment."""
    scheme = draw(st.sampled_from(schemes))
    host = draw(st.one_of(
        st.just("conformance.invalid"),
        st.from_regex(r"[a-z][a-z0-9-]{0,20}\.conformance\.invalid", fullmatch=True),
        st.integers(0, 0xFFFF).map(lambda n: f"[2001:db8::{n:x}]"),
    ))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    userinfo = draw(st.one_of(st.just(""), st.tuples(_PCHARS.filter(lambda u: ":" not in u and "@" not in u),
                                                   _PCHARS.filter(lambda p: "@" not in p)).map(
        lambda up: f"{up[0]}:{up[1]}@")))
    segments = draw(st.lists(st.one_of(_PCHARS, _NON_ASCII).map(lambda s: s.replace("/", "%2F")), max_size=4))
    query = draw(st.one_of(st.just(""), st.lists(st.tuples(_QCHARS, _QCHARS), min_size=1, max_size=4).map(
        lambda pairs: "?" + "&".join(f"{k}={v}" for k, v in pairs))))
    fragment = draw(st.one_of(st.just(""), _QCHARS.map(lambda f: f"#{f}")))
    path = "/".join([tag, *segments])
    return f"{scheme}://{userinfo}{host}{port}/{path}{query}{fragment}"


MEDIA_TYPES = ("application/xml", "application/json", "text/plain; charset=utf-8", "application/vnd.example+xml",
               "application/xml; charset=UTF-8", "text/xml")
REGEXES = (".*", "^conformance-[a-z0-9-]+$", "a|b", "[0-9]{1,3}", "x+y?", "(ab)*", "[^/]+", "")

# --- documents ------------------------------------------------------------------------------------------

# The field of each action kind that carries the example's tag: always present.
STAMPED = {"http": "url", "javascript": "script", "jms": "queue", "sqs": "endpoint", "sns": "endpoint",
           "ejb": "bean"}


def required_fields(kind: str) -> frozenset[str]:
    """Fields a generated valid action of `kind` always has: its stamp and what the official client requires."""
    return frozenset({STAMPED[kind], *d.CLIENT_REQUIRED.get(kind, ())})


def _value(name: str, tag: str, stamped: bool, required: bool = False) -> st.SearchStrategy[Any]:
    if name in ("url", "endpoint"):
        return urls(tag)
    if stamped:
        return texts().map(lambda text: f"{tag} {text}")
    if required:  # a required field that is blank is as good as absent: a server may refuse it
        return texts().filter(lambda text: text.strip() != "")
    if name == "method":
        return st.sampled_from(d.HTTP_METHODS)
    if name == "timeout":
        return st.one_of(counts(), st.just("none"))
    if name in d.INTEGER_FIELDS:
        return counts()
    if name in d.BOOLEAN_FIELDS:
        return st.sampled_from(("true", "false"))
    if name == "contentType":
        return st.sampled_from(MEDIA_TYPES)
    if name == "data":
        return st.lists(_ordered({"key": texts(), "value": texts()}), min_size=1, max_size=3)
    return texts()


@st.composite
def _ordered(draw, parts: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """A dict of every part, in a drawn order (the XML child order)."""
    keys = draw(st.permutations(list(parts)))
    return {key: draw(parts[key]) for key in keys}


@st.composite
def _some(draw, required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]],
          at_least_one: bool = False) -> dict[str, Any]:
    chosen = [name for name in optional if draw(st.booleans())]
    if at_least_one and not required and not chosen:
        chosen = [draw(st.sampled_from(list(optional)))]
    return draw(_ordered({**required, **{name: optional[name] for name in chosen}}))


def actions(tag: str, kinds: tuple[str, ...] = tuple(d.ACTION_FIELDS)) -> st.SearchStrategy[dict[str, Any]]:
    """`{kind: {field: value, ...}}`: every field present or absent (the required ones always present), the
    `synchronous`/`group` attributes, `retry` and `extradata`."""
    def body(kind: str) -> st.SearchStrategy[dict[str, Any]]:
        names = (*d.ACTION_ATTRIBUTES, *d.ACTION_FIELDS[kind], *d.COMMON_ACTION_FIELDS)
        needed = required_fields(kind)
        return _some({n: _value(n, tag, n == STAMPED[kind], True) for n in names if n in needed},
                     {n: _value(n, tag, False) for n in names if n not in needed})
    return st.sampled_from(kinds).flatmap(lambda kind: body(kind).map(lambda fields: {kind: fields}))


def _event_body(entity: str, event: str) -> st.SearchStrategy[Any]:
    names = d.EVENT_FIELDS.get((entity, event))
    if not names:
        return st.just("")
    optional = {n: (st.one_of(texts(), st.lists(texts(), min_size=2, max_size=3))
                    if n in d.REPEATABLE_FIELDS else texts()) for n in names}
    return _some({}, optional).map(lambda fields: fields or "")


def _job_extras(tag: str) -> tuple[dict[str, st.SearchStrategy[Any]], dict[str, st.SearchStrategy[Any]]]:
    jobdata = _some({}, {n: (st.sampled_from(REGEXES) if n.endswith("regex") else texts())
                         for n in d.JOBDATA_FIELDS}, at_least_one=True)
    job_filter = _some({"type": st.just(tag)}, {"step": counts(), "jobdata": jobdata})
    return ({"filter": job_filter},
            {"contentFilters": st.lists(texts(), min_size=1, max_size=3).map(lambda cs: {"contentFilter": cs}),
             "placeholder": st.sampled_from(("true", "false"))})


@st.composite
def triggers(draw, tag: str, entities: tuple[str, ...] = tuple(d.TRIGGER_EVENTS)) -> dict[str, Any]:
    """`{entity: {event: "" | {...}, extras...}}` for every entity and event; a job trigger's filter/type is the
    tag (so it never fires)."""
    entity = draw(st.sampled_from(entities))
    event = draw(st.sampled_from(d.TRIGGER_EVENTS[entity]))
    required: dict[str, st.SearchStrategy[Any]] = {event: _event_body(entity, event)}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    if entity == "job":
        more, optional = _job_extras(tag)
        required.update(more)
    elif entity == "file":
        optional = {"storage": texts()}
    return {entity: draw(_some(required, optional))}


def notification_documents(tag: str, kinds: tuple[str, ...] = tuple(d.ACTION_FIELDS),
                           entities: tuple[str, ...] = tuple(d.TRIGGER_EVENTS)) -> st.SearchStrategy[d.Tree]:
    """A valid NotificationDocument tree carrying `tag`, its action and trigger in a drawn order."""
    return _ordered({"action": actions(tag, kinds), "trigger": triggers(tag, entities)})


# --- encodings ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Encoded:
    """A document and how it is sent: XML in the tree's order, or JSON with these integer fields as numbers."""

    tree: d.Tree
    fmt: str                                  # "xml" | "json"
    numbers: frozenset[str] = field(default=frozenset())
    ascii_only: bool = True

    @property
    def media_type(self) -> str:
        return JSON if self.fmt == "json" else XML

    def body(self) -> bytes:
        if self.fmt == "json":
            return d.to_json(self.tree, self.numbers, self.ascii_only)
        return d.to_xml(self.tree)

    def describe(self) -> str:
        extra = ""
        if self.fmt == "json":
            extra = (f" (as numbers: {', '.join(sorted(self.numbers)) or 'none'}; "
                     f"{'non-ASCII escaped' if self.ascii_only else 'UTF-8'})")
        return f"{self.fmt.upper()}{extra}"


def encodings(tree: d.Tree, fmts: tuple[str, ...] = ("xml", "json")) -> st.SearchStrategy[Encoded]:
    return st.builds(Encoded, st.just(tree), st.sampled_from(fmts),
                     st.frozensets(st.sampled_from(sorted(d.NUMBER_FIELDS))), st.booleans())


def encoded_documents(tag: str, fmts: tuple[str, ...] = ("xml", "json")) -> st.SearchStrategy[Encoded]:
    return notification_documents(tag).flatmap(lambda tree: encodings(tree, fmts))


# --- one defect -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Defective:
    """A valid document with exactly one defect (NOTES §1.2: each must be answered 400/invalidInput)."""

    defect: str
    base: Encoded
    body: bytes
    media_type: str

    def describe(self) -> str:
        return f"{self.defect} in a {self.base.describe()} document"


UNKNOWN = "conformanceUnknown"
DEFECTS = ("no-action", "no-trigger", "http-without-url", "unknown-action", "unknown-trigger",
           "unknown-event", "two-actions", "empty-trigger", "wrong-type", "malformed")


def _copy(tree: d.Tree) -> d.Tree:
    import json
    return json.loads(json.dumps(tree))


def _kind(tree: d.Tree) -> str:
    return next(iter(tree["action"]))


def _entity(tree: d.Tree) -> str:
    return next(iter(tree["trigger"]))


@st.composite
def defective_documents(draw, tag: str) -> Defective:
    """One of DEFECTS applied to a generated valid document. The tag stays where a lenient server would keep
    it: in the action, and for a document without an action in its job trigger's filter/type."""
    defect = draw(st.sampled_from(DEFECTS))
    kinds = ("http",) if defect == "http-without-url" else tuple(d.ACTION_FIELDS)
    entities = ("job",) if defect in ("no-action", "empty-trigger") else tuple(d.TRIGGER_EVENTS)
    base = draw(encodings(draw(notification_documents(tag, kinds, entities))))
    tree = _copy(base.tree)
    kind, entity = _kind(tree), _entity(tree)
    if defect == "no-action":
        del tree["action"]
    elif defect == "no-trigger":
        del tree["trigger"]
    elif defect == "http-without-url":
        del tree["action"]["http"]["url"]
        tree["action"]["http"]["extradata"] = tag
    elif defect == "unknown-action":
        tree["action"] = {UNKNOWN: tree["action"][kind]}
    elif defect == "unknown-trigger":
        tree["trigger"] = {UNKNOWN: tree["trigger"][entity]}
    elif defect == "unknown-event":
        event = next(k for k in tree["trigger"][entity] if k in d.TRIGGER_EVENTS[entity])
        body = tree["trigger"][entity]
        tree["trigger"][entity] = {("exploded" if k == event else k): v for k, v in body.items()}
    elif defect == "two-actions":
        other = draw(actions(tag, tuple(k for k in d.ACTION_FIELDS if k != kind)))
        tree["action"] = {**tree["action"], **other}
    elif defect == "empty-trigger":
        tree["action"][kind]["extradata"] = tag
        tree["trigger"] = {}
    elif defect == "wrong-type":
        where = draw(st.sampled_from(("retry", "synchronous") + (("timeout",) if kind == "http" else ())))
        tree["action"][kind][where] = draw(st.sampled_from(("abc", "1.5", "ten", "-", "yes-please")))
    if defect == "malformed":
        body = base.body()
        cut = draw(st.integers(1, max(1, min(len(body) - 1, 200))))
        return Defective(defect, base, body[:-cut], base.media_type)
    encoded = Encoded(tree, base.fmt, base.numbers, base.ascii_only)
    return Defective(defect, base, encoded.body(), base.media_type)
