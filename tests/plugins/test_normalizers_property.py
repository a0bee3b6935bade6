"""Arbitrary JSON fed to every built-in source: a valid canonical event or a clear 4xx, never a crash.

Runs the plugins' parse hook directly (the signature is the verify hook's business), so Hypothesis
can try thousands of shapes quickly, including mutations of each vendor's documented sample.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import plugins.delighted as delighted
import plugins.typeform as typeform
import plugins.webhook as webhook
from hub.events.canonical import UnstorableEvent, build_event, validate_event
from hub.plugin import InboundRequest, RequestRejected, Source
from hub.plugin.settings import Secret
from plugins.delighted.settings import DelightedSourceSettings
from plugins.typeform.settings import TypeformSourceSettings
from plugins.webhook.settings import MappingSchema, ScaleSchema, SignatureSchema
from tests.conftest import fixture_bytes

SCALARS = st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64 - 1) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=4), max_leaves=20)
TYPEFORM_SAMPLE = orjson.loads(fixture_bytes("typeform/form_response.json"))
TYPEFORM = Source("typeform", "typeform", {**TypeformSourceSettings().load({}, partial=["secret"]),
                                           "secret": Secret("x" * 8, "X")})
WEBHOOK = Source("app", "webhook", {
    "secret": Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "X"), "previous_secret": None, "system": "app",
    "signature": SignatureSchema().load({}), "body": "json",
    "event_type": "cx.survey.response", "score_scale": ScaleSchema().load({"type": "nps", "min": 0, "max": 10}),
    "mapping": MappingSchema().load({"object_id": "a.id", "score": "a.score", "text": "a.text", "object_url": "a.url",
                                     "customer_email": "a.email", "time": "a.time", "event_id": "a.event"}),
})
DELIGHTED_SAMPLE = orjson.loads(fixture_bytes("delighted/survey_response_updated.json"))
DELIGHTED = Source("delighted", "delighted", {**DelightedSourceSettings().load({}, partial=["secret"]),
                                             "secret": Secret("x" * 8, "X")})
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(plugin: Any, source: Source, payload: Any) -> None:
    """Parse, then validate every event; a RequestRejected (4xx) is an acceptable answer."""
    try:
        body = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers beyond 64 bits: orjson cannot write them (their parsing is tested elsewhere)
        return
    request = InboundRequest("POST", "/hooks/x", body, "application/json",
                             {"webhook-id": "msg_1", "webhook-timestamp": "1700000000"})
    try:
        drafts = plugin.cxhub_parse_request(source=source, request=request)
    except RequestRejected as rejected:
        assert 400 <= rejected.status < 500 and rejected.message
        return
    for draft in drafts:
        try:
            event = build_event(source.name, draft)
        except UnstorableEvent:  # a NUL or an over-long id: answered 422 and quarantined, never a 500
            continue
        validate_event(event)


@PROPERTY
@given(JSON)
def test_typeform_any_json(payload):
    outcome(typeform, TYPEFORM, payload)


def _mutate(sample: dict, path: list[str | int], value: Any) -> dict:
    mutated = copy.deepcopy(sample)
    target: Any = mutated
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return mutated


ANSWER_PATHS = [["form_response", "answers", index, key] for index in range(13)
                for key in ("type", "number", "text", "email", "field")]
SCALE_PATHS = [["form_response", "definition", "fields", 9, key] for key in ("type", "properties", "id")]
SAMPLE_PATHS = [*SCALE_PATHS, ["event_id"], ["event_type"], ["form_response"], ["form_response", "token"],
                ["form_response", "submitted_at"], ["form_response", "hidden"], ["form_response", "definition"],
                ["form_response", "definition", "fields"], ["form_response", "answers"], *ANSWER_PATHS]


@PROPERTY
@given(st.sampled_from(SAMPLE_PATHS), JSON)
@example(["form_response", "answers", 1, "email"], "n/a")
@example(["form_response", "answers", 0, "text"], True)
@example(["form_response", "definition", "fields"], True)
@example(["form_response", "answers"], "none")
@example(["form_response", "answers", 9, "number"], False)
@example(["form_response", "definition", "fields", 9, "id"], [])
@example(["form_response", "answers", 9, "field"], {"id": {"x": 1}, "type": "opinion_scale"})
@example(["form_response", "definition", "fields", 9, "properties"], {"steps": "ten", "start_at_one": "yes"})
@example(["form_response", "hidden"], {"user_id": 2**64 - 1, "email": ["x"]})
def test_typeform_documented_sample_with_any_field_replaced(path, value):
    outcome(typeform, TYPEFORM, _mutate(TYPEFORM_SAMPLE, path, value))


@PROPERTY
@given(st.fixed_dictionaries({"a": st.fixed_dictionaries({}, optional={
    "id": JSON, "score": JSON, "text": JSON, "email": JSON, "url": JSON, "time": JSON, "event": JSON})}) | JSON)
def test_webhook_mapping_any_json(payload):
    outcome(webhook, WEBHOOK, payload)


DELIGHTED_PATHS = [["event_id"], ["event_type"], ["event_data"], *(["event_data", key] for key in (
    "id", "person", "survey_type", "score", "comment", "permalink", "created_at", "updated_at", "person_properties",
    "tags", "additional_answers", "person_id", "unsubscribed_at")), ["event_data", "person", "email"],
    ["event_data", "person", "id"], ["event_data", "additional_answers", 0, "value"],
    ["event_data", "additional_answers", 0, "question"]]


@PROPERTY
@given(st.sampled_from(DELIGHTED_PATHS), JSON)
@example(["event_type"], "unsubscribe.created")
@example(["event_data", "score"], 9.5)
@example(["event_data", "survey_type"], "thumbs")
@example(["event_data", "created_at"], 2**63)
@example(["event_data", "person"], 2**64 - 1)
@example(["event_data", "tags"], [{"name": ["x"]}, None, 3])
@example(["event_data", "additional_answers", 0, "value"], {"select_one": {"text": 1}, "scale": True})
def test_delighted_documented_sample_with_any_field_replaced(path, value):
    outcome(delighted, DELIGHTED, _mutate(DELIGHTED_SAMPLE, path, value))
