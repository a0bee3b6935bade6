"""Delighted webhooks: signature check and normalization.

Signature: `X-Delighted-Webhook-Signature: sha256=` + hex(HMAC-SHA256(API key, raw body)).
`survey_response.created` and `survey_response.updated` are two events about one response
(the comment usually arrives only in the update); `unsubscribe.created` is a change to a
person. The score's scale follows the response's `survey_type`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    Link,
    Score,
    Source,
    UnrecognizedPayload,
    active_secrets,
    as_email,
    as_id,
    as_list,
    as_text,
    as_url,
    parse_time,
    require,
    require_id,
    verify_hmac,
)

SIGNATURE_HEADER = "X-Delighted-Webhook-Signature"
RESPONSE_EVENTS = ("survey_response.created", "survey_response.updated")
UNSUBSCRIBE_EVENT = "unsubscribe.created"
ScoreKind = Literal["nps", "csat", "ces", "rating"]
# survey_type -> (canonical score type, lowest score, highest score); CES's top follows `ces_points`.
SCALES: dict[str, tuple[ScoreKind, int, int]] = {
    "nps": ("nps", 0, 10),
    "enps": ("nps", 0, 10),
    "csat": ("csat", 1, 5),
    "smileys": ("csat", 1, 5),
    "ces": ("ces", 1, 5),
    "stars": ("rating", 1, 5),
    "five_star": ("rating", 1, 5),
    "thumbs": ("rating", 0, 1),
    "pmf": ("rating", 1, 3),
}
DEFAULT_SURVEY_TYPE = "nps"  # payloads from before Delighted offered other survey types have no survey_type


def verify(source: Source, request: InboundRequest) -> None:
    verify_hmac(active_secrets(source.settings), request.body, request.header(SIGNATURE_HEADER),
                header=SIGNATURE_HEADER, prefix="sha256=", encoding="hex")


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    payload = request.json()
    kind = payload.get("event_type") if isinstance(payload, dict) else type(payload).__name__
    if kind not in (*RESPONSE_EVENTS, UNSUBSCRIBE_EVENT):
        raise UnrecognizedPayload(f"expected a Delighted survey_response.created, survey_response.updated or "
                                  f"unsubscribe.created event, got {kind!r}")
    data = require(payload, "event_data")
    if not isinstance(data, dict):
        raise UnrecognizedPayload("event_data must be an object")
    event_id = require_id(payload, "event_id")
    if kind == UNSUBSCRIBE_EVENT:
        return [_unsubscribe(event_id, data)]
    return [_response(event_id, data, updated=kind == "survey_response.updated", settings=source.settings)]


def _response(event_id: str, data: Mapping[str, Any], *, updated: bool, settings: Mapping[str, Any]) -> EventDraft:
    survey_type = as_text(data.get("survey_type")) or DEFAULT_SURVEY_TYPE
    created = require(data, "created_at", "event_data.created_at")
    changed = data.get("updated_at") if updated else None  # an update happens when the response changed
    return EventDraft(
        type="cx.survey.response",
        vendor_event_id=event_id,
        time=parse_time(created, "event_data.created_at") if changed is None
        else parse_time(changed, "event_data.updated_at"),
        link=Link(system="delighted", id=require_id(data, "id", "event_data.id"),
                  url=as_url(data.get("permalink")), type="survey_response"),
        customer=_person(data.get("person")),
        score=_score(survey_type, require(data, "score", "event_data.score"), settings["ces_points"]),
        text=as_text(data.get("comment")),
        attributes=_attributes(survey_type, data),
        update=updated,
    )


def _score(survey_type: str, value: Any, ces_points: int) -> Score:
    if survey_type not in SCALES:
        raise UnrecognizedPayload(f"unknown survey_type {survey_type!r}; known: {', '.join(SCALES)}")
    kind, low, high = SCALES[survey_type]
    if survey_type == "ces":
        high = ces_points
    try:
        return Score(kind, value, low, high)
    except ValueError as error:
        raise UnrecognizedPayload(f"{survey_type} score: {error}") from None


def _person(person: Any) -> Customer:
    """The webhook's person object; the REST API's responses carry only the person's id instead."""
    if not isinstance(person, dict):
        return Customer(id=as_id(person) if isinstance(person, (str, int)) and not isinstance(person, bool) else None)
    return Customer(id=_id(person.get("id")), email=as_email(person.get("email")), name=as_text(person.get("name")))


def _id(value: Any) -> str | None:
    """An id as a string; an empty string, a boolean or an object is no id."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return as_id(value) or None


def _attributes(survey_type: str, data: Mapping[str, Any]) -> dict[str, str]:
    attributes = {"survey_type": survey_type}
    tags = [text for tag in as_list(data.get("tags")) if (text := _tag(tag))]
    if tags:
        attributes["tags"] = ",".join(tags)
    properties = data.get("person_properties")
    for key, value in (properties.items() if isinstance(properties, dict) else ()):
        if value is not None and not isinstance(value, (dict, list)):
            attributes[f"property.{key}"] = str(value)
    for answer in as_list(data.get("additional_answers")):
        question = answer.get("question") if isinstance(answer, dict) else None
        if isinstance(question, dict) and (question_id := _id(question.get("id"))):
            if (text := _answer_text(answer.get("value"))) is not None:
                attributes[f"answer.{question_id}"] = text
    return attributes


def _tag(tag: Any) -> str | None:
    if isinstance(tag, dict):
        return as_text(tag.get("name"))
    return as_text(tag)


def _answer_text(value: Any) -> str | None:
    """An additional answer as text: the free response, the scale value, or the chosen options' texts."""
    if not isinstance(value, dict):
        return None
    if (text := as_text(value.get("free_response"))) is not None:
        return text
    scale = value.get("scale")
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        return str(scale)
    chosen = [value.get("select_one"), *as_list(value.get("select_many"))]
    texts = [text for choice in chosen if isinstance(choice, dict) and (text := as_text(choice.get("text")))]
    return ", ".join(texts) or None


def _unsubscribe(event_id: str, data: Mapping[str, Any]) -> EventDraft:
    """A person unsubscribed: a change to the contact, with `unsubscribed: true` to route on."""
    person_id = _id(data.get("person_id"))
    if person_id is None:
        raise UnrecognizedPayload("an unsubscribe.created event must name the person (event_data.person_id)")
    moment = data.get("unsubscribed_at")
    return EventDraft(
        type="cx.contact.updated",
        vendor_event_id=event_id,
        # Without unsubscribed_at the unsubscribe has no time of its own: it is the time it arrived.
        time=parse_time(moment, "event_data.unsubscribed_at") if moment is not None else datetime.now(timezone.utc),
        link=Link(system="delighted", id=person_id, url=None, type="person"),
        customer=Customer(id=person_id, email=as_email(data.get("email")), name=as_text(data.get("name"))),
        attributes={"unsubscribed": "true"},
    )
