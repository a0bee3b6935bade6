"""Typeform `form_response` webhooks: signature check and normalization.

Signature: `Typeform-Signature: sha256=` + base64(HMAC-SHA256(secret, raw body)).
The customer comes from an email answer or hidden fields; the customer's words from
long-text answers; the score from the first NPS, opinion-scale or rating answer in the
order the form defines its fields.
"""

from __future__ import annotations

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
    parse_time,
    require,
    require_id,
    verify_hmac,
)

SIGNATURE_HEADER = "Typeform-Signature"
SCORE_FIELDS = ("nps", "opinion_scale", "rating")
RESULTS_URL = "https://admin.typeform.com/form/{form_id}/results#responses"


def verify(source: Source, request: InboundRequest) -> None:
    verify_hmac(active_secrets(source.settings), request.body, request.header(SIGNATURE_HEADER),
                header=SIGNATURE_HEADER, prefix="sha256=", encoding="base64")


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    payload = request.json()
    if not isinstance(payload, dict) or payload.get("event_type") != "form_response":
        kind = payload.get("event_type") if isinstance(payload, dict) else type(payload).__name__
        raise UnrecognizedPayload(f"expected a Typeform form_response event, got {kind!r}")
    response = require(payload, "form_response")
    if not isinstance(response, dict):
        raise UnrecognizedPayload("form_response must be an object")
    answers = [answer for answer in as_list(response.get("answers")) if isinstance(answer, dict)]
    hidden = _object(response.get("hidden"))
    definition = _object(response.get("definition"))
    form_id = require_id(response, "form_id", "form_response.form_id")
    return [EventDraft(
        type="cx.survey.response",
        vendor_event_id=require_id(payload, "event_id"),
        time=parse_time(require(response, "submitted_at", "form_response.submitted_at"), "submitted_at"),
        link=Link(system="typeform", id=require_id(response, "token", "form_response.token"),
                  url=RESULTS_URL.format(form_id=form_id), type="form_response"),
        customer=_customer(answers, hidden, as_list(definition.get("fields")), source.settings),
        score=_score(answers, as_list(definition.get("fields"))),
        text=_text(answers),
        attributes=_attributes(form_id, definition, hidden),
    )]


def _customer(answers: list[dict[str, Any]], hidden: Mapping[str, Any], fields: list[Any],
              settings: Mapping[str, Any]) -> Customer:
    """The email answer, or hidden fields; the name from hidden fields or the configured question."""
    names = settings["hidden_fields"]
    email = next((as_email(answer.get("email")) for answer in answers if answer.get("type") == "email"), None)
    return Customer(id=as_id(hidden.get(names["customer_id"])) or None,
                    email=email or as_email(hidden.get(names["customer_email"])),
                    name=as_text(hidden.get(names["customer_name"]))
                    or _answer_text(answers, fields, settings["name_question"]))


def _answer_text(answers: list[dict[str, Any]], fields: list[Any], ref: str | None) -> str | None:
    """The text answer to the question whose ref is `ref` (answers may omit the ref: match by field id)."""
    if not ref:
        return None
    ids = {_id(field) for field in fields if isinstance(field, dict) and field.get("ref") == ref} - {None}
    return next((as_text(answer.get("text")) for answer in answers
                 if _field(answer).get("ref") == ref or _id(_field(answer)) in ids), None)


def _text(answers: list[dict[str, Any]]) -> str | None:
    texts = [text for answer in answers
             if _field(answer).get("type") == "long_text" and (text := as_text(answer.get("text")))]
    return "\n\n".join(texts) or None


def _score(answers: list[dict[str, Any]], fields: list[Any]) -> Score | None:
    """The first scored answer in the form's own field order (answers may come in another order)."""
    by_field = {_id(_field(answer)): answer for answer in answers}
    ordered: list[Mapping[str, Any]] = ([field for field in fields if isinstance(field, dict)]
                                        or [_field(answer) for answer in answers])
    for field in ordered:
        answer = by_field.get(_id(field)) if _id(field) else None
        number = answer.get("number") if answer else None
        if field.get("type") in SCORE_FIELDS and isinstance(number, (int, float)) and not isinstance(number, bool):
            low, high = _scale(field)
            kind: Literal["nps", "rating"] = "nps" if field["type"] == "nps" else "rating"
            try:
                return Score(kind, number, low, high)
            except ValueError as error:
                raise UnrecognizedPayload(f"field {field.get('ref') or field.get('id')}: {error}") from None
    return None


def _scale(field: Mapping[str, Any]) -> tuple[int, int]:
    """NPS is 0-10; opinion scales 0-10 and ratings 1-5 unless the field's properties say otherwise."""
    properties = _object(field.get("properties"))
    steps = properties.get("steps")
    steps = steps if isinstance(steps, int) and not isinstance(steps, bool) and 2 <= steps <= 100 else None
    if field["type"] == "nps":
        return 0, 10
    if field["type"] == "rating":
        return 1, steps or 5
    low = 1 if properties.get("start_at_one") is True else 0
    return low, low + (steps or 11) - 1


def _id(field: Mapping[str, Any]) -> str | None:
    """A field's id, if it is one (ids key the answers to the form's fields)."""
    return field.get("id") if isinstance(field.get("id"), str) else None


def _field(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    return _object(answer.get("field"))


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object of the payload, or an empty one in place of anything else."""
    return value if isinstance(value, dict) else {}


def _attributes(form_id: str, definition: Mapping[str, Any], hidden: Mapping[str, Any]) -> dict[str, str]:
    attributes = {f"hidden.{key}": str(value) for key, value in hidden.items() if value is not None}
    attributes["form_id"] = form_id
    if definition.get("title"):
        attributes["form_title"] = str(definition["title"])
    return attributes
