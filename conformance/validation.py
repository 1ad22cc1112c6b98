"""Safe XML parsing and XSD 1.1 validation: the one place the suite turns bytes into XML and checks them.

- `parse_xml` parses untrusted XML (from a server, a receiver or a file) with defusedxml: DTDs, entity
  declarations and external references are refused with `DocumentError`; so is nesting deeper than
  `MAX_DEPTH` (the readers walk documents recursively).
- `parse_json` is the same for JSON: not JSON, invalid UTF-8, nesting too deep: `DocumentError`. Every parse path
  of both protocols goes through these two.
- `get_schema("vidicore/vidispine.xsd")` returns a `SchemaSet`, built once per process per XSD file.
  `SchemaSet.errors(element, root)` validates an already-parsed element and returns short one-line messages
  such as "/NotificationDocument/action/http: missing required element 'url'" (empty list when valid).

Error messages: where the schema puts an `xs:documentation` on the component that rejected a value (an
`xs:assert`, a facet, a simple type), that text is the reason; otherwise the reason comes from xmlschema,
reduced to one line with namespaces stripped.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.parsers.expat import errors as expat_errors

import defusedxml
import defusedxml.ElementTree as DefusedET
import xmlschema
from xmlschema.validators import XsdAtomicBuiltin, XsdComplexType, XsdElement, XsdGroup
from xmlschema.validators.exceptions import (
    XMLSchemaChildrenValidationError,
    XMLSchemaValidationError,
)

from conformance.http import CURRENT

MAX_MESSAGES = 5
"""`SchemaSet.errors` returns at most this many messages (plus one line counting the rest)."""
MAX_DEPTH = 100
"""Deepest nesting a parsed document may have (the protocols' documents are a handful of levels deep)."""
KNOWN_DOCUMENTS, KNOWN_BYTES = 256, 64 * 1024
"""How many validated documents (of at most how many bytes) each `SchemaSet` remembers the messages of."""


class DocumentError(ValueError):
    """Unparseable or forbidden XML (or, for callers, an undecodable document); str() is one line.

    Made while a case runs, it counts on the case's record (`unreadable`): the server's API did not answer
    well, which the environment rule needs to know before it blames the receiver."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        recorder = CURRENT.get()
        if recorder is not None:
            recorder.unreadable += 1


# ---------------------------------------------------------------------------------------------- parsing


def parse_xml(data: bytes | str) -> ET.Element:
    """Parse untrusted XML with DTDs, entity declarations and external references forbidden.

    Raises DocumentError: "not well-formed XML: line 3, column 5: mismatched tag" (1-based line and
    column), "XML with a DTD/entity declaration refused: DOCTYPE 'lolz'", and so on.
    """
    if not data.strip():
        raise DocumentError("not well-formed XML: empty document")
    try:
        element = DefusedET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = expat_errors.messages.get(exc.code, str(exc))
        raise DocumentError(f"not well-formed XML: line {line}, column {column + 1}: {reason}") from None
    except defusedxml.DTDForbidden as exc:
        raise DocumentError(f"XML with a DTD/entity declaration refused: DOCTYPE {exc.name!r}") from None
    except defusedxml.EntitiesForbidden as exc:
        raise DocumentError(f"XML with a DTD/entity declaration refused: entity {exc.name!r}") from None
    except defusedxml.ExternalReferenceForbidden as exc:
        raise DocumentError(f"XML with an external reference refused: {exc.sysid!r}") from None
    except defusedxml.DefusedXmlException as exc:
        raise DocumentError(f"XML refused: {type(exc).__name__}") from None
    if _depth(element, lambda node: list(node)) > MAX_DEPTH:
        raise DocumentError(f"XML refused: nested deeper than {MAX_DEPTH} levels")
    return element


def parse_json(body: bytes | str) -> Any:
    """Parse untrusted JSON. Raises DocumentError: "not valid JSON: ...", or nesting deeper than MAX_DEPTH."""
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise DocumentError(f"not valid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:  # UnicodeDecodeError: invalid UTF-8
        raise DocumentError(f"not valid JSON: {' '.join(str(exc).split())}") from None
    if _depth(value, _json_children) > MAX_DEPTH:
        raise DocumentError(f"not valid JSON: nested deeper than {MAX_DEPTH} levels")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity, -Infinity: Python's json accepts them, JSON does not


def _json_children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else []


def _depth(root: Any, children: Callable[[Any], list[Any]]) -> int:
    """How deep a tree nests (iteratively: a hostile document cannot exhaust the stack here)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children(node))
    return deepest


