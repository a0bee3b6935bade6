"""The answers of a Qualtrics response, fetched from the v3 responses API after the 202.

`GET /API/v3/surveys/{SurveyID}/responses/{ResponseID}` with `X-API-TOKEN: <api_token>` returns
`{"result": {"responseId", "values": {...}, "labels": {...}}}`. `values` holds each answer by
question id (`QID1`: the chosen choice's recode value; `QID2_TEXT`: typed text), the
respondent (`recipientEmail`, `recipientFirstName`, `recipientLastName`,
`externalDataReference`) and `endDate`. An NPS question also yields `QIDn_NPS_GROUP`, which is
how the score question is found when `nps_question_id` is not set.

The API's 401 (bad token) and 404 (response deleted, or another datacenter) give up; 429 and
5xx are retried (the core does both).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from hub.plugin import Customer, EventDraft, GiveUp, Link, Score, Source, as_email, as_id, as_text, parse_time

NPS_GROUP = re.compile(r"^(QID\d+)_NPS_GROUP$")
TEXT_ANSWER = re.compile(r"^QID\d+(?:_\d+)*_TEXT$")


def enrich(source: Source, event: Mapping[str, Any]) -> EventDraft:
    data = event["data"]
    survey_id, response_id = data["attributes"]["survey_id"], data["link"]["id"]
    if source.api is None:
        raise GiveUp("the source has no api_url")
    answer = source.api.get_json(f"API/v3/surveys/{survey_id}/responses/{response_id}",
                                 headers={"X-API-TOKEN": source.settings["api_token"].reveal(),
                                          "Accept": "application/json"})
    values = answer.get("result", {}).get("values") if isinstance(answer, dict) else None
    if not isinstance(values, dict):
        raise GiveUp("the response has no result.values object")
    score_question = source.settings.get("nps_question_id") or first_nps_question(values)
    name = " ".join(part for part in (as_text(values.get("recipientFirstName")),
                                      as_text(values.get("recipientLastName"))) if part) or None
    ended = values.get("endDate")
    return EventDraft(
        type="cx.survey.response",
        vendor_event_id=data["vendor_event_id"],
        time=parse_time(ended, "endDate") if ended else parse_time(event["time"]),
        link=Link(system="qualtrics", id=response_id, type="response"),
        customer=Customer(id=as_id(values.get("externalDataReference")) or None,
                          email=as_email(values.get("recipientEmail")), name=name),
        score=nps_score(values.get(score_question)) if score_question else None,
        text=comment(values, source.settings.get("comment_question_id")),
        attributes=dict(data["attributes"]),
    )


def first_nps_question(values: Mapping[str, Any]) -> str | None:
    """The question of the first `QIDn_NPS_GROUP` field: only NPS questions yield one."""
    return next((match.group(1) for key in values if (match := NPS_GROUP.match(key))), None)


def nps_score(value: Any) -> Score | None:
    """An NPS answer's 0-10 value (an int, or a numeric string); a skipped question has none."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 0 <= value <= 10:
        return None
    return Score("nps", int(value), 0, 10)


def comment(values: Mapping[str, Any], question_id: str | None) -> str | None:
    """`comment_question_id`'s text (`QIDn_TEXT`, else `QIDn`), else the first text answer given."""
    if question_id:
        return as_text(values.get(f"{question_id}_TEXT")) or as_text(values.get(question_id)) or None
    return next((text for key, value in values.items()
                 if TEXT_ANSWER.match(key) and (text := as_text(value))), None)
