"""Marshmallow schemas for the admin API's query strings and responses (dumped from the store's row objects)."""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, pre_dump, validate, validates_schema

from hub.store import ENRICHMENT_STATUSES, STATUSES


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class EventQuery(StrictSchema):
    source = fields.String()
    type = fields.String()
    customer = fields.Email()
    band = fields.String(validate=validate.OneOf(["negative", "neutral", "positive"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DeliveryQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    event_id = fields.String()
    connection = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DeadFilter(StrictSchema):
    connection = fields.String()
    route = fields.String()


class RedeliverRequest(StrictSchema):
    """Either `ids`, or `all_dead` with an optional filter."""

    ids = fields.List(fields.String(), validate=validate.Length(min=1, max=1000))
    all_dead = fields.Nested(DeadFilter)

    @validates_schema
    def one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("ids" in data) == ("all_dead" in data):
            raise ValidationError("give either ids or all_dead")


class JsonText(fields.Field):
    """A column holding JSON text, sent as the JSON it holds."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else orjson.loads(value)


class EventSchema(Schema):
    id = fields.String()
    source = fields.String()
    type = fields.String()
    received_at = fields.AwareDateTime()
    event = JsonText(attribute="body")


class AttemptSchema(Schema):
    number = fields.Integer()
    started_at = fields.AwareDateTime()
    duration_ms = fields.Float()
    status_code = fields.Integer(allow_none=True)
    outcome = fields.String()
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String()
    event_id = fields.String()
    route = fields.String()
    connection = fields.String()
    action = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    result = JsonText()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class DeliveryDetailSchema(DeliverySchema):
    """A delivery with its attempts (GET /admin/deliveries/ID)."""

    attempt_log = fields.List(fields.Nested(AttemptSchema))


class QuarantineSchema(Schema):
    id = fields.String()
    source = fields.String()
    received_at = fields.AwareDateTime()
    content_type = fields.String()
    status = fields.String()
    error = fields.String()


class DroppedSchema(Schema):
    source = fields.String()
    dropped = fields.Integer()
    last_dropped_at = fields.AwareDateTime()


class EnrichmentSchema(Schema):
    event_id = fields.String()
    source = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class EnrichmentQuery(StrictSchema):
    status = fields.String(load_default="failed", validate=validate.OneOf(ENRICHMENT_STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


# --- customers (hub/store/profiles.py) ---------------------------------------------------------

OPEN_CASES_NOTE = ("cases are not built yet (issue 17, section 5): open_cases stays empty until they are")


class CustomerQuery(StrictSchema):
    """GET /admin/customers: exactly one of `email` or `identifier` (`zendesk:8447388090494`)."""

    email = fields.String(validate=validate.Length(min=3, max=320))
    identifier = fields.String(validate=validate.Length(min=3, max=600))

    @validates_schema
    def one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("email" in data) == ("identifier" in data):
            raise ValidationError("give either email or identifier")


class TimelineQuery(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    after = fields.String(validate=validate.Length(min=1, max=400))  # the `next` of the previous page


class MergeRequest(StrictSchema):
    """POST /admin/customers/merge: `absorb` is merged into `keep` (each a profile id, identifier or email)."""

    keep = fields.String(required=True, validate=validate.Length(min=1, max=600))
    absorb = fields.String(required=True, validate=validate.Length(min=1, max=600))
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    by = fields.String(load_default="admin API", validate=validate.Length(min=1, max=128))


class UnmergeRequest(StrictSchema):
    """POST /admin/customers/unmerge: split `profile` (a profile id, or an identifier it owns) off its customer."""

    profile = fields.String(required=True, validate=validate.Length(min=1, max=600))
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    by = fields.String(load_default="admin API", validate=validate.Length(min=1, max=128))


class IdentifierSchema(Schema):
    kind = fields.String(metadata={"description": "email, or the namespace of a system's customer id"})
    value = fields.String()
    profile_id = fields.String(metadata={"description": "the profile that owns it (maybe one merged into this one)"})
    added_at = fields.AwareDateTime()
    event_id = fields.String(allow_none=True, metadata={"description": "the event that brought it (may be deleted)"})


class ScoreSchema(Schema):
    metric = fields.String(metadata={"description": "data.score.type: nps, csat, ces or rating"})
    value = fields.Float()
    min = fields.Float()
    max = fields.Float()
    band = fields.String(allow_none=True)
    time = fields.AwareDateTime()
    event_id = fields.String()
    source = fields.String()


class MergeSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "merged, undone (unmerged) or refused (the rules kept them apart)"})
    from_profile = fields.String()
    into_profile = fields.String()
    at = fields.AwareDateTime()
    by = fields.String(metadata={"description": "resolver (an event), or the admin who merged"})
    reason = fields.String()
    event_id = fields.String(allow_none=True)
    undone_at = fields.AwareDateTime(allow_none=True)
    undone_by = fields.String(allow_none=True)
    undo_reason = fields.String(allow_none=True)


class CaseSchema(Schema):
    """A closed-loop case (not built yet: always an empty list)."""

    id = fields.String()
    status = fields.String()


class CustomerSummarySchema(Schema):
    id = fields.String()
    identifiers = fields.List(fields.Nested(IdentifierSchema))
    first_seen = fields.AwareDateTime(allow_none=True)
    last_seen = fields.AwareDateTime(allow_none=True)
    events = fields.Integer(metadata={"description": "events still stored (retention deletes old ones)"})


class CustomerSchema(CustomerSummarySchema):
    """GET /admin/customers/<id>: the customer (the root of its merged profiles)."""

    members = fields.List(fields.String(), metadata={"description": "this profile and those merged into it"})
    created_at = fields.AwareDateTime()
    latest_scores = fields.Method("scores_by_metric", metadata={"description": "metric -> its latest score"})
    open_cases = fields.Method("no_cases")
    open_cases_note = fields.Constant(OPEN_CASES_NOTE)
    merges = fields.List(fields.Nested(MergeSchema))

    def scores_by_metric(self, view: Any) -> dict[str, Any]:
        return {score.metric: ScoreSchema().dump(score) for score in view.scores}

    def no_cases(self, view: Any) -> list[Any]:
        return []


class TimelineDeliverySchema(Schema):
    id = fields.String()
    route = fields.String()
    connection = fields.String()
    action = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    result = JsonText()


class TimelineEventSchema(Schema):
    """One event on a timeline, with what the hub did about it (its deliveries, its enrichment)."""

    id = fields.String()
    source = fields.String()
    type = fields.String()
    time = fields.AwareDateTime()
    received_at = fields.AwareDateTime()
    subject = fields.String()
    profile_id = fields.String()
    customer = fields.Dict(metadata={"description": "data.customer as the event gave it"})
    score = fields.Dict(allow_none=True)
    text = fields.String(allow_none=True)
    link = fields.Dict(allow_none=True)
    update = fields.Boolean()
    enrichment = fields.String(allow_none=True, metadata={"description": "for a thin event: pending, done, failed"})
    deliveries = fields.List(fields.Nested(TimelineDeliverySchema))

    @pre_dump
    def unpack(self, entry: Any, **kwargs: Any) -> dict[str, Any]:
        data = orjson.loads(entry.body).get("data") or {}
        return {**vars(entry), "customer": data.get("customer") or {}, "score": data.get("score"),
                "text": data.get("text"), "link": data.get("link"), "update": bool(data.get("update"))}


class TimelineSchema(Schema):
    customer = fields.String()
    events = fields.List(fields.Nested(TimelineEventSchema))
    next = fields.String(allow_none=True, metadata={"description": "the `after` of the next page; null on the last"})


class MergeResultSchema(Schema):
    merge = fields.Nested(MergeSchema)
    customer = fields.Nested(CustomerSchema)