# ---------------------------------------------------------------------------------------------- schemas


def parse_date(text: str) -> datetime | None:
    """An ISO-8601 date with a zone ("2014-10-02T11:40:25.683Z", "2024-05-01T10:00:00.123+0000") as an aware UTC
    datetime; None for anything else (no zone, not a date)."""
    text = text.strip()
    if "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def schemas_dir() -> Path:
    """Where the XSDs are: `conformance/_schemas` in an installed wheel, else the repository's `schemas/`."""
    installed = Path(__file__).resolve().parent / "_schemas"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[1] / "schemas"


_NAMESPACE = re.compile(r"\{[^}]*\}")


def _strip_names(text: str) -> str:
    """Remove "{namespace}" from qualified names in a path or message."""
    return _NAMESPACE.sub("", text)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _short(value: str, limit: int = 60) -> str:
    """A value quoted on one line, shortened when long."""
    value = value.strip()
    return repr(value if len(value) <= limit else value[:limit] + "...")


class SchemaSet:
    """One XSD 1.1 schema file, built once; validates parsed elements against one of its global roots."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = xmlschema.XMLSchema11(str(path))
        self.namespace: str = self.schema.target_namespace
        self._known: OrderedDict[tuple[str, bytes | str], tuple[str, ...]] = OrderedDict()  # see errors()
        self._known_lock = threading.Lock()

    def errors(self, element: ET.Element, root: str, *, source: bytes | str | None = None) -> list[str]:
        """Validate `element` as the global element `root`: one-line "path: reason" messages, [] if valid.

        `source`: the document `element` is `parse_xml(source)` of, unchanged since. Validating the same document
        against the same root again gives the same messages, so they are kept by the document's exact bytes (the
        last KNOWN_DOCUMENTS, each up to KNOWN_BYTES long) and given again without validating: a server answers
        the same document many times (a registration polled until its bookkeeping shows, the same error)."""
        wrong_root = self._check_root(element, root)
        if wrong_root:
            return [wrong_root]
        if source is None or len(source) > KNOWN_BYTES:
            return self._validate(element, root)
        key = (root, source)
        with self._known_lock:
            known = self._known.get(key)
            if known is not None:
                self._known.move_to_end(key)
                return list(known)
        messages = self._validate(element, root)
        with self._known_lock:
            self._known[key] = tuple(messages)
            if len(self._known) > KNOWN_DOCUMENTS:
                self._known.popitem(last=False)
        return messages

    def _validate(self, element: ET.Element, root: str) -> list[str]:
        xsd_element = self.schema.elements[root]
        messages: list[str] = []  # distinct, in document order
        for error in xsd_element.iter_errors(element):
            message = self._message(error)
            if message not in messages:
                messages.append(message)
        if len(messages) > MAX_MESSAGES:
            return [*messages[:MAX_MESSAGES], f"... and {len(messages) - MAX_MESSAGES} more errors"]
        return messages

    def _check_root(self, element: ET.Element, root: str) -> str | None:
        if root not in self.schema.elements:
            raise KeyError(f"{self.path.name} declares no global element {root!r}")
        tag = element.tag if isinstance(element.tag, str) else repr(element.tag)
        namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if name != root:
            return f"/{name}: root element is {name!r}, expected {root!r}"
        if namespace != self.namespace:
            found = f"namespace {namespace!r}" if namespace else "no namespace"
            return f"/{name}: root element {name!r} has {found}, expected namespace {self.namespace!r}"
        return None

    def _message(self, error: XMLSchemaValidationError) -> str:
        path = _strip_names(error.path or "") or "/"
        return f"{path}: {self._reason(error)}"

    def _reason(self, error: XMLSchemaValidationError) -> str:
        if isinstance(error, XMLSchemaChildrenValidationError):
            return self._children_reason(error)
        documented = _documentation(error.validator)
        if documented:
            if isinstance(error.obj, str):
                return f"{documented} (got {_short(error.obj)})"
            return documented
        reason = (error.reason or str(error)).strip().splitlines()[0]
        unknown_attribute = re.fullmatch(r"'(.+)' attribute not allowed for element", reason)
        if unknown_attribute:
            return f"unknown attribute {_strip_names(unknown_attribute.group(1))!r}"
        if isinstance(error.validator, XsdAtomicBuiltin) and isinstance(error.obj, str):
            attribute = re.match(r"attribute (\S+?)=", reason)
            where = f"attribute {attribute.group(1)!r}: " if attribute else ""
            return f"{where}{_short(error.obj)} is not a valid {_local(error.validator.name or 'value')}"
        return _strip_names(reason)

    def _children_reason(self, error: XMLSchemaChildrenValidationError) -> str:
        group = error.validator if isinstance(error.validator, XsdGroup) else None
        is_choice = group is not None and group.model == "choice"
        expected = [self._display(tag) for tag in error.expected_tags if not tag.startswith("from ")]
        listed = ", ".join(repr(tag) for tag in expected)
        if error.invalid_tag is None:
            if len(expected) == 1:
                return f"missing required element {expected[0]!r}"
            if expected and is_choice:
                return f"missing required element, one of {listed}"
            if expected:
                return f"missing required elements {listed}"
            return "content is not complete"
        tag = self._display(error.invalid_tag)
        declared = [xsd.name for xsd in group.iter_elements()] if group is not None else []
        if error.invalid_tag not in declared:
            return f"unknown element {tag!r}" + (f"; expected {listed}" if expected else "")
        if is_choice:
            options = ", ".join(repr(self._display(name)) for name in declared if name)
            return f"unexpected element {tag!r}: only one of {options} is allowed"
        siblings = [child.tag for child in list(error.elem if error.elem is not None else ())[: error.index]]
        if error.invalid_tag in siblings:
            return f"element {tag!r} given more than once"
        return f"unexpected element {tag!r} here" + (f"; expected {listed}" if expected else "")

    def _display(self, tag: str) -> str:
        """A tag without its namespace, unless it is in a namespace other than the schema's."""
        if tag.startswith("{") and not tag.startswith("{" + self.namespace + "}"):
            return tag
        return _local(tag)


def _documentation(validator: object) -> str | None:
    """The xs:documentation of the rejecting assert/facet/simple type, or of a simple type containing it."""
    for _ in range(6):  # a facet inside an anonymous type inside a union is three steps up
        if validator is None or isinstance(validator, (XsdElement, XsdComplexType)):
            return None
        annotation = getattr(validator, "annotation", None)
        text = " ".join(str(annotation).split()) if annotation is not None else ""
        if text:
            return text
        validator = getattr(validator, "parent", None)
    return None


_cache: dict[Path, SchemaSet] = {}
_found: dict[str, SchemaSet] = {}  # by the name asked for: resolving the path on every call cost a millisecond
_cache_lock = threading.Lock()


def get_schema(relpath: str) -> SchemaSet:
    """The SchemaSet for `schemas_dir() / relpath` (e.g. "vidicore/vidispine.xsd"), built once per process."""
    with _cache_lock:
        schema_set = _found.get(relpath)
        if schema_set is None:
            path = (schemas_dir() / relpath).resolve()
            if path not in _cache:
                _cache[path] = SchemaSet(path)
            schema_set = _found[relpath] = _cache[path]
        return schema_set
