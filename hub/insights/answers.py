"""The response row each event makes: what the take-in stores beside the event, in the same transaction.

A response is the object an event is about (`object_key`: source, kind, subject), so a resend
(the same event id), a replay and an update (another event about the same object) all land on
one row. The row holds the latest score (newest event time, then the greatest event id) and
the time of the earliest event, which decides its bucket: a response edited next week stays
in this week. A `*.deleted` event keeps the row and takes the response out of every metric.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Mapping, Sequence

import orjson

from hub.events.canonical import object_key
from hub.insights.definitions import answer_of

QUARTER_MS = 15 * 60 * 1000
FORM_ATTRIBUTES: tuple[str, ...] = ("form_id", "survey_id", "business_id")  # the first one an event has is its form
MAX_FORM = 512


def response_key(source: str, kind: str, subject: str) -> str:
    return hashlib.sha256(f"{source}\n{kind}\n{subject}".encode()).hexdigest()


def epoch_ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)


def response_rows(events: Sequence[Mapping[str, Any]],
                  form_attributes: Sequence[str] = FORM_ATTRIBUTES) -> list[dict[str, Any]]:
    """One row per response the events are about, combining a batch's events about the same one.

    Events without a score (and that delete nothing) make no row. The rows come sorted by key,
    so concurrent writers lock them in one order.
    """
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        row = _row(event, form_attributes)
        if row is None:
            continue
        known = rows.get(row["key"])
        rows[row["key"]] = row if known is None else combine(known, row)
    return [rows[key] for key in sorted(rows)]


def combine(one: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Two rows of one response as the store combines them: the latest score, the earliest time."""
    latest, earlier = (other, one) if (other["scored_ms"], other["event_id"]) > (one["scored_ms"], one["event_id"]) \
        else (one, other)
    first = min(one, other, key=lambda row: row["answered_ms"])
    return {**latest, "answered_ms": first["answered_ms"], "quarter": first["quarter"]} if first is earlier \
        else latest


def _row(event: Mapping[str, Any], form_attributes: Sequence[str]) -> dict[str, Any] | None:
    data = event["data"]
    deleted = event["type"].endswith(".deleted")
    answer = None if deleted else answer_of(event["type"], data.get("score"))
    if answer is None and not deleted:
        return None
    source, kind, subject = object_key(event)
    attributes = {str(name): str(value) for name, value in (data.get("attributes") or {}).items()}
    form = next((attributes[name] for name in form_attributes if attributes.get(name)), "")[:MAX_FORM]
    customer = data.get("customer") or {}
    email, identifier = customer.get("email"), customer.get("id")
    moment = epoch_ms(event["time"])
    who = email.strip().lower() if email else f"{source}:{identifier}" if identifier else None
    return {
        "key": response_key(source, kind, subject), "source": source, "subject": subject,
        "metric": answer.metric if answer else None, "category": answer.category if answer else None,
        "value": answer.value if answer else None, "form": form,
        "customer": who[:512] if who else None,
        "attributes": orjson.dumps(attributes).decode(), "answered_ms": moment, "quarter": moment // QUARTER_MS,
        "scored_ms": moment, "event_id": event["id"], "pending": 1,
    }
