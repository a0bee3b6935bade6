"""The inbound request as a plugin sees it, with the body decoders every source shares."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs
from xml.etree import ElementTree

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from hub.plugin.errors import MalformedBody, MissingHeader, UnsupportedMediaType
from hub.plugin.redaction import headers_to_keep, query_to_keep

JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"
XML_TYPES = ("application/xml", "text/xml", "application/soap+xml")
MAX_XML_DEPTH = 256  # elements nested deeper than this are refused (SOAP envelopes nest about ten)
XINCLUDE = "{http://www.w3.org/2001/XInclude}"
MAX_MEDIA_TYPE = 255  # RFC 6838: type and subtype names are at most 127 characters each
UTF8_BOM = b"\xef\xbb\xbf"

# orjson keeps integers exactly from -2**63 to 2**64 - 1 and turns any other into a float. Every
# integer outside that range has at least 19 digits, so a body without a run of 19 digits is
# parsed by orjson alone; one with such a run (rare: mostly long ids) is parsed again by the
# standard library, whose integers keep every digit. The run is found by mapping every digit to
# "0" and everything else to " ", then a substring search, both in C (about 1 us per KB).
_DIGITS_ONLY = bytes(ord("0") if 0x30 <= byte <= 0x39 else ord(" ") for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19


@dataclass(frozen=True)
class InboundRequest:
    """An HTTP request to `/hooks/<source>`, reduced to what signature checks and parsers need.

    `headers` keys are lower-case. `body` is the raw body, exactly as received: every
    signature is computed over it, never over a re-serialized form. `url` is the URL the hub
    received the request at, with the query string exactly as sent (not decoded), for vendors
    that sign the URL too (HubSpot); it is empty where no HTTP request was received (replays,
    `cxhub normalize`), and it is never kept, logged or shown, since its query may carry a token.
    `body_to_keep` is the source plugin's `SourceInfo.body_to_keep`, which `without_credentials`
    applies (credentials carried inside the body, such as Salesforce's SessionId).
    """

    method: str
    path: str
    body: bytes
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    body_to_keep: Callable[[bytes], bytes] | None = field(default=None, compare=False, repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def require_header(self, name: str, what: str | None = None) -> str:
        """The header's value; a missing or empty one raises MissingHeader naming it (and `what` it gives)."""
        value = self.header(name)
        if not value:
            raise MissingHeader(name, what)
        return value

    def without_credentials(self) -> InboundRequest:
        """This request without the headers, query parameters and body parts that authenticate: what the hub keeps."""
        body = self.body_to_keep(self.body) if self.body_to_keep else self.body
        return replace(self, headers=headers_to_keep(self.headers), query=query_to_keep(self.query), url="",
                       body=body)

    def __repr__(self) -> str:  # the plugin trace logs requests: never their credentials
        kept = self.without_credentials()
        return (f"InboundRequest(method={self.method!r}, path={self.path!r}, content_type={self.content_type!r}, "
                f"headers={dict(kept.headers)!r}, query={dict(kept.query)!r}, body={kept.body!r})")

    def require_content_type(self, *accepted: str) -> None:
        """Raise 415 unless the media type is one of `accepted` (or a `+json`/`+xml` variant)."""
        media_type = self.content_type
        if len(media_type) > MAX_MEDIA_TYPE:
            raise UnsupportedMediaType(f"the content type is over {MAX_MEDIA_TYPE} characters, which no media type is")
        if media_type in accepted:
            return
        base, plus, suffix = media_type.rpartition("+")
        if plus and "/" in base and f"application/{suffix}" in accepted:
            return
        wanted = ", ".join(accepted)
        raise UnsupportedMediaType(f"content type {media_type or '(none)'!r} is not accepted; send {wanted}")

    def json(self) -> Any:
        """Decode a JSON body (after checking the content type); 400 on bad JSON or bad UTF-8.

        Integers keep every digit, whatever their size (ids above 2**64 included); numbers with a
        fraction or an exponent are floats. A leading UTF-8 byte order mark is ignored (RFC 8259
        allows parsers to). Lone surrogates (`"\\ud800"`), NaN and Infinity are refused.
        """
        self.require_content_type(*JSON_TYPES)
        body = self.body[len(UTF8_BOM):] if self.body.startswith(UTF8_BOM) else self.body
        if not body:
            raise MalformedBody("the body is empty; a JSON document was expected")
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise MalformedBody(f"the body is not valid JSON: {error}") from None
        if _LONG_DIGIT_RUN in body.translate(_DIGITS_ONLY):
            return _exact_integers(body)
        return document

    def form(self) -> dict[str, list[str]]:
        """Decode an `application/x-www-form-urlencoded` body."""
        self.require_content_type(FORM_TYPE)
        try:
            text = self.body.decode("utf-8")
            return parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
        except (UnicodeDecodeError, ValueError) as error:
            raise MalformedBody(f"the body is not valid form data: {error}") from None

    def xml(self) -> ElementTree.Element:
        """Decode an XML body; 400 for a DTD, an entity declaration, XInclude or nesting past MAX_XML_DEPTH.

        Without a DTD no entity can be declared, so nothing expands or is fetched: what the tree
        holds is bounded by the body, itself bounded by `hub.max_body_bytes`.
        """
        self.require_content_type(*XML_TYPES)
        parser = DefusedXMLParser(target=_BoundedTreeBuilder(), forbid_dtd=True, forbid_entities=True,
                                  forbid_external=True)
        try:
            parser.feed(self.body)
            return parser.close()
        except DefusedXmlException as error:
            raise MalformedBody(f"the body is refused: {_refusal(error)}") from None
        except (ElementTree.ParseError, LookupError, ValueError) as error:
            raise MalformedBody(f"the body is not valid XML: {error}") from None


def _refusal(error: DefusedXmlException) -> str:
    what = {"DTDForbidden": "a document type declaration (<!DOCTYPE ...>)",
            "EntitiesForbidden": "an entity declaration (<!ENTITY ...>)",
            "ExternalReferenceForbidden": "a reference to an external resource"}.get(type(error).__name__, str(error))
    return f"XML with {what} is not accepted: it could expand or fetch what the request does not carry"


class _BoundedTreeBuilder(ElementTree.TreeBuilder):
    """ElementTree's builder, refusing XInclude elements and nesting deeper than MAX_XML_DEPTH."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> ElementTree.Element:
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise MalformedBody(f"the body is refused: XML nested deeper than {MAX_XML_DEPTH} elements")
        if tag.startswith(XINCLUDE):
            raise MalformedBody("the body is refused: XML with XInclude elements is not accepted")
        return super().start(tag, attrs)

    def end(self, tag: str) -> ElementTree.Element:
        self.depth -= 1
        return super().end(tag)


def _exact_integers(body: bytes) -> Any:
    """Parse a body orjson already accepted with the standard library, which keeps big integers exact.

    orjson checked the syntax, the UTF-8 and the surrogates; the standard library cannot differ
    from it on anything but integer precision, except that it recurses on nesting.
    """
    try:
        return json.loads(body.decode("utf-8"))
    except RecursionError:
        raise MalformedBody("the body nests too deeply to keep its large integers exact") from None
