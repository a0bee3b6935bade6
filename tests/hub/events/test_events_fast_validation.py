"""The compiled check (fastjsonschema) that lets valid events through fast agrees with jsonschema.

`validate_event` trusts the compiled check's "valid" and asks jsonschema only about the rest,
so the accepted events are jsonschema's exactly when the compiled check never passes an event
jsonschema refuses. These tests hold it to that: the schema keeps to keywords that mean the
same in draft 7 and 2020-12, and on valid events and on many mutations of them both agree.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.events.canonical import (
    _annotation_schema,
    _fast_annotation_check,
    _fast_event_check,
    _passes,
    build_event,
    event_schema,
    event_validator,
    validate_annotation,
)
from hub.plugin.score import Score
from hub.plugin.types import EVENT_TYPES, Customer, EventDraft, Link


def draft(**overrides: Any) -> EventDraft:
    fields: dict[str, Any] = dict(
        type="cx.survey.response", vendor_event_id="resp-1001", time=datetime(2024, 5, 1, 14, 30, tzinfo=timezone.utc),
        link=Link("surveys", "1001", "https://surveys.example.com/r/1001", "response"),
        customer=Customer("c1", "ann@example.com", "Ann Lee"), score=Score.nps(2), text="The export keeps failing.",
        attributes={"form": "f1"})
    return EventDraft(**{**fields, **overrides})

# Keywords whose meaning draft 7 and 2020-12 share (annotations included); `$ref` only alone.
SHARED = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties", "required",
          "additionalProperties", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum",
          "oneOf", "anyOf", "allOf", "format", "items"}
ANNOTATION_KEYWORDS = {"title", "description"}


def keywords(schema: Any, path: str = "") -> list[tuple[str, str, dict]]:
    """(where, keyword, the schema object holding it) for every schema object under `schema`."""
    found = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.append((path, key, schema))
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    found.extend(keywords(sub, f"{path}/{key}/{name}"))
            elif key in ("oneOf", "anyOf", "allOf"):
                for position, sub in enumerate(value):
                    found.extend(keywords(sub, f"{path}/{key}/{position}"))
            elif key in ("additionalProperties", "items") and isinstance(value, dict):
                found.extend(keywords(value, f"{path}/{key}"))
    return found


def test_the_schema_keeps_to_keywords_that_draft_7_reads_the_same():
    unknown = {(where, key) for where, key, _ in keywords(event_schema()) if key not in SHARED}
    assert not unknown, f"keywords fastjsonschema's draft 7 may read differently: {unknown}"
    beside_ref = {(where, key) for where, key, holder in keywords(event_schema())
                  if "$ref" in holder and key not in ANNOTATION_KEYWORDS | {"$ref"}}
    assert not beside_ref, f"draft 7 ignores keywords beside $ref: {beside_ref}"


def agree(event: Any) -> None:
    fast, authority = _passes(_fast_event_check(), event), event_validator().is_valid(event)
    assert fast == authority, f"compiled check says {fast}, jsonschema {authority}, for {event!r}"


def test_both_pass_valid_events_of_every_type():
    for event_type in EVENT_TYPES:
        event = build_event("app", draft(type=event_type))
        assert _passes(_fast_event_check(), event)
        agree(event)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
                    | st.text(max_size=20)
                    | st.sampled_from(["", "x" * 513, "ann@example.com", "not-an-email", "2024-05-01T12:30:00Z",
                                       "2024-13-01T12:30:00Z", "yesterday", "https://example.com/r/1", "not a uri",
                                       "nps", "csat", "negative", "/sources/app", "/sources/App", "1.0",
                                       "cx.survey.response", 2.0, 10.5, -1, 11, True]),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                                                      max_size=3),
                    max_leaves=6)


def places(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a value inside an event (dict keys and list positions)."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(places(item, path + (key,)))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found.extend(places(item, path + (position,)))
    return found


BASE = build_event("app", draft())
PLACES = places(BASE)[1:]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PLACES), st.sampled_from(["set", "drop", "add"]), JSON,
                          st.text(min_size=1, max_size=8)), min_size=1, max_size=3))
def test_both_agree_on_mutated_events(changes):
    event = copy.deepcopy(BASE)
    for path, how, value, new_key in changes:
        holder: Any = event
        for part in path[:-1]:
            # A path leads on only through what an earlier change left: a dict with the key, a list with the index.
            if not isinstance(holder, (dict, list)) or (isinstance(holder, dict) and part not in holder) or \
                    (isinstance(holder, list) and (not isinstance(part, int) or part >= len(holder))):
                break
            holder = holder[part]
        else:
            last = path[-1]
            if isinstance(holder, dict) and last in holder:
                if how == "set":
                    holder[last] = value
                elif how == "drop":
                    del holder[last]
                else:
                    holder[new_key] = value
    agree(event)


@settings(max_examples=200, deadline=None)
@given(JSON | st.fixed_dictionaries({"label": st.sampled_from(["positive", "negative", "neutral", "mixed"]),
                                     "score": st.floats(-2, 2) | st.integers(-2, 2),
                                     "method": st.text(max_size=10)}))
def test_both_agree_on_annotations(value):
    from jsonschema import Draft202012Validator, FormatChecker

    authority = Draft202012Validator(_annotation_schema("sentiment"), format_checker=FormatChecker()).is_valid(value)
    assert _passes(_fast_annotation_check("sentiment"), value) == authority
    if not authority:  # and the message still comes from jsonschema
        try:
            validate_annotation("sentiment", value)
        except Exception as error:
            assert str(error).startswith("data.sentiment")
        else:
            raise AssertionError("an invalid annotation passed")


FORMATTED = {("time",): ["2024-05-01T12:30:00Z", "2024-05-01T12:30:00+02:00", "2024-05-01 12:30:00Z", "yesterday",
                         "2024-13-01T12:30:00Z", "2024-05-01T25:30:00Z", "2024-05-01T12:30:00"],
             ("data", "customer", "email"): ["ann@example.com", "not-an-email", "a@b", "@example.com", ""],
             ("data", "link", "url"): ["https://example.com/r/1", "not a uri", "/relative", "mailto:ann@example.com",
                                       "https://exa mple.com", ""]}


def test_both_agree_on_every_formatted_field():
    """Formats are where validators differ most: both use jsonschema's own checkers."""
    for path, values in FORMATTED.items():
        for value in values:
            event = copy.deepcopy(BASE)
            holder: Any = event
            for part in path[:-1]:
                holder = holder[part]
            holder[path[-1]] = value
            agree(event)
    assert not _passes(_fast_event_check(), {**BASE, "time": "yesterday"})
