"""Marshmallow schemas for the admin API's query strings and responses (dumped from the store's row objects)."""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from hub.store import ENRICHMENT_STATUSES, STATUSES


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def _no_nul(value: str) -> None:
    if "\x00" in value:  # PostgreSQL refuses NUL in a query parameter; no stored id or name holds one
        raise ValidationError("must not contain NUL (U+0000)")


def Name(**kwargs: Any) -> fields.String:  # noqa: N802 - a field factory, read like a field class
    """A string a filter compares with a stored id or name: at most 512 characters (the longest the store
    holds), without NUL."""
    return fields.String(validate=[validate.Length(max=512), _no_nul], **kwargs)


class EventQuery(StrictSchema):
    source = Name()
    type = Name()
    customer = fields.Email()
    band = fields.String(validate=validate.OneOf(["negative", "neutral", "positive"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DeliveryQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    event_id = Name()
    connection = Name()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DeadFilter(StrictSchema):
    connection = Name()
    route = Name()


class RedeliverRequest(StrictSchema):
    """Either `ids`, or `all_dead` with an optional filter."""

    ids = fields.List(Name(), validate=validate.Length(min=1, max=1000))
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


class EventSummarySchema(Schema):
    """An event in a lineage: enough to tell it apart and look it up."""

    id = fields.String(required=True)
    source = fields.String(required=True)
    type = fields.String(required=True)
    subject = fields.String(required=True)
    customer_email = fields.String(required=True, allow_none=True)
    received_at = fields.AwareDateTime(required=True)


class CreatedObjectSchema(Schema):
    """An object a delivery created, named as the vendor's events name it."""

    system = fields.String(required=True)
    id = fields.String(attribute="object_id", required=True)
    url = fields.String(required=True, allow_none=True)
    delivery_id = fields.String(required=True)
    event_id = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class OriginSchema(Schema):
    """Where an object came from: the object, the delivery that created it, and that delivery's event
    (GET /admin/objects/SYSTEM/ID)."""

    object = fields.Nested(CreatedObjectSchema, required=True)
    delivery = fields.Nested(DeliverySchema, required=True)
    event = fields.Nested(EventSummarySchema, required=True)


class LineageSummarySchema(Schema):
    """An event's lineage beside its detail: what it follows up, what its deliveries created, what came after."""

    origin = fields.Nested(OriginSchema, required=True, allow_none=True)
    created = fields.List(fields.Nested(CreatedObjectSchema), required=True)
    follow_ups = fields.List(fields.Nested(EventSummarySchema), required=True,
                             metadata={"description": "later events about what it created, oldest first"})


class LineageSchema(LineageSummarySchema):
    """What happened to an event (GET /admin/events/ID/lineage)."""

    event = fields.Nested(EventSummarySchema, required=True)
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)


# What each endpoint answers: the views dump through these, and the OpenAPI description is built from them.

class EventDetailSchema(EventSchema):
    deliveries = fields.List(fields.Nested(DeliverySchema))
    lineage = fields.Nested(LineageSummarySchema, allow_none=True)


class EventList(Schema):
    events = fields.List(fields.Nested(EventSchema), required=True)


class DeliveryList(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)


class Replayed(Schema):
    queued = fields.List(fields.String(), required=True, metadata={"description": "deliveries queued"})
    untouched = fields.List(fields.String(), required=True,
                            metadata={"description": "deliveries that succeeded or are under way, left alone"})


class Redelivered(Schema):
    queued = fields.List(fields.String(), required=True)
    skipped = fields.List(fields.String(), required=True, metadata={"description": "ids that are not dead letters"})


class IntakeBacklog(Schema):
    entries = fields.Integer(required=True, metadata={"description": "webhooks in the intake log not yet stored"})
    held = fields.Integer(required=True, metadata={"description": "entries a consumer holds, not yet acknowledged"})


class JobBacklog(Schema):
    queued = fields.Integer(required=True, metadata={"description": "jobs waiting on the queues"})
    scheduled = fields.Integer(required=True, metadata={"description": "retries waiting for their backoff"})


class Backlog(Schema):
    intake = fields.Nested(IntakeBacklog, required=True)
    jobs = fields.Nested(JobBacklog, required=True)


class ConnectionStateSchema(Schema):
    connection = fields.String(required=True)
    plugin = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["ok", "half-open", "paused"]))
    until = fields.AwareDateTime(required=True, allow_none=True,
                                 metadata={"description": "when the breaker's pause ends (null when held)"})
    reason = fields.String(required=True, allow_none=True,
                           metadata={"description": "why the destination asked to stop (held until resumed)"})
    failures = fields.Integer(required=True, metadata={"description": "retryable failures in a row"})


