"""Tests for conformance.validation: safe parsing, the VidiCore XSD and the one-line error messages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance.validation import DocumentError, SchemaSet, get_schema, parse_xml, schemas_dir

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "vidicore"
NS = "http://xml.vidispine.com/schema/vidispine"
XMLNS = f'xmlns="{NS}"'

FIXTURE_ROOTS = {
    "list-response-urilist.xml": "URIListDocument",
    "create-request.xml": "NotificationDocument",
    "create-response-urilist.xml": "URIListDocument",
    "retrieve-response.xml": "NotificationDocument",
    "entity-retrieve-response.xml": "NotificationDocument",
    "entity-change-request.xml": "NotificationDocument",
    "entity-retrieve-after-change-response.xml": "NotificationDocument",
    "delivery-simplemetadata.xml": "SimpleMetadataDocument",
    "exception-notfound.xml": "ExceptionDocument",
}

# NOTES §1.4: each trigger entity and its events.
EVENTS = {
    "job": ["create", "update", "stop", "finished", "fail"],
    "item": ["create", "delete"],
    "metadata": ["modify"],
    "collection": ["create", "delete", "modify"],
    "storage": ["create", "delete", "modify", "filename"],
    "file": ["new", "change", "hash", "close", "delete", "lost"],
    "shape": ["create", "delete", "modify"],
    "group": ["create", "delete", "modify"],
    "access": ["create", "delete", "change"],
    "quota": ["create", "delete", "warning"],
    "document": ["create", "delete", "modify"],
    "deletionLock": ["create", "delete", "modify", "effective", "expire"],
}

HTTP = "<http><url>http://10.10.0.3/notify-job</url></http>"
JOB = "<job><finished/></job>"


@pytest.fixture(scope="module")
def schema() -> SchemaSet:
    return get_schema("vidicore/vidispine.xsd")


def notification(action: str = HTTP, trigger: str = JOB) -> str:
    return (
        f"<NotificationDocument {XMLNS}><action>{action}</action><trigger>{trigger}</trigger>"
        "</NotificationDocument>"
    )


def errors(schema: SchemaSet, document: str, root: str = "NotificationDocument") -> list[str]:
    return schema.errors(parse_xml(document), root)


# ------------------------------------------------------------------------------------------ fixtures


def test_every_fixture_is_listed() -> None:
    assert sorted(path.name for path in FIXTURES.glob("*.xml")) == sorted(FIXTURE_ROOTS)


@pytest.mark.parametrize("name", sorted(FIXTURE_ROOTS))
def test_fixture_parses_and_validates(schema: SchemaSet, name: str) -> None:
    element = parse_xml((FIXTURES / name).read_bytes())
    assert element.tag == f"{{{NS}}}{FIXTURE_ROOTS[name]}"
    assert schema.errors(element, FIXTURE_ROOTS[name]) == []


def test_fixtures_are_the_page_examples() -> None:
    page = REPO.parent / "shared" / "spec" / "vidicore-21.3.1-notification-reference.txt"
    if not page.exists():
        pytest.skip("reference page not available")
    text = page.read_text() + "\n"
    for name in FIXTURE_ROOTS:
        if name.startswith(("delivery-", "exception-")):
            continue
        assert (FIXTURES / name).read_text() in text, name


# ------------------------------------------------------------------------------------------ accepted


def test_free_order_and_action_attributes(schema: SchemaSet) -> None:
    document = (
        f"<NotificationDocument {XMLNS}>"
        "<trigger><job><filter><type>TRANSCODE</type><step>2</step>"
        "<jobdata><value-regex>.*</value-regex><key>k</key></jobdata></filter>"
        "<placeholder>true</placeholder><contentFilters><contentFilter>a</contentFilter>"
        "<contentFilter>b</contentFilter></contentFilters><finished/></job></trigger>"
        '<action><http synchronous="true" group="g1"><contentType>application/json</contentType>'
        "<retry>3</retry><timeout>none</timeout><method>PUT</method><extradata>x</extradata>"
        "<url>http://example.com/n</url></http></action>"
        "</NotificationDocument>"
    )
    assert errors(schema, document) == []


@pytest.mark.parametrize(
    "action",
    [
        '<http synchronous="false"><url>u</url><timeout>0</timeout></http>',
        '<javascript group="g"><script>1;</script><retry>1</retry></javascript>',
        "<jms><queueFactory>f</queueFactory><queue>q</queue><username>u</username>"
        "<password>p</password></jms>",
        "<sqs><messageGroupId>m</messageGroupId><endpoint>e</endpoint><queue>q</queue>"
        "<roleArn>r</roleArn></sqs>",
        "<sns><topic>t</topic><endpoint>e</endpoint><accessKey>a</accessKey><secret>s</secret></sns>",
        "<ejb><method>m</method><data><value>v</value><key>k</key></data><data><key>k2</key><value/></data>"
        "<bean>b</bean></ejb>",
        "<javascript/>",  # fields the official client requires are checked by the cases, not the schema
    ],
)
def test_every_action_kind(schema: SchemaSet, action: str) -> None:
    assert errors(schema, notification(action=action)) == []


@pytest.mark.parametrize("entity,event", [(e, ev) for e, events in EVENTS.items() for ev in events])
def test_every_trigger_event(schema: SchemaSet, entity: str, event: str) -> None:
    assert errors(schema, notification(trigger=f"<{entity}><{event}/></{entity}>")) == []


@pytest.mark.parametrize(
    "trigger",
    [
        "<job>\n  <finished>\n  </finished>\n</job>",  # whitespace inside an event
        "<file><storage>VX-2</storage><close/></file>",
        "<metadata><modify><field>title</field><language>en</language><track>1</track>"
        "<interval>all</interval></modify></metadata>",
        '<document><modify a="1">text<any xmlns="urn:x"><thing/></any></modify></document>',
    ],
)
def test_trigger_extras(schema: SchemaSet, trigger: str) -> None:
    assert errors(schema, notification(trigger=trigger)) == []


@pytest.mark.parametrize(
    "document,root",
    [
        (f"<URIListDocument {XMLNS}><uri>VX-1</uri><hits>2</hits><uri>VX-2</uri></URIListDocument>",
         "URIListDocument"),
        (f"<URIListDocument {XMLNS}/>", "URIListDocument"),
        (f"<ExceptionDocument {XMLNS}><invalidInput><value>v</value><explanation>e</explanation>"
         "<context>c</context><id>i</id></invalidInput></ExceptionDocument>", "ExceptionDocument"),
        (f"<ExceptionDocument {XMLNS}><forbidden/></ExceptionDocument>", "ExceptionDocument"),
        (f"<ExceptionDocument {XMLNS}><notAuthorized><message>m</message></notAuthorized>"
         "</ExceptionDocument>", "ExceptionDocument"),
        (f"<ExceptionDocument {XMLNS}><conflict>anything <x>at all</x></conflict></ExceptionDocument>",
         "ExceptionDocument"),
        (f"<ExceptionDocument {XMLNS}><internalServer/></ExceptionDocument>", "ExceptionDocument"),
        (f"<SimpleMetadataDocument {XMLNS}/>", "SimpleMetadataDocument"),
    ],
)
def test_other_documents(schema: SchemaSet, document: str, root: str) -> None:
    assert errors(schema, document, root) == []


# ------------------------------------------------------------------------------------------ rejected


@pytest.mark.parametrize(
    "document,path,reason",
    [
        (notification(action="<http><method>POST</method></http>"),
         "/NotificationDocument/action/http", "missing required element 'url'"),
        (notification(trigger="<job><finished/><fail/></job>"),
         "/NotificationDocument/trigger/job", "exactly one event"),
        (notification(trigger="<job><filter><type>T</type></filter></job>"),
         "/NotificationDocument/trigger/job", "exactly one event"),
        (notification(trigger="<item><create/><delete/></item>"),
         "/NotificationDocument/trigger/item", "only one of 'create', 'delete'"),
        (notification(trigger="<file><new/><lost/></file>"),
         "/NotificationDocument/trigger/file", "exactly one event"),
        (notification(trigger="<job><finished>now</finished></job>"),
         "/NotificationDocument/trigger/job/finished", "must be empty"),
        (f"<NotificationDocument {XMLNS}><action>{HTTP}</action></NotificationDocument>",
         "/NotificationDocument", "missing required element 'trigger'"),
        (f"<NotificationDocument {XMLNS}>{JOB}</NotificationDocument>",
         "/NotificationDocument", "unknown element 'job'"),
        (notification(action="<ftp><url>u</url></ftp>"),
         "/NotificationDocument/action", "unknown element 'ftp'"),
        (notification(action=HTTP + "<jms/>"),
         "/NotificationDocument/action", "unexpected element 'jms'"),
        (notification(action="<http><url>u</url><colour>red</colour></http>"),
         "/NotificationDocument/action/http", "unknown element 'colour'"),
        (notification(action="<http><url>u</url><url>v</url></http>"),
         "/NotificationDocument/action/http", "'url' given more than once"),
        (notification(action="<http><url> </url></http>"),
         "/NotificationDocument/action/http/url", "must not be empty"),
        (notification(action="<http><url>u</url><method>GET</method></http>"),
         "/NotificationDocument/action/http/method", "must be POST or PUT (got 'GET')"),
        (notification(action="<http><url>u</url><timeout>soon</timeout></http>"),
         "/NotificationDocument/action/http/timeout", "must be an integer or 'none' (got 'soon')"),
        (notification(action="<http><url>u</url><retry>three</retry></http>"),
         "/NotificationDocument/action/http/retry", "'three' is not a valid int"),
        (notification(action='<http synchronous="yes"><url>u</url></http>'),
         "/NotificationDocument/action/http", "attribute 'synchronous': 'yes' is not a valid boolean"),
        (notification(action='<http colour="red"><url>u</url></http>'),
         "/NotificationDocument/action/http", "unknown attribute 'colour'"),
        (notification(action='<http><url xmlns="urn:other">u</url></http>'),
         "/NotificationDocument/action/http", "unknown element '{urn:other}url'"),
        (notification().replace(XMLNS, 'xmlns="urn:other"'),
         "/NotificationDocument", "namespace 'urn:other', expected namespace"),
        (notification().replace(" " + XMLNS, ""), "/NotificationDocument", "no namespace"),
        (f"<URIListDocument {XMLNS}><uri>VX-1</uri></URIListDocument>",
         "/URIListDocument", "root element is 'URIListDocument', expected 'NotificationDocument'"),
    ],
)
def test_rejected_with_path_and_reason(schema: SchemaSet, document: str, path: str, reason: str) -> None:
    messages = errors(schema, document)
    assert messages, "expected the document to be invalid"
    assert any(message.startswith(path + ": ") and reason in message for message in messages), messages
    assert all("\n" not in message and "{" + NS not in message for message in messages)


@pytest.mark.parametrize(
    "document,root,reason",
    [
        (f"<URIListDocument {XMLNS}><uri></uri></URIListDocument>", "URIListDocument", "must not be empty"),
        (f"<URIListDocument {XMLNS}><hits>many</hits></URIListDocument>", "URIListDocument",
         "not a valid int"),
        (f"<ExceptionDocument {XMLNS}/>", "ExceptionDocument", "one of 'notFound'"),
        (f"<ExceptionDocument {XMLNS}><notFound/><forbidden/></ExceptionDocument>", "ExceptionDocument",
         "only one of"),
        (f"<ExceptionDocument {XMLNS}><notFound><reason>x</reason></notFound></ExceptionDocument>",
         "ExceptionDocument", "unknown element 'reason'"),
        (f"<SimpleMetadataDocument {XMLNS}><field><key>k</key></field></SimpleMetadataDocument>",
         "SimpleMetadataDocument", "missing required element 'value'"),
    ],
)
def test_other_documents_rejected(schema: SchemaSet, document: str, root: str, reason: str) -> None:
    messages = errors(schema, document, root)
    assert any(reason in message for message in messages), messages


def test_messages_are_capped(schema: SchemaSet) -> None:
    children = "".join(f"<x{i}/>" for i in range(20))
    messages = errors(schema, notification(action=f"<http><url>u</url>{children}</http>"))
    assert len(messages) <= 6
    assert messages[-1].startswith("... and ")


def test_unknown_root_name_is_a_programming_error(schema: SchemaSet) -> None:
    with pytest.raises(KeyError):
        schema.errors(parse_xml(notification()), "NoSuchDocument")


# ------------------------------------------------------------------------------------------ parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""

EXTERNAL_DTD = b'<!DOCTYPE foo SYSTEM "http://example.com/foo.dtd"><foo/>'


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, BILLION_LAUGHS.decode()])
def test_parse_refuses_dtds_and_entities(data: bytes | str) -> None:
    with pytest.raises(DocumentError) as info:
        parse_xml(data)
    assert "refused" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "data,expected",
    [
        (b"<a>\n<b>\n</a>", "not well-formed XML: line 3, column 3: mismatched tag"),
        (b"", "not well-formed XML: empty document"),
        ("  \n", "not well-formed XML: empty document"),
        (b"<a>&nbsp;</a>", "undefined entity"),
        (b"<a/><b/>", "junk after document element"),
        (b'{"action": {}}', "not well-formed XML: line 1, column 1"),
    ],
)
def test_parse_reports_malformed_xml(data: bytes | str, expected: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse_xml(data)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parse_accepts_bytes_and_str() -> None:
    text = (FIXTURES / "create-request.xml").read_text()
    from_bytes = parse_xml(text.encode())
    from_str = parse_xml(text)
    assert from_bytes.tag == from_str.tag == f"{{{NS}}}NotificationDocument"
    declared = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>'.encode("iso-8859-1"))
    assert declared.text == "\xe9"


# ------------------------------------------------------------------------------------------ schema cache


def test_schema_objects_are_cached() -> None:
    assert get_schema("vidicore/vidispine.xsd") is get_schema("vidicore/vidispine.xsd")
    assert get_schema("vidicore/vidispine.xsd") is get_schema("vidicore/../vidicore/vidispine.xsd")


def test_schema_cache_and_validation_from_threads() -> None:
    bad = parse_xml(notification(action="<http/>"))

    def work(_: int) -> tuple[int, list[str]]:
        schema = get_schema("vidicore/vidispine.xsd")
        return id(schema), schema.errors(bad, "NotificationDocument")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(64)))
    assert len({schema_id for schema_id, _ in results}) == 1
    assert all(messages == results[0][1] for _, messages in results)
    assert results[0][1] == ["/NotificationDocument/action/http: missing required element 'url'"]


def test_schemas_dir_is_the_repository_schemas() -> None:
    assert schemas_dir() == REPO / "schemas"
    assert (schemas_dir() / "vidicore" / "vidispine.xsd").is_file()


def test_messages_of_a_document_are_remembered_by_its_exact_bytes(schema: SchemaSet, monkeypatch) -> None:
    """Given the document an element was parsed from, the same bytes validated again get the same messages (a
    copy: a caller may add to it) without validating again; another document, or another root, is validated."""
    bad = notification(action="<http/>").encode()
    first = schema.errors(parse_xml(bad), "NotificationDocument", source=bad)
    assert first == ["/NotificationDocument/action/http: missing required element 'url'"]
    first.append("changed by its caller")
    calls: list[str] = []
    validate = schema._validate
    monkeypatch.setattr(schema, "_validate", lambda element, root: calls.append(root) or validate(element, root))
    assert schema.errors(parse_xml(bad), "NotificationDocument", source=bad) == first[:1]
    assert calls == []
    good = notification().encode()
    assert schema.errors(parse_xml(good), "NotificationDocument", source=good) == []
    assert schema.errors(parse_xml(bad), "NotificationDocument") == first[:1]  # no source: validated
    assert calls == ["NotificationDocument", "NotificationDocument"]
    wrong_root = schema.errors(parse_xml(bad), "URIListDocument", source=bad)  # the root is checked every time
    assert wrong_root and "root element is 'NotificationDocument'" in wrong_root[0]
