"""The console's query strings: filters and cursors read from the URL, with a message per bad value.

Every list is a URL (`/console/events?source=zendesk&band=negative`), so a colleague can be
sent to it; a value that is not valid is named on the page and the filter is not applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from hub.cases.report import PERIODS
from hub.insights.buckets import BadQuery, parse_window
from hub.store import STATUSES, BadCursor, Cursor, DeliveryFilter, EventFilter
from hub.store.cases import CASE_STATUSES

BANDS = ("negative", "neutral", "positive")
RANGES = {"6h": timedelta(hours=6), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
SHORT = validate.Length(max=320)
INSIGHT_METRICS = ("nps", "csat", "ces")  # the console's charts; the admin API answers every metric


class When(fields.Field):
    """A date (2026-12-01: that day's start, UTC) or an ISO date-time (naive: UTC)."""

    default_error_messages = {"invalid": "give a date (2026-12-01) or a date and time (2026-12-01T15:30)"}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> datetime:
        text = str(value).strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), time(), timezone.utc)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.make_error("invalid") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Listing(Schema):
    class Meta:
        unknown = EXCLUDE  # a stray parameter (utm_source=...) is no error

    since = When()
    until = When()
    cursor = fields.String(validate=validate.Length(max=400))


class EventArgs(Listing):
    source = fields.String(validate=SHORT)
    type = fields.String(validate=SHORT)
    band = fields.String(validate=validate.OneOf(BANDS))
    customer = fields.Email()
    q = fields.String(validate=validate.Length(min=2, max=200))


class DeliveryArgs(Listing):
    connection = fields.String(validate=SHORT)
    route = fields.String(validate=SHORT)
    status = fields.String(validate=validate.OneOf(STATUSES))
    attempts = fields.Integer(validate=validate.Range(min=0, max=1000), metadata={"description": "at least"})
    event = fields.String(validate=SHORT)


class Window(fields.Field):
    """A window back from now as the metrics take it: 90d, 8w, 12h."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        try:
            parse_window(str(value))
        except BadQuery as error:
            raise ValidationError(error.message) from None
        return str(value).strip()


class CaseArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(validate=validate.OneOf(CASE_STATUSES))
    overdue = fields.Boolean()
    by = fields.String(validate=validate.OneOf(PERIODS))
    cursor = fields.String(validate=validate.Length(max=400))


class InsightArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    metric = fields.String(validate=validate.OneOf(INSIGHT_METRICS))
    by = fields.String(validate=validate.OneOf(("day", "week", "month")))
    since = Window()
    source = fields.String(validate=SHORT)
    group = fields.String(validate=validate.OneOf(("source",)))


class CursorArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    cursor = fields.String(validate=validate.Length(max=400))


@dataclass
class Parsed:
    """What the query string asked for: the values given, the valid ones, and a message per bad one."""

    given: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    cursor: Cursor | None = None


def parse(schema: Schema, args: Mapping[str, str]) -> Parsed:
    given = {key: value.strip() for key, value in args.items() if value.strip()}
    parsed = Parsed(given)
    try:
        parsed.values = schema.load(given)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"": error.messages}
        parsed.errors = {key: " ".join(map(str, value)) if isinstance(value, list) else str(value)
                         for key, value in messages.items()}
        valid = error.valid_data if isinstance(error.valid_data, dict) else {}
        parsed.values = {key: value for key, value in valid.items() if key not in parsed.errors}
    if "cursor" in parsed.values:
        try:
            parsed.cursor = Cursor.decode(parsed.values.pop("cursor"))
        except BadCursor as error:
            parsed.errors["cursor"] = str(error)
    return parsed


def event_filter(args: Mapping[str, str]) -> tuple[EventFilter, Parsed]:
    parsed = parse(EventArgs(), args)
    values = dict(parsed.values)
    return EventFilter(source=values.get("source"), type=values.get("type"), band=values.get("band"),
                       customer=values.get("customer"), since=values.get("since"), until=values.get("until"),
                       text=values.get("q")), parsed


def delivery_filter(args: Mapping[str, str]) -> tuple[DeliveryFilter, Parsed]:
    parsed = parse(DeliveryArgs(), args)
    values = parsed.values
    return DeliveryFilter(connection=values.get("connection"), route=values.get("route"),
                          status=values.get("status"), since=values.get("since"), until=values.get("until"),
                          min_attempts=values.get("attempts"), event_id=values.get("event")), parsed
