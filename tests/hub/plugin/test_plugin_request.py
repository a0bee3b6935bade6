"""hub/plugin/request.py: InboundRequest body decoders and header lookup."""

from __future__ import annotations

import pytest

from hub.plugin.errors import MalformedBody, MissingHeader, UnsupportedMediaType
from hub.plugin.request import MAX_XML_DEPTH, InboundRequest


def make(body: bytes, content_type: str = "application/json", headers: dict | None = None) -> InboundRequest:
    return InboundRequest(method="POST", path="/hooks/app", body=body, content_type=content_type,
                          headers=headers or {})


# --- json ---------------------------------------------------------------------


def test_json_decodes_object():
    assert make(b'{"a": [1, 2.5, null, true, "x"]}').json() == {"a": [1, 2.5, None, True, "x"]}


@pytest.mark.parametrize("content_type", ["application/cloudevents+json", "application/vnd.api+json"])
def test_json_accepts_plus_json_types(content_type):
    assert make(b'{"specversion": "1.0"}', content_type).json() == {"specversion": "1.0"}


@pytest.mark.parametrize(
    "content_type, shown",
    [("text/plain", "'text/plain'"), ("application/xml", "'application/xml'"),
     ("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded'"), ("", "'(none)'"),
     ("application/json+xml", "'application/json+xml'")],
)
def test_json_wrong_content_type_is_415(content_type, shown):
    with pytest.raises(UnsupportedMediaType) as caught:
        make(b"{}", content_type).json()
    assert caught.value.status == 415
    assert caught.value.code == "unsupported_media_type"
    assert caught.value.message == f"content type {shown} is not accepted; send application/json"


def test_json_content_type_checked_before_body():
    with pytest.raises(UnsupportedMediaType):
        make(b"", "text/plain").json()


def test_json_empty_body():
    with pytest.raises(MalformedBody) as caught:
        make(b"").json()
    assert caught.value.status == 400
    assert caught.value.code == "malformed_body"
    assert caught.value.message == "the body is empty; a JSON document was expected"


@pytest.mark.parametrize("body", [b'{"a":', b'{"a": 1', b"[1, 2", b"{'a': 1}", b"NaN", b"{} {}", b"   "])
def test_json_malformed_or_truncated(body):
    with pytest.raises(MalformedBody) as caught:
        make(body).json()
    assert caught.value.message.startswith("the body is not valid JSON: ")
    assert caught.value.status == 400


def test_json_truncated_message_has_position():
    with pytest.raises(MalformedBody) as caught:
        make(b'{"a":').json()
    assert "line 1 column 6 (char 5)" in caught.value.message


@pytest.mark.parametrize("body", [b'{"text": "\xff"}', b"\xfe\xff{}", b'{"text": "\xed\xa0\x80"}'])
def test_json_invalid_utf8(body):
    with pytest.raises(MalformedBody) as caught:
        make(body).json()
    assert caught.value.message.startswith("the body is not valid JSON: ")
    assert "UTF-8" in caught.value.message


@pytest.mark.parametrize("number", [2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, 9007199254740993])
def test_json_big_integers_keep_exact_value(number):
    value = make(b'{"id": %d}' % number).json()["id"]
    assert type(value) is int
    assert value == number


@pytest.mark.parametrize("number", [2**53, 2**53 + 1, 2**63, 2**64, 2**64 + 1, 2**128, -(2**63) - 1, -(2**128),
                                    10**300])
def test_json_integers_beyond_64_bits_keep_every_digit(number):
    value = make(b'{"id": %d, "stars": 4.5, "ratio": 1e2, "small": 7}' % number).json()
    assert type(value["id"]) is int and value["id"] == number
    assert value["stars"] == 4.5 and type(value["ratio"]) is float and type(value["small"]) is int


def test_json_big_integers_inside_nesting_and_next_to_long_digit_strings():
    body = b'{"a": [{"b": 340282366920938463463374607431768211457}], "c": "12345678901234567890123"}'
    assert make(body).json() == {"a": [{"b": 2**128 + 1}], "c": "12345678901234567890123"}


def test_json_big_integers_in_a_document_nested_past_the_standard_librarys_recursion_is_400():
    body = b"[" * 1000 + b"18446744073709551616" + b"]" * 1000  # orjson takes it; exact integers need recursion
    with pytest.raises(MalformedBody) as caught:
        make(body).json()
    assert "nests too deeply" in caught.value.message


def test_json_ignores_a_leading_byte_order_mark():
    assert make(b'\xef\xbb\xbf{"id": 18446744073709551617}').json() == {"id": 18446744073709551617}
    assert make(b'{"text": "\xef\xbb\xbfkept"}').json() == {"text": "\ufeffkept"}  # inside a string it is text


def test_json_a_bom_alone_is_an_empty_body():
    with pytest.raises(MalformedBody) as caught:
        make(b"\xef\xbb\xbf").json()
    assert "empty" in caught.value.message


