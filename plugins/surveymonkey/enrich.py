"""The details of a SurveyMonkey response, fetched from the v3 API after the 202.

Two calls, both with `Authorization: Bearer <api_token>`:

* `GET /v3/surveys/{survey_id}/details`: the questions, to know which one is the score
  (`nps_question_id`, or the first `matrix`/`rating` question with 11 choices, 0 to 10) and
  which the comment (`comment_question_id`, or the first `open_ended` one), and what number
  each choice id stands for. Kept per process for SURVEY_TTL seconds: surveys rarely change,
  and the vendor's rate limit is counted in calls.
* `GET /v3/surveys/{survey_id}/responses/{response_id}/details`: the answers (choice ids and
  text), the respondent's contact (`metadata.contact.email.value`, or `email_address`) and the
  response's `analyze_url`.

The API's 401 (bad token) and 404 (response deleted) give up; 429 and 5xx are retried.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    GiveUp,
    Link,
    Score,
    Source,
    as_email,
    as_id,
    as_list,
    as_text,
    as_url,
    dig,
    parse_time,
)

SURVEY_TTL = 600.0
MAX_SURVEYS = 256
NPS_CHOICES = 11
NUMBER_AT_END = re.compile(r"(?:^|\D)(\d{1,2})\s*$")  # "Not at all likely - 0", "7", "Extremely likely - 10"
_surveys: dict[tuple[str, str, str], tuple[float, Mapping[str, Any]]] = {}
_lock = threading.Lock()


def enrich(source: Source, event: Mapping[str, Any]) -> EventDraft:
    data = event["data"]
    survey_id, response_id = data["attributes"]["survey_id"], data["link"]["id"]
    if source.api is None:
        raise GiveUp("the source has no api_url")
    headers = {"Authorization": f"Bearer {source.settings['api_token'].reveal()}", "Accept": "application/json"}
    survey = _survey(source, survey_id, headers)
    response = source.api.get_json(f"v3/surveys/{survey_id}/responses/{response_id}/details", headers=headers)
    if not isinstance(response, dict):
        raise GiveUp("the response details are not a JSON object")
    questions = _questions(survey)
    answers = _answers(response)
    score_question = source.settings.get("nps_question_id") or _first_nps_question(questions)
    comment_question = source.settings.get("comment_question_id") or _first_open_ended(questions, answers)
    contact_email = as_email(dig(response, "metadata.contact.email.value")) or as_email(response.get("email_address"))
    name = " ".join(part for part in (as_text(response.get("first_name")), as_text(response.get("last_name")))
                    if part) or None
    changed = response.get("date_modified")
    return EventDraft(
        type="cx.survey.response",
        vendor_event_id=data["vendor_event_id"],
        time=parse_time(changed, "date_modified") if changed else parse_time(event["time"]),
        link=Link(system="surveymonkey", id=response_id, url=as_url(response.get("analyze_url")), type="response"),
        customer=Customer(id=as_id(response.get("recipient_id")) or None, email=contact_email, name=name),
        score=_score(questions.get(score_question) if score_question else None, answers.get(score_question or "")),
        text=_comment(answers.get(comment_question or "")),
        attributes=dict(data["attributes"]),
        update=bool(data.get("update")),
    )


def _survey(source: Source, survey_id: str, headers: Mapping[str, str]) -> Mapping[str, Any]:
    key = (source.name, source.settings["api_url"], survey_id)
    with _lock:
        cached = _surveys.get(key)
    if cached is not None and time.monotonic() - cached[0] < SURVEY_TTL:
        return cached[1]
    assert source.api is not None
    survey = source.api.get_json(f"v3/surveys/{survey_id}/details", headers=headers)
    if not isinstance(survey, dict):
        raise GiveUp("the survey details are not a JSON object")
    with _lock:
        if len(_surveys) >= MAX_SURVEYS:
            _surveys.clear()
        _surveys[key] = (time.monotonic(), survey)
    return survey


def _questions(survey: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The survey's questions by id, in survey order."""
    return {str(question["id"]): question for page in as_list(survey.get("pages"))
            for question in as_list(dict(page).get("questions") if isinstance(page, dict) else None)
            if isinstance(question, dict) and question.get("id") is not None}


def _answers(response: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    return {str(question["id"]): [answer for answer in as_list(question.get("answers")) if isinstance(answer, dict)]
            for page in as_list(response.get("pages")) if isinstance(page, dict)
            for question in as_list(page.get("questions"))
            if isinstance(question, dict) and question.get("id") is not None}


def _choices(question: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    choices = [choice for choice in as_list(dig(question, "answers.choices")) if isinstance(choice, dict)]
    return sorted(choices, key=lambda choice: choice.get("position") or 0)


def _first_nps_question(questions: Mapping[str, Mapping[str, Any]]) -> str | None:
    for question_id, question in questions.items():
        if (question.get("family"), question.get("subtype")) == ("matrix", "rating") \
                and len(_choices(question)) == NPS_CHOICES:
            return question_id
    return None


def _first_open_ended(questions: Mapping[str, Mapping[str, Any]],
                      answers: Mapping[str, list[Mapping[str, Any]]]) -> str | None:
    for question_id, question in questions.items():
        if question.get("family") == "open_ended" and _comment(answers.get(question_id)):
            return question_id
    return None


def _score(question: Mapping[str, Any] | None, answers: list[Mapping[str, Any]] | None) -> Score | None:
    """The 0-10 value of the chosen choice: the number its text ends with, else its place among the choices.

    Not its `weight`: on an NPS question that is -100, 0 or 100 (detractor, passive, promoter).
    """
    if question is None or not answers:
        return None
    choices = _choices(question)
    chosen = next((str(answer["choice_id"]) for answer in answers if answer.get("choice_id") is not None), None)
    for place, choice in enumerate(choices):
        if str(choice.get("id")) == chosen:
            number = NUMBER_AT_END.search(str(choice.get("text") or ""))
            value = int(number.group(1)) if number else place
            return Score("nps", value, 0, 10) if 0 <= value <= 10 and len(choices) == NPS_CHOICES else None
    return None


def _comment(answers: list[Mapping[str, Any]] | None) -> str | None:
    texts = [text for answer in answers or [] if (text := as_text(answer.get("text")))]
    return "\n".join(texts) or None
