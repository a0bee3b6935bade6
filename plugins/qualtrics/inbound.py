"""Qualtrics event subscriptions: the form Qualtrics POSTs, its HMAC, and the thin event it becomes.

An event subscription (`POST /API/v3/eventsubscriptions` with `topics`, `publicationUrl` and a
`sharedKey`) makes Qualtrics POST a form with `Topic` (e.g.
`{brand}.surveyengine.completedResponse.{SurveyID}`), `MSG` (a JSON string with `SurveyID`,
`ResponseID`, `CompletedDate`, ...) and `HMAC`: the hex HMAC-SHA512 of the `MSG` value, keyed with
the shared key. The form names a response by id only: the event is stored thin and the answers
are fetched after the 202 (plugins/qualtrics/enrich.py).
"""

from __future__ import annotations

import time

import orjson

from hub.plugin import (
    EventDraft,
    InboundRequest,
    Link,
    MalformedBody,
    Parsed,
    Reply,
    Source,
    UnrecognizedPayload,
    parse_time,
    require_id,
    verify_hmac,
)

RESPONSE_TOPICS = ("completedResponse",)
SURVEY_ENGINE = "surveyengine"
SYSTEM = "qualtrics"


def field(request: InboundRequest, name: str) -> str:
    """The single value of a form field; 400 when it is missing or repeated."""
    values = request.form().get(name)
    if not values:
        raise MalformedBody(f"the Qualtrics form has no {name} field")
    if len(values) > 1:
        raise MalformedBody(f"the Qualtrics form has {len(values)} {name} fields")
    return values[0]


def verify(source: Source, request: InboundRequest) -> None:
    message = field(request, "MSG")
    signatures = request.form().get("HMAC") or []
    verify_hmac(source.settings["shared_key"].reveal(), message.encode("utf-8"),
                signatures[0] if len(signatures) == 1 else None, header="HMAC", algorithm="sha512")


def topic_event(topic: str) -> str:
    """`completedResponse` of `peopleplus.surveyengine.completedResponse.SV_x`; 422 if not a survey-engine topic."""
    parts = topic.split(".")
    if SURVEY_ENGINE not in parts[:-1]:
        raise UnrecognizedPayload(f"expected a surveyengine topic, got Topic {topic!r}")
    return parts[parts.index(SURVEY_ENGINE) + 1]


def parse(source: Source, request: InboundRequest) -> Parsed:
    try:
        message = orjson.loads(field(request, "MSG"))
    except orjson.JSONDecodeError as error:
        raise MalformedBody(f"the MSG field is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise MalformedBody(f"the MSG field is not a JSON object, got {type(message).__name__}")
    topic = field(request, "Topic")
    kind = topic_event(topic)
    if kind not in RESPONSE_TOPICS:
        return Parsed(reply=Reply(200, b"ignored"))  # no response to read; answered so Qualtrics does not resend
    response_id = require_id(message, "ResponseID")
    survey_id = require_id(message, "SurveyID")
    completed = message.get("CompletedDate")
    attributes = {"topic": kind, "survey_id": survey_id}
    for key, name in (("Status", "status"), ("DistributionID", "distribution_id"), ("BrandID", "brand_id")):
        if isinstance(message.get(key), str) and message[key]:
            attributes[name] = message[key]
    return Parsed(events=[EventDraft(
        type="cx.survey.response",
        vendor_event_id=f"{response_id}:{kind}",
        time=parse_time(completed, "CompletedDate") if completed else parse_time(time.time()),
        link=Link(system=SYSTEM, id=response_id, type="response"),
        attributes=attributes,
        enrich=True,
    )])

