"""Any field of Intercom's captured notifications replaced by any JSON: a valid canonical event or a clear 4xx."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import plugins.intercom as intercom
from hub.events.canonical import UnstorableEvent, build_event, validate_event
from hub.plugin import InboundRequest, RequestRejected, Source
from hub.plugin.settings import Secret
from plugins.intercom.settings import IntercomSourceSettings
from tests.conftest import fixture_bytes

SCALARS = st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64 - 1) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=4), max_leaves=20)
SOURCE = Source("intercom", "intercom", {**IntercomSourceSettings().load({}, partial=["secret"]),
                                         "secret": Secret("x" * 8, "X")})
SAMPLES = [orjson.loads(fixture_bytes(f"intercom/{name}")) for name in (
    "zulip_conversation_user_replied.json", "conversation_user_created_v2.json")]
ITEM = ["data", "item"]
PATHS = [["id"], ["topic"], ["type"], ["created_at"], ["data"], ITEM, *([*ITEM, key] for key in (
    "id", "type", "user", "contacts", "source", "conversation_message", "conversation_parts", "links", "tags",
    "assignee", "state", "created_at", "updated_at")),
    [*ITEM, "conversation_parts", "conversation_parts"], [*ITEM, "links", "conversation_web"]]
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutate(sample: dict, path: list[str], value: Any) -> dict:
    mutated = copy.deepcopy(sample)
    target: Any = mutated
    for part in path[:-1]:
        target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            return mutated
    target[path[-1]] = value
    return mutated


@PROPERTY
@given(st.sampled_from([0, 1]), st.sampled_from(PATHS), JSON)
@example(0, ["topic"], "conversation.admin.closed")
@example(0, [*ITEM, "user"], {"id": True, "email": ["x"], "name": 3})
@example(0, [*ITEM, "conversation_parts"], {"conversation_parts": [None, {"body": 5, "author": []}]})
@example(1, [*ITEM, "contacts"], [{"id": 2**64 - 1}])
@example(1, [*ITEM, "source"], {"body": "<p>" * 1000, "author": {"type": "user", "email": ""}})
@example(0, [*ITEM, "updated_at"], 2**63)
@example(0, ["id"], None)
@example(0, ["id"], [None, {"x" * 600: 1}])
@example(0, [*ITEM, "id"], {"id": 1})
def test_a_captured_notification_with_any_field_replaced(index, path, value):
    try:
        body = orjson.dumps(_mutate(SAMPLES[index], path, value), option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return
    request = InboundRequest("POST", "/hooks/intercom", body, "application/json", {})
    try:
        parsed = intercom.cxhub_parse_request(source=SOURCE, request=request)
    except RequestRejected as rejected:
        assert 400 <= rejected.status < 500 and rejected.message
        return
    for draft in parsed.events:
        try:
            validate_event(build_event(SOURCE.name, draft))
        except UnstorableEvent:  # a NUL or an over-long text: the core answers 422 and quarantines it
            pass
