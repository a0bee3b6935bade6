"""hub/events/storable.py: what every backend can store, checked before anything is."""

from __future__ import annotations

import pytest

from hub.events.canonical import event_schema
from hub.events.storable import BOUNDED_FIELDS, escape_unstorable, unstorable_field
from hub.store.tables import events as events_table

EVENT = {"subject": "r-1", "data": {"vendor_event_id": "e-1", "text": "fine", "customer": {"id": None, "email": None},
                                    "link": {"id": "r-1"}, "attributes": {"form": "f"}}}


def with_value(path: tuple[str, ...], value: object) -> dict:
    event = {"subject": "r-1", "data": {**EVENT["data"], "customer": dict(EVENT["data"]["customer"]),
                                        "link": dict(EVENT["data"]["link"]), "attributes": {}}}
    target = event
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return event


def test_an_ordinary_event_is_storable():
    assert unstorable_field(EVENT) is None


@pytest.mark.parametrize("value", ["\ufffe", "\uffff", "\U0010ffff", "\x01\x1b[31m", "\u202e", "\ufeff", "e\u0301"])
def test_non_characters_controls_and_bidi_are_storable(value):
    assert unstorable_field(with_value(("data", "text"), value)) is None


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("data", "customer", "email"), "a\x00@example.com", "data.customer.email contains U+0000 (NUL)"),
    (("data", "vendor_event_id"), "e\x00", "data.vendor_event_id contains U+0000 (NUL)"),
    (("data", "text"), "x\ud800", "data.text contains U+D800 (a lone surrogate)"),
    (("data", "attributes", "hidden.x"), "\udfff", "data.attributes.hidden.x contains U+DFFF"),
    (("data", "attributes", "a\x00b"), "v", "data.attributes.a\\u0000b contains U+0000"),
    (("data", "customer", "email"), "a" * 315 + "@x.com", "data.customer.email is 321 characters long, over the 320"),
    (("data", "vendor_event_id"), "9" * 513, "data.vendor_event_id is 513 characters long, over the 512"),
])
def test_unstorable_values_are_named(path, value, expected):
    assert expected in unstorable_field(with_value(path, value))


def test_escape_unstorable_writes_escapes_and_leaves_the_rest():
    assert escape_unstorable("a\x00b\ud800c\u202e") == "a\\u0000b\\ud800c\u202e"
    assert escape_unstorable("plain") == "plain"


def _schema_at(path: tuple[str, ...]) -> dict:
    schema = event_schema()
    node = schema
    for part in path:
        node = node["properties"][part]
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


COLUMNS = {("subject",): "subject", ("data", "vendor_event_id"): "vendor_event_id", ("data", "link", "id"): "subject",
           ("data", "customer", "id"): "customer_id", ("data", "customer", "email"): "customer_email"}


@pytest.mark.parametrize("path", BOUNDED_FIELDS, ids=".".join)
def test_bounded_fields_match_the_schema_and_the_store_columns(path):
    assert _schema_at(path)["maxLength"] == BOUNDED_FIELDS[path]
    assert events_table.c[COLUMNS[path]].type.length == BOUNDED_FIELDS[path]


def test_a_typed_backslash_u_0000_is_text_and_storable():
    assert unstorable_field(with_value(("data", "text"), "see \\u0000 in the log")) is None


def test_values_json_cannot_hold_still_get_their_strings_checked():
    assert unstorable_field(with_value(("data", "text"), 2**70)) is None  # left to schema validation
    assert "U+0000" in unstorable_field(with_value(("data", "attributes"), {"n": 2**70, "x": "\x00"}))
