"""Marshmallow schemas for the admin API's query strings and responses (dumped from the store's row objects)."""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

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
    # only in GET /admin/events/<id>: the request it came in, credentials removed (see hub.admin.views.kept_request)
    request = fields.Dict(allow_none=True)


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
