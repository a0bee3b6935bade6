"""Marshmallow schemas for the admin API's query strings and responses (dumped from the store's row objects)."""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, pre_dump, validate, validates_schema

from hub.cases.view import summary
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
    route = Name()
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


class HeldRequest(StrictSchema):
    """Held deliveries to act on: `ids`, a `route` (every one of it), or both (those ids of that route)."""

    ids = fields.List(Name(), validate=validate.Length(min=1, max=1000))
    route = Name(metadata={"description": "the route's name in the config"})

    @validates_schema
    def something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "ids" not in data and "route" not in data:
            raise ValidationError("give ids, a route, or both")


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
    digest_id = fields.String(allow_none=True, metadata={
        "description": "a collected event's digest once sent in one; on a digest's own delivery, its own id"})
    held_until = fields.Method("_held_until", allow_none=True, metadata={
        "type": "string", "format": "date-time", "nullable": True,
        "description": "status held: when it goes (quiet hours end); null while it waits for review"})

    def _held_until(self, row: Any) -> str | None:
        """From a row or the dict of one (the detail view adds its attempts to the row's fields)."""
        status, until = (row.get("status"), row.get("next_attempt_at")) if isinstance(row, dict) \
            else (row.status, row.next_attempt_at)
        return until.isoformat() if status == "held" and until is not None else None


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


class Released(Schema):
    released = fields.List(fields.String(), required=True, metadata={"description": "deliveries queued to be sent"})
    skipped = fields.List(fields.String(), required=True,
                          metadata={"description": "ids given that are not held for review"})


class Discarded(Schema):
    discarded = fields.List(fields.String(), required=True, metadata={"description": "deliveries never to be sent"})
    skipped = fields.List(fields.String(), required=True, metadata={"description": "ids given that are not held"})


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
    status = fields.String(required=True, validate=validate.OneOf(["ok", "half-open", "paused", "slowed"]))
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


# --- customers (hub/store/profiles.py) ---------------------------------------------------------

class CustomerQuery(StrictSchema):
    """GET /admin/customers: exactly one of `email` or `identifier` (`zendesk:8447388090494`)."""

    email = fields.String(validate=[validate.Length(min=3, max=320), _no_nul])
    identifier = fields.String(validate=[validate.Length(min=3, max=600), _no_nul])

    @validates_schema
    def one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("email" in data) == ("identifier" in data):
            raise ValidationError("give either email or identifier")


class TimelineQuery(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    after = fields.String(validate=[validate.Length(min=1, max=400), _no_nul])  # the `next` of the previous page


class MergeRequest(StrictSchema):
    """POST /admin/customers/merge: `absorb` is merged into `keep` (each a profile id, identifier or email)."""

    keep = fields.String(required=True, validate=[validate.Length(min=1, max=600), _no_nul])
    absorb = fields.String(required=True, validate=[validate.Length(min=1, max=600), _no_nul])
    reason = fields.String(load_default="", validate=[validate.Length(max=500), _no_nul])
    by = fields.String(load_default="admin API", validate=[validate.Length(min=1, max=128), _no_nul])


class UnmergeRequest(StrictSchema):
    """POST /admin/customers/unmerge: split `profile` (a profile id, or an identifier it owns) off its customer."""

    profile = fields.String(required=True, validate=[validate.Length(min=1, max=600), _no_nul])
    reason = fields.String(load_default="", validate=[validate.Length(max=500), _no_nul])
    by = fields.String(load_default="admin API", validate=[validate.Length(min=1, max=128), _no_nul])


class IdentifierSchema(Schema):
    kind = fields.String(metadata={"description": "email, or the namespace of a system's customer id"}, required=True)
    value = fields.String(required=True)
    profile_id = fields.String(required=True,
                               metadata={"description": "the profile that owns it (maybe one merged into this one)"})
    added_at = fields.AwareDateTime(required=True)
    event_id = fields.String(required=True, allow_none=True,
                             metadata={"description": "the event that brought it (may be deleted)"})


class ScoreSchema(Schema):
    metric = fields.String(metadata={"description": "data.score.type: nps, csat, ces or rating"}, required=True)
    value = fields.Float(required=True)
    min = fields.Float(required=True)
    max = fields.Float(required=True)
    band = fields.String(allow_none=True, required=True)
    time = fields.AwareDateTime(required=True)
    event_id = fields.String(required=True)
    source = fields.String(required=True)


class MergeSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True,
                           metadata={"description": "merged, undone (unmerged) or refused (the rules kept them apart)"})
    from_profile = fields.String(required=True)
    into_profile = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    by = fields.String(metadata={"description": "resolver (an event), or the admin who merged"}, required=True)
    reason = fields.String(required=True)
    event_id = fields.String(allow_none=True, required=True)
    undone_at = fields.AwareDateTime(allow_none=True, required=True)
    undone_by = fields.String(allow_none=True, required=True)
    undo_reason = fields.String(allow_none=True, required=True)


