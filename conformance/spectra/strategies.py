"""Hypothesis strategies for Spectra S3 registration requests (NOTES §2.1), built from the client's tables of
parameters (`conformance.spectra.client`: FORMATS, CONVENTIONS, METHODS, DEFAULTS, ECHOED): no second
description of the request.

Inside the latitude of NOTES §2.1:
- each optional parameter present or absent; enumeration values in their canonical spelling or in another
  letter case (accepting those is a SHOULD); an empty value ("unset", as if absent);
- `notification_end_point` always present: an http(s) URL naming nothing real (`.invalid` hosts, IPv6
  documentation addresses) with percent-encoded characters, non-ASCII characters, query strings and long paths
  (to 2,000+ characters), carrying the example's tag;
- `job_id`: absent, empty, or the UUID of an existing job (any letter case of the hex digits: a UUID).
One defect (`invalid_requests`): an unknown enumeration value, a UUID of no job, a non-UUID job id, an unknown
parameter, or no end point; each names the requirement and status NOTES §2.1 gives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from conformance.spectra.client import CONVENTIONS, DEFAULTS, ECHOED, FORMATS, METHODS

ENUMERATIONS = {"format": FORMATS, "naming_convention": CONVENTIONS, "notification_http_method": METHODS}
PAGE_PARAMETERS = ("page_length", "page_offset")

_UNRESERVED = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
_PCT = st.integers(0, 255).map(lambda byte: f"%{byte:02X}")
_NON_ASCII = st.sampled_from(("é", "ü", "日本", "😀", "Ω", "ß"))  # no white space: readers strip values
_PIECE = st.lists(st.one_of(_UNRESERVED, _PCT, _NON_ASCII, st.sampled_from("!$'()*+,;=:@")), max_size=10).map(
    "".join)


@st.composite
def end_points(draw, tag: str) -> str:
    """An http(s) end point naming nothing real, `tag` its first path segment."""
    scheme = draw(st.sampled_from(("http", "https")))
    host = draw(st.one_of(st.just("conformance.invalid"),
                          st.integers(0, 0xFFFF).map(lambda n: f"[2001:db8::{n:x}]")))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    segments = draw(st.lists(_PIECE, max_size=4))
    if draw(st.integers(0, 5)) == 5:  # now and then a long one (not the simplest: shrinking drops it)
        segments.append("x" * draw(st.integers(2000, 2100)))
    query = draw(st.one_of(st.just(""), st.lists(st.tuples(_PIECE, _PIECE), min_size=1, max_size=3).map(
        lambda pairs: "?" + "&".join(f"{k}={v}" for k, v in pairs))))
    return f"{scheme}://{host}{port}/" + "/".join([tag, *segments]) + query


def canonical(params: dict[str, str]) -> dict[str, str]:
    """`params` with every enumeration value in its canonical (upper-case) spelling."""
    return {k: (v.upper() if k in ENUMERATIONS else v) for k, v in params.items()}


def _spelling(value: str) -> st.SearchStrategy[str]:
    """The value as the page spells it, or in another letter case (per letter)."""
    other = st.lists(st.booleans(), min_size=len(value), max_size=len(value)).map(
        lambda upper: "".join(c.upper() if u else c.lower() for c, u in zip(value, upper, strict=False)))
    return st.one_of(st.just(value), st.just(value.lower()), other)


@dataclass(frozen=True)
class Registration:
    """A registration request and what its answer must echo (element -> canonical value)."""

    params: dict[str, str]
    tag: str

    @property
    def other_case(self) -> list[str]:
        """Enumeration parameters sent in a spelling other than the canonical one (their acceptance is a SHOULD)."""
        return [p for p, values in ENUMERATIONS.items() if self.params.get(p) and self.params[p] not in values]

    def canonical(self) -> Registration:
        """The same request with every enumeration in its canonical spelling."""
        return Registration(canonical(self.params), self.tag)

    def expected(self) -> dict[str, str]:
        out = {}
        for param, element in ECHOED.items():
            value = self.params.get(param) or DEFAULTS.get(param, "")
            out[element] = value.upper() if param in ENUMERATIONS else value
        return out

    def describe(self) -> str:
        shown = {k: (v if len(v) <= 80 else f"{v[:60]}…({len(v)} characters)") for k, v in self.params.items()}
        return "create " + " ".join(f"{k}={v!r}" for k, v in shown.items())


@st.composite
def registrations(draw, tag: str, job_id: str | None = None) -> Registration:
    """A valid request: the end point, each other parameter absent, empty, or in any spelling; `job_id` (when a
    job is given) absent, empty or that job's UUID; the parameters in any order."""
    params = {"notification_end_point": draw(end_points(tag)), **draw(options(job_id))}
    order = draw(st.permutations(list(params)))
    return Registration({name: params[name] for name in order}, tag)