@pytest.mark.parametrize("body", [b'{"text": "\\ud800"}', b'{"text": "\\udfff x"}', b'{"n": NaN}', b'{"n": Infinity}',
                                  b'{"n": 1e400}', b'{"text": "\xc0\x80"}', b'{"text": "\xe0\x80\xaf"}',
                                  b'{"id": 18446744073709551616, "text": "\\ud800"}'])
def test_json_refuses_lone_surrogates_non_numbers_and_overlong_utf8(body):
    with pytest.raises(MalformedBody):
        make(body).json()


def test_json_keeps_nul_escapes_and_non_characters():
    assert make(b'{"a": "x\\u0000y", "b": "\\uffff\xef\xbf\xbe"}').json() == {"a": "x\x00y", "b": "\uffff\ufffe"}


def test_content_type_longer_than_any_media_type_is_415():
    with pytest.raises(UnsupportedMediaType):
        make(b"{}", "application/" + "x" * 250 + "+json").json()


def test_without_credentials_and_repr_drop_what_authenticates():
    request = InboundRequest(method="POST", path="/hooks/app", body=b"{}", content_type="application/json",
                             headers={"authorization": "Bearer s3cret", "x-api-key": "k3y", "webhook-id": "msg_1"},
                             query={"token": "t0ken", "form": "f1"})
    kept = request.without_credentials()
    assert (kept.headers, kept.query, kept.body) == ({"webhook-id": "msg_1"}, {"form": "f1"}, b"{}")
    assert not any(secret in repr(request) for secret in ("s3cret", "k3y", "t0ken"))
    assert "msg_1" in repr(request) and "f1" in repr(request)


def test_json_top_level_scalar_and_array():
    assert make(b"[1]").json() == [1]
    assert make(b'"x"').json() == "x"


# --- form ---------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"


def test_form_decodes_repeated_and_blank_values():
    assert make(b"a=1&b=2&a=3&c=&d=x+y%21", FORM).form() == {"a": ["1", "3"], "b": ["2"], "c": [""], "d": ["x y!"]}


def test_form_empty_body_is_empty_dict():
    assert make(b"", FORM).form() == {}


def test_form_utf8_percent_encoding():
    assert make(b"name=Ren%C3%A9e", FORM).form() == {"name": ["Renée"]}


def test_form_wrong_content_type():
    with pytest.raises(UnsupportedMediaType) as caught:
        make(b"a=1", "application/json").form()
    assert caught.value.message == (
        "content type 'application/json' is not accepted; send application/x-www-form-urlencoded"
    )


def test_form_field_without_equals_is_malformed():
    with pytest.raises(MalformedBody) as caught:
        make(b"a=1&b", FORM).form()
    assert caught.value.message == "the body is not valid form data: bad query field: 'b'"


def test_form_invalid_utf8():
    with pytest.raises(MalformedBody) as caught:
        make(b"a=\xff", FORM).form()
    assert caught.value.message.startswith("the body is not valid form data: 'utf-8' codec can't decode byte 0xff")


# --- xml ----------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", "application/soap+xml", "application/atom+xml"])
def test_xml_decodes(content_type):
    root = make(b'<?xml version="1.0"?><survey id="7"><score>9</score></survey>', content_type).xml()
    assert root.tag == "survey"
    assert root.get("id") == "7"
    assert root.findtext("score") == "9"


def test_xml_wrong_content_type():
    with pytest.raises(UnsupportedMediaType) as caught:
        make(b"<a/>", "application/json").xml()
    assert caught.value.message == (
        "content type 'application/json' is not accepted; send application/xml, text/xml, application/soap+xml"
    )


@pytest.mark.parametrize(
    "body, detail",
    [
        (b"<a>", "no element found: line 1, column 3"),
        (b"", "no element found: line 1, column 0"),
        (b"<a></b>", "mismatched tag"),
        (b"not xml", "syntax error"),
        (b"<a/><b/>", "junk after document element"),
        (b"<a>\xff</a>", "not well-formed (invalid token)"),
    ],
)
def test_xml_malformed(body, detail):
    with pytest.raises(MalformedBody) as caught:
        make(body, "application/xml").xml()
    assert caught.value.message.startswith("the body is not valid XML: ")
    assert detail in caught.value.message


BILLION_LAUGHS = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(
    b'<!ENTITY %s "%s">' % (bytes([97 + level]), (b"&" + bytes([96 + level]) + b";") * 10) for level in range(1, 9)
) + b"]><l>&i;</l>"
QUADRATIC = b'<!DOCTYPE q [<!ENTITY x "' + b"x" * 50_000 + b'">]><q>' + b"&x;" * 10_000 + b"</q>"
DOCTYPE = "a document type declaration (<!DOCTYPE ...>)"