class CustomerSummarySchema(Schema):
    id = fields.String(required=True)
    identifiers = fields.List(fields.Nested(IdentifierSchema), required=True)
    first_seen = fields.AwareDateTime(allow_none=True, required=True)
    last_seen = fields.AwareDateTime(allow_none=True, required=True)
    events = fields.Integer(metadata={"description": "events still stored (retention deletes old ones)"}, required=True)


class CustomerSchema(CustomerSummarySchema):
    """GET /admin/customers/<id>: the customer (the root of its merged profiles)."""

    members = fields.List(fields.String(), required=True,
                          metadata={"description": "this profile and those merged into it"})
    created_at = fields.AwareDateTime(required=True)
    latest_scores = fields.Dict(keys=fields.String(), values=fields.Nested(ScoreSchema), required=True,
                                metadata={"description": "metric (data.score.type) -> its latest score"})
    open_cases = fields.List(fields.Nested(lambda: CaseSchema()), required=True)
    merges = fields.List(fields.Nested(MergeSchema), required=True)

    @pre_dump
    def unpack(self, view: Any, **kwargs: Any) -> dict[str, Any]:
        return {**vars(view), "latest_scores": {score.metric: score for score in view.scores}, "open_cases": [summary(case) for case in view.open_cases]}


class TimelineDeliverySchema(Schema):
    id = fields.String(required=True)
    route = fields.String(required=True)
    connection = fields.String(required=True)
    action = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True, required=True)
    result = JsonText()


class TimelineEventSchema(Schema):
    """One event on a timeline, with what the hub did about it (its deliveries, its enrichment)."""

    id = fields.String(required=True)
    source = fields.String(required=True)
    type = fields.String(required=True)
    time = fields.AwareDateTime(required=True)
    received_at = fields.AwareDateTime(required=True)
    subject = fields.String(required=True)
    profile_id = fields.String(required=True)
    customer = fields.Dict(metadata={"description": "data.customer as the event gave it"}, required=True)
    score = fields.Dict(allow_none=True, required=True)
    text = fields.String(allow_none=True, required=True)
    link = fields.Dict(allow_none=True, required=True)
    update = fields.Boolean(required=True)
    enrichment = fields.String(required=True, allow_none=True,
                               metadata={"description": "for a thin event: pending, done, failed"})
    deliveries = fields.List(fields.Nested(TimelineDeliverySchema), required=True)

    @pre_dump
    def unpack(self, entry: Any, **kwargs: Any) -> dict[str, Any]:
        data = orjson.loads(entry.body).get("data") or {}
        return {**vars(entry), "customer": data.get("customer") or {}, "score": data.get("score"),
                "text": data.get("text"), "link": data.get("link"), "update": bool(data.get("update"))}


class TimelineSchema(Schema):
    customer = fields.String(required=True)
    events = fields.List(fields.Nested(TimelineEventSchema), required=True)
    next = fields.String(required=True, allow_none=True,
                         metadata={"description": "the `after` of the next page; null on the last"})


class CustomerList(Schema):
    """GET /admin/customers: the one customer the email or identifier names."""

    customers = fields.List(fields.Nested(CustomerSummarySchema), required=True)


class MergeResultSchema(Schema):
    merge = fields.Nested(MergeSchema, required=True)
    customer = fields.Nested(CustomerSchema, required=True)


class AttributeFilter(fields.Field):
    """`name:value` (or `name=value`): responses whose event had this attribute."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, str]:
        text = str(value)
        separator = ":" if ":" in text else "="
        name, found, wanted = text.partition(separator)
        if not found or not name:
            raise ValidationError(f"{text!r} is not an attribute filter; write it like form_id:abc123")
        return name, wanted


class MetricQuerySchema(StrictSchema):
    """GET /admin/metrics/<metric>: the query string."""

    by = fields.String(load_default="week", validate=validate.OneOf(["day", "week", "month", "all"]))
    since = fields.String(load_default="90d", metadata={"description": "a window before now: 90d, 8w, 12h, 30m"})
    until = fields.AwareDateTime(load_default=None, metadata={"description": "the window's end (default: now)"})
    source = fields.String(validate=validate.Length(min=1, max=64))
    form = fields.String(validate=validate.Length(min=1, max=512))
    attr = fields.List(AttributeFilter(), load_default=list)
    group = fields.String(metadata={"description": "source, form or attr:NAME"})
    timezone = fields.String(metadata={"description": "IANA timezone; default metrics.timezone"})


class MetricBucketSchema(Schema):
    bucket = fields.String(metadata={"description": "2026-11-30, 2026-W49 or 2026-11"})
    start = fields.AwareDateTime()
    end = fields.AwareDateTime()
    group = fields.String(allow_none=True)
    value = fields.Float(allow_none=True, metadata={"description": "null when the bucket has no responses"})
    responses = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "promoters/passives/detractors (nps), satisfied/neutral/"
                                                  "dissatisfied (csat), agree/neutral/disagree (ces), "
                                                  "positive/neutral/negative (rating, responses)"})


class MetricResultSchema(Schema):
    metric = fields.String()
    by = fields.String()
    timezone = fields.String()
    group = fields.String(allow_none=True)
    buckets = fields.List(fields.Nested(MetricBucketSchema))
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