class ConnectionList(Schema):
    connections = fields.List(fields.Nested(ConnectionStateSchema), required=True)


class Resumed(Schema):
    connection = fields.String(required=True)
    resumed = fields.Boolean(required=True, metadata={"description": "false when it was not paused"})


class QuarantineList(Schema):
    requests = fields.List(fields.Nested(QuarantineSchema), required=True)
    dropped = fields.List(fields.Nested(DroppedSchema), required=True)


class QuarantineReplayed(Schema):
    accepted = fields.List(fields.String(), required=True)
    duplicates = fields.List(fields.String(), required=True)


class EnrichmentList(Schema):
    enrichments = fields.List(fields.Nested(EnrichmentSchema), required=True)


class EnrichmentQueued(Schema):
    queued = fields.List(fields.String(), required=True)


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    quarantine_id = fields.String(allow_none=True, metadata={"description": "where the request is kept"})
    quarantined = fields.List(fields.String())
    field_errors = fields.Dict(data_key="fields",
                               metadata={"description": "per field, what is wrong with it (400 invalid_request)"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetail, required=True)


# --- cases (hub/cases) -------------------------------------------------------------------


class CaseQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf(("open", "in_progress", "closed")))
    overdue = fields.Boolean(load_default=False, metadata={"description": "only cases past a deadline not met"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class CaseCustomerSchema(Schema):
    email = fields.String(allow_none=True, required=True)
    id = fields.String(allow_none=True, required=True)


class CaseSchema(Schema):
    id = fields.String(required=True)
    route = fields.String(required=True)
    event_id = fields.String(required=True, metadata={"description": "the event that opened the case"})
    status = fields.String(required=True, validate=validate.OneOf(("open", "in_progress", "closed")))
    owner = fields.String(allow_none=True, required=True)
    customer = fields.Nested(CaseCustomerSchema, required=True)
    opened_at = fields.AwareDateTime(required=True)
    first_response_due = fields.AwareDateTime(allow_none=True, required=True)
    close_due = fields.AwareDateTime(allow_none=True, required=True)
    first_response_at = fields.AwareDateTime(allow_none=True, required=True)
    closed_at = fields.AwareDateTime(allow_none=True, required=True)
    overdue = fields.List(fields.String(validate=validate.OneOf(("first_response", "close"))), required=True,
                          metadata={"description": "the deadlines passed without their milestone"})


class CaseList(Schema):
    cases = fields.List(fields.Nested(CaseSchema), required=True)


class CaseEventSchema(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True)
    source = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True)
    why = fields.String(required=True, metadata={"description": "opened, same_customer or once_per"})


class CaseDeliverySchema(Schema):
    id = fields.String(required=True)
    event_id = fields.String(required=True)
    route = fields.String(required=True)
    connection = fields.String(required=True)
    action = fields.String(required=True, metadata={"description": "the action it ran (an otherwise's own)"})
    status = fields.String(required=True)
    external_id = fields.String(allow_none=True, required=True)
    url = fields.String(allow_none=True, required=True)


class CaseTicketSchema(Schema):
    system = fields.String(required=True)
    id = fields.String(required=True)
    url = fields.String(allow_none=True, required=True)
    delivery_id = fields.String(required=True)


class CaseFollowUpSchema(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True)
    source = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True)
    about = fields.String(required=True, metadata={"description": "the linked event it follows up"})
    counts_as = fields.String(allow_none=True, required=True,
                              metadata={"description": "response, close, or null (hub/cases/signals.py)"})


class CaseDetailSchema(CaseSchema):
    events = fields.List(fields.Nested(CaseEventSchema), required=True)
    deliveries = fields.List(fields.Nested(CaseDeliverySchema), required=True)
    tickets = fields.List(fields.Nested(CaseTicketSchema), required=True)
    follow_ups = fields.List(fields.Nested(CaseFollowUpSchema), required=True)
