"""hub/events/canonical.py: CloudEvents built from EventDrafts, ids, and schema validation."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from hub.events.canonical import (
    EVENT_ID_NAMESPACE,
    SCHEMA_ID,
    InvalidEvent,
    UnstorableEvent,
    build_event,
    event_id,
    event_schema,
    validate_event,
)
from hub.plugin.score import Score
from hub.plugin.types import EVENT_TYPES, Customer, EventDraft, Link

CEST = timezone(timedelta(hours=2))


def draft(**overrides) -> EventDraft:
    fields = dict(
        type="cx.survey.response",
        vendor_event_id="resp-1001",
        time=datetime(2024, 5, 1, 14, 30, tzinfo=CEST),
        link=Link("surveys", "1001", "https://surveys.example.com/r/1001", "response"),
        customer=Customer("c1", "ann@example.com", "Ann Lee"),
        score=Score.nps(2),
        text="The export keeps failing.",
        attributes={"form": "f1"},
    )
    fields.update(overrides)
    return EventDraft(**fields)


EXPECTED = {
    "specversion": "1.0",
    "id": "c63a70a2-bc5c-54c8-a83f-aea7b534931e",
    "source": "/sources/app",
    "type": "cx.survey.response",
    "time": "2024-05-01T12:30:00Z",
    "subject": "1001",
    "datacontenttype": "application/json",
    "dataschema": "urn:cxhub:schema:customer-event:1",
    "data": {
        "customer": {"id": "c1", "email": "ann@example.com", "name": "Ann Lee"},
        "score": {"type": "nps", "value": 2, "min": 0, "max": 10, "band": "negative"},
        "text": "The export keeps failing.",
        "link": {"system": "surveys", "id": "1001", "url": "https://surveys.example.com/r/1001", "type": "response"},
        "vendor_event_id": "resp-1001",
        "attributes": {"form": "f1"},
        "update": False,
    },
}


def invalid(event) -> str:
    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)
    return str(caught.value)


def mutated(change) -> dict:
    event = copy.deepcopy(build_event("app", draft()))
    change(event)
    return event


# --- build_event ------------------------------------------------------------------


def test_build_event_exact_envelope():
    event = build_event("app", draft())
    assert event == EXPECTED
    assert validate_event(event) is None


def test_build_event_minimal_draft_is_valid():
    event = build_event("zendesk-eu", draft(customer=Customer(), score=None, text=None, attributes={},
                                            link=Link("zendesk", "42")))
    assert event["data"]["customer"] == {"id": None, "email": None, "name": None}
    assert event["data"]["score"] is None
    assert event["data"]["text"] is None
    assert event["data"]["link"] == {"system": "zendesk", "id": "42", "url": None, "type": None}
    assert event["data"]["attributes"] == {}
    assert event["source"] == "/sources/zendesk-eu"
    validate_event(event)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_is_valid(event_type):
    validate_event(build_event("app", draft(type=event_type)))


@pytest.mark.parametrize(
    "moment, rendered",
    [
        (datetime(2024, 5, 1, 14, 30, tzinfo=CEST), "2024-05-01T12:30:00Z"),
        (datetime(2024, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))), "2024-01-01T05:00:00Z"),
        (datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=timezone.utc), "2024-05-01T12:30:00.123456Z"),
    ],
)
def test_time_is_utc_with_z(moment, rendered):
    event = build_event("app", draft(time=moment))
    assert event["time"] == rendered
    validate_event(event)


def test_score_float_normalised_in_event():
    event = build_event("app", draft(score=Score("csat", 4.0, 1.0, 5.0)))
    assert event["data"]["score"] == {"type": "csat", "value": 4, "min": 1, "max": 5, "band": "positive"}


def test_attributes_are_copied():
    attributes = {"form": "f1"}
    event = build_event("app", draft(attributes=attributes))
    event["data"]["attributes"]["x"] = "y"
    assert attributes == {"form": "f1"}


def test_schema_id_matches_schema_file():
    assert event_schema()["$id"] == SCHEMA_ID


# --- event_id ---------------------------------------------------------------------------


def test_event_id_is_stable():
    assert event_id("app", "resp-1001") == "c63a70a2-bc5c-54c8-a83f-aea7b534931e"
    assert event_id("app", "resp-1001") == build_event("app", draft())["id"]
    assert str(EVENT_ID_NAMESPACE) == "6f1d6c1e-8f63-4f7e-9f55-0c8e1a3b7d21"


def test_event_id_is_a_uuid5():
    parsed = uuid.UUID(event_id("app", "resp-1001"))
    assert parsed.version == 5


def test_event_id_differs_per_source_name():
    assert event_id("other", "resp-1001") == "e5ddea68-3962-5cc5-b5eb-37673e9f3631"
    assert build_event("other", draft())["id"] != build_event("app", draft())["id"]


def test_event_id_differs_per_vendor_event_id():
    assert event_id("app", "resp-1002") != event_id("app", "resp-1001")


def test_event_id_ignores_everything_else():
    assert build_event("app", draft(text="edited", time=datetime(2030, 1, 1, tzinfo=timezone.utc)))["id"] == (
        EXPECTED["id"]
    )


# --- validate_event ---------------------------------------------------------------------


def test_bad_email_from_a_draft():
    event = build_event("app", draft(customer=Customer(email="not-an-email")))
    assert invalid(event) == "data/customer/email: 'not-an-email' is not a 'email'"


def test_unknown_type():
    message = invalid(mutated(lambda e: e.update(type="cx.unknown")))
    assert message.startswith("type: 'cx.unknown' is not one of ['cx.survey.response', ")


@pytest.mark.parametrize("field", ["customer", "score", "text", "link", "vendor_event_id", "attributes"])
def test_missing_data_field(field):
    assert invalid(mutated(lambda e: e["data"].pop(field))) == f"data: '{field}' is a required property"


def test_missing_envelope_field():
    assert invalid(mutated(lambda e: e.pop("subject"))) == "(root): 'subject' is a required property"


def test_score_band_wrong():
    message = invalid(mutated(lambda e: e["data"]["score"].update(band="great")))
    assert message.startswith("data/score: {'type': 'nps', 'value': 2, ")
    assert message.endswith("is not valid under any of the given schemas")


def test_score_type_wrong():
    message = invalid(mutated(lambda e: e["data"]["score"].update(type="stars")))
    assert message.startswith("data/score: ")


def test_attribute_values_must_be_strings():
    event = build_event("app", draft(attributes={"count": 12}))
    assert invalid(event) == "data/attributes/count: 12 is not of type 'string'"


def test_empty_link_id():
    assert invalid(build_event("app", draft(link=Link("surveys", "")))) == "subject: '' should be non-empty"


def test_empty_vendor_event_id():
    assert invalid(build_event("app", draft(vendor_event_id=""))) == "data/vendor_event_id: '' should be non-empty"


def test_source_name_must_be_lower_case():
    assert invalid(build_event("App", draft())) == (
        "source: '/sources/App' does not match '^/sources/[a-z0-9][a-z0-9_-]*$'"
    )


def test_extra_property():
    assert invalid(mutated(lambda e: e["data"]["customer"].update(phone="+1"))) == (
        "data/customer: Additional properties are not allowed ('phone' was unexpected)"
    )


def test_bad_time():
    assert invalid(mutated(lambda e: e.update(time="yesterday"))) == "time: 'yesterday' is not a 'date-time'"


def test_customer_id_must_be_a_string():
    assert invalid(mutated(lambda e: e["data"]["customer"].update(id=12))) == (
        "data/customer/id: 12 is not of type 'string', 'null'"
    )


def test_link_url_must_be_a_uri():
    assert invalid(build_event("app", draft(link=Link("surveys", "1", "not a uri")))).startswith("data/link/url")


# --- EventDraft ----------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", ["cx.unknown", "survey.response", "", "CX.SURVEY.RESPONSE"])
def test_draft_rejects_unknown_type(event_type):
    with pytest.raises(ValueError) as caught:
        draft(type=event_type)
    assert str(caught.value) == f"event type must be one of {EVENT_TYPES}, got {event_type!r}"


def test_draft_rejects_naive_datetime():
    with pytest.raises(ValueError) as caught:
        draft(time=datetime(2024, 5, 1, 12, 30))
    assert str(caught.value) == "event time must be timezone-aware"


@pytest.mark.parametrize(("overrides", "named"), [
    ({"customer": Customer("c1", "ann\x00@example.com", None)}, "data.customer.email contains U+0000"),
    ({"vendor_event_id": "resp\x00-1"}, "data.vendor_event_id contains U+0000"),
    ({"text": "broken \ud83d half"}, "data.text contains U+D83D"),
    ({"link": Link("surveys", "9" * 600)}, "subject is 600 characters long"),
])
def test_build_event_refuses_what_a_backend_cannot_store(overrides, named):
    with pytest.raises(UnstorableEvent) as caught:
        build_event("app", draft(**overrides))
    assert named in str(caught.value)
    assert isinstance(caught.value, InvalidEvent)
