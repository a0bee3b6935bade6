"""SurveyMonkey webhooks: signature check, and the thin event a notification becomes.

SurveyMonkey signs each notification: `Sm-Signature` is the base64 HMAC-SHA1 of the raw body,
keyed with `client_id&client_secret`, and `Sm-Apikey` carries the client id. Before it
creates a webhook it sends a `HEAD` to the URL, which must answer 200. A notification names a
response by id only (`object_id`, `resources.survey_id`): the event is stored thin and its
details are fetched after the 202 (plugins/surveymonkey/enrich.py).
"""

from __future__ import annotations

import hmac

from hub.plugin import (
    EventDraft,
    InboundRequest,
    InvalidSignature,
    Link,
    Parsed,
    Reply,
    Source,
    UnrecognizedPayload,
    dig,
    parse_time,
    require,
    require_id,
    verify_hmac,
)

SIGNATURE_HEADER = "Sm-Signature"
API_KEY_HEADER = "Sm-Apikey"
RESPONSE_EVENTS = ("response_completed", "response_updated", "response_created", "response_disqualified",
                   "response_overquota")
IGNORED_EVENTS = ("response_deleted", "collector_created", "collector_updated", "collector_deleted")
SYSTEM = "surveymonkey"


def signing_key(source: Source) -> str:
    return f"{source.settings['client_id']}&{source.settings['client_secret'].reveal()}"


def verify(source: Source, request: InboundRequest) -> None:
    if request.method == "HEAD":
        return  # SurveyMonkey's check that the URL exists: no body, nothing to sign
    api_key = request.header(API_KEY_HEADER)
    if not api_key:
        raise InvalidSignature(f"the {API_KEY_HEADER} header is missing")
    if not hmac.compare_digest(api_key.encode("utf-8", "replace"), source.settings["client_id"].encode()):
        raise InvalidSignature(f"the {API_KEY_HEADER} header is not this source's client_id")
    verify_hmac(signing_key(source), request.body, request.header(SIGNATURE_HEADER), header=SIGNATURE_HEADER,
                encoding="base64", algorithm="sha1")


def parse(source: Source, request: InboundRequest) -> Parsed:
    if request.method == "HEAD":
        return Parsed(reply=Reply(200))
    note = request.json()
    if not isinstance(note, dict):
        raise UnrecognizedPayload(f"expected a SurveyMonkey notification object, got {type(note).__name__}")
    kind = note.get("event_type")
    if kind in IGNORED_EVENTS:
        return Parsed(reply=Reply(200, b"ignored"))  # no customer signal; answered so SurveyMonkey does not resend
    if kind not in RESPONSE_EVENTS or note.get("object_type") != "response":
        raise UnrecognizedPayload(f"expected a SurveyMonkey response event ({', '.join(RESPONSE_EVENTS)}), "
                                  f"got {kind!r}")
    response_id = require_id(note, "object_id")
    survey_id = dig(note, "resources.survey_id")
    if survey_id in (None, ""):
        raise UnrecognizedPayload("resources.survey_id is missing")
    collector_id = dig(note, "resources.collector_id")
    attributes = {"event_type": kind, "survey_id": str(survey_id)}
    if collector_id not in (None, ""):
        attributes["collector_id"] = str(collector_id)
    return Parsed(events=[EventDraft(
        type="cx.survey.response",
        vendor_event_id=require_id(note, "event_id"),
        time=parse_time(require(note, "event_datetime"), "event_datetime"),
        link=Link(system=SYSTEM, id=response_id, type="response"),
        attributes=attributes,
        update=kind == "response_updated",
        enrich=True,
    )])