@st.composite
def options(draw, job_id: str | None = None) -> dict[str, str]:
    """Every parameter but the end point: each absent, empty, or in any spelling; `job_id` (when a job is given)
    absent, empty or that job's UUID in either case."""
    params: dict[str, str] = {}
    for param, values in ENUMERATIONS.items():
        choice = draw(st.sampled_from(("absent", "empty", "value")))
        if choice == "empty":
            params[param] = ""
        elif choice == "value":
            params[param] = draw(st.sampled_from(values).flatmap(_spelling))
    if job_id is not None:
        choice = draw(st.sampled_from(("absent", "empty", "job", "job-upper")))
        if choice != "absent":
            params["job_id"] = {"empty": "", "job": job_id, "job-upper": job_id.upper()}[choice]
    return params


@dataclass(frozen=True)
class Refused:
    """A request with exactly one defect, the requirement that judges it, its status and BlackPearl's Code."""

    defect: str
    params: dict[str, str]
    requirement: str
    status: int
    code: str | None
    tag: str = field(default="")

    def describe(self) -> str:
        return f"{self.defect}: create " + " ".join(f"{k}={v[:80]!r}" for k, v in self.params.items())


@st.composite
def invalid_requests(draw, tag: str, unknown_job: str) -> Refused:
    valid = draw(registrations(tag)).canonical()  # one defect: nothing else a server may refuse (a SHOULD)
    params = dict(valid.params)
    defect = draw(st.sampled_from(("unknown-enumeration", "job-id-unknown", "job-id-not-uuid", "unknown-parameter")))
    if defect == "unknown-enumeration":
        param = draw(st.sampled_from(sorted(ENUMERATIONS)))
        known = {v.lower() for v in ENUMERATIONS[param]} | {""}
        params[param] = draw(st.from_regex(r"[A-Za-z_]{1,20}", fullmatch=True).filter(
            lambda v: v.lower() not in known and v.upper() not in ("GET", "DELETE", "HEAD", "PATCH", "OPTIONS",
                                                                   "TRACE", "CONNECT")))
        return Refused(defect, params, "SP-BAD-ENUMERATION", 400, "BadRequest", tag)
    if defect == "job-id-unknown":
        params["job_id"] = unknown_job
        return Refused(defect, params, "SP-UNKNOWN-JOB", 404, "NotFound", tag)
    if defect == "job-id-not-uuid":
        params["job_id"] = draw(st.one_of(st.from_regex(r"[0-9a-z-]{1,40}", fullmatch=True), st.just("12345")).filter(
            lambda v: not _is_uuid(v)))
        return Refused(defect, params, "SP-BAD-JOB-ID", 400, None, tag)
    name = draw(st.from_regex(r"[a-z][a-z_]{2,20}", fullmatch=True).filter(
        lambda n: n not in ECHOED and n not in PAGE_PARAMETERS and n not in ("page_start_marker", "last_page",
                                                                            "user_id")))
    params[name] = draw(st.from_regex(r"[A-Za-z0-9]{0,10}", fullmatch=True))
    return Refused(defect, params, "SP-UNKNOWN-PARAMETER", 400, "InvalidUri", tag)


def _is_uuid(value: str) -> bool:
    import uuid
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def pages() -> st.SearchStrategy[tuple[int, int]]:
    """(page_length, extra offset past the end): lengths 1 to 1,000, offsets from the end to far beyond it."""
    return st.tuples(st.one_of(st.integers(1, 50), st.sampled_from((1, 1000))),
                     st.one_of(st.integers(0, 5), st.integers(0, 2**31 - 1)))