@pytest.mark.parametrize(("body", "refused"), [
    (BILLION_LAUGHS, DOCTYPE),
    (QUADRATIC, DOCTYPE),
    (b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>', DOCTYPE),
    (b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>', DOCTYPE),
    (b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><a/>', DOCTYPE),
    (b"<!DOCTYPE a><a/>", DOCTYPE),  # a DTD alone, declaring nothing
    (b'<?xml version="1.0"?>\n<!DOCTYPE a []>\n<a>1</a>', DOCTYPE),
], ids=["billion-laughs", "quadratic-blowup", "external-entity", "external-dtd", "parameter-entity", "dtd-alone",
        "empty-internal-subset"])
def test_xml_with_a_dtd_is_refused_before_anything_expands(body, refused):
    with pytest.raises(MalformedBody) as caught:
        make(body, "application/xml").xml()
    assert caught.value.message == (f"the body is refused: XML with {refused} is not accepted: it could expand or "
                                    "fetch what the request does not carry")


def test_an_undeclared_entity_is_malformed():
    with pytest.raises(MalformedBody, match="not valid XML: undefined entity: line 1, column 3"):
        make(b"<a>&e;</a>", "application/xml").xml()


def test_predefined_and_character_entities_still_decode():
    root = make(b"<a>&lt;&amp;&#233;&#x263A;</a>", "application/xml").xml()
    assert root.text == "<&\u00e9\u263a"


def test_xinclude_is_refused():
    body = (b'<a xmlns:xi="http://www.w3.org/2001/XInclude"><b><xi:include href="file:///etc/passwd" '
            b'parse="text"/></b></a>')
    with pytest.raises(MalformedBody) as caught:
        make(body, "application/xml").xml()
    assert caught.value.message == "the body is refused: XML with XInclude elements is not accepted"


@pytest.mark.parametrize("depth", [MAX_XML_DEPTH + 1, 300_000])
def test_xml_nested_too_deep_is_refused(depth):
    body = b"<a>" * depth + b"</a>" * depth
    with pytest.raises(MalformedBody) as caught:
        make(body, "application/xml").xml()
    assert caught.value.message == f"the body is refused: XML nested deeper than {MAX_XML_DEPTH} elements"


def test_xml_nested_to_the_limit_decodes():
    body = b"<a>" * MAX_XML_DEPTH + b"deep" + b"</a>" * MAX_XML_DEPTH
    root = make(body, "application/xml").xml()
    assert [node.text for node in root.iter()][-1] == "deep" and len(list(root.iter())) == MAX_XML_DEPTH


def test_xml_siblings_do_not_count_as_depth():
    body = b"<r>" + b"<i>1</i>" * (MAX_XML_DEPTH * 4) + b"</r>"
    assert len(make(body, "application/xml").xml()) == MAX_XML_DEPTH * 4


def test_xml_unknown_encoding_is_malformed():
    with pytest.raises(MalformedBody):
        make(b'<?xml version="1.0" encoding="no-such-charset"?><a/>', "application/xml").xml()


# --- content type edge ----------------------------------------------------------


def test_bare_suffix_is_not_a_media_type():
    with pytest.raises(UnsupportedMediaType):
        make(b"{}", "json").json()


# --- header -------------------------------------------------------------------


def test_header_lookup_is_case_insensitive():
    request = make(b"{}", headers={"x-signature": "sha256=abc", "webhook-id": "msg_1"})
    assert request.header("X-Signature") == "sha256=abc"
    assert request.header("x-signature") == "sha256=abc"
    assert request.header("WEBHOOK-ID") == "msg_1"


def test_header_missing_is_none():
    assert make(b"{}", headers={"x-signature": "abc"}).header("X-Other") is None


def test_request_defaults():
    request = InboundRequest(method="POST", path="/hooks/app", body=b"")
    assert request.content_type == ""
    assert dict(request.headers) == {}
    assert dict(request.query) == {}


def test_require_header_names_the_missing_header():
    request = make(b"{}", headers={"webhook-id": "msg_1", "empty": ""})
    assert request.require_header("Webhook-Id") == "msg_1"
    for name in ("webhook-timestamp", "empty"):
        with pytest.raises(MissingHeader) as caught:
            request.require_header(name, "event time")
        assert (caught.value.header, caught.value.message, caught.value.status) == (
            name, f"the {name} header is missing: it gives the event time", 422)


def test_body_to_keep_is_what_without_credentials_and_the_trace_keep():
    request = InboundRequest(method="POST", path="/hooks/v", body=b"<a><SessionId>live</SessionId></a>",
                             content_type="text/xml", query={"token": "t"},
                             body_to_keep=lambda body: body.replace(b"live", b""))
    kept = request.without_credentials()
    assert kept.body == b"<a><SessionId></SessionId></a>" and kept.query == {}
    assert "live" not in repr(request)
    assert request.body == b"<a><SessionId>live</SessionId></a>"  # what the plugin parses is untouched
