"""`/admin/...` endpoints. Every request needs `Authorization: Bearer <CXHUB_ADMIN_TOKEN>`;
without a configured token the admin API is off."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError

from hub.admin.schemas import (
    CustomerQuery,
    CustomerSchema,
    CustomerSummarySchema,
    DeliveryDetailSchema,
    DeliveryQuery,
    DeliverySchema,
    DroppedSchema,
    EnrichmentQuery,
    EnrichmentSchema,
    EventQuery,
    EventSchema,
    MergeRequest,
    MergeResultSchema,
    QuarantineSchema,
    RedeliverRequest,
    TimelineQuery,
    TimelineSchema,
    UnmergeRequest,
)
from hub.enrichment.operations import retry_enrichments
from hub.errors import ApiError
from hub.ingest.service import Rejected
from hub.profiles.identity import parse_identifier
from hub.operations import (
    NotFound,
    UnknownCustomer,
    backlog,
    connection_states,
    find_customer,
    merge_customers,
    redeliver,
    replay_event,
    replay_quarantined,
    resume_connection,
    unmerge_customer,
)
from hub.runtime import current_hub
from hub.store import BadCursor, Cursor
from hub.store.profiles import NotMerged, SameProfile, UnknownProfile

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.before_request
def require_token() -> None:
    expected = current_app.config.get("CXHUB_ADMIN_TOKEN")
    if not expected:
        raise ApiError(404, "admin_disabled", "the admin API is off; set CXHUB_ADMIN_TOKEN to turn it on")
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <admin token>")


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ApiError(400, "invalid_request", "invalid request", fields=error.messages) from None


@blueprint.get("/events")
def list_events() -> Response:
    query = _load(EventQuery(), request.args)
    return jsonify({"events": EventSchema(many=True).dump(current_hub().store.reads.events(**query))})


@blueprint.get("/events/<event_id>")
def get_event(event_id: str) -> Response:
    hub = current_hub()
    row = hub.store.reads.event(event_id)
    if row is None:
        raise ApiError(404, "not_found", f"no event {event_id}")
    deliveries = hub.store.reads.deliveries(event_id=event_id, limit=500)
    return jsonify({**EventSchema().dump(row), "deliveries": DeliverySchema(many=True).dump(deliveries)})


@blueprint.post("/events/<event_id>/replay")
def replay(event_id: str) -> tuple[Response, int]:
    try:
        outcome = replay_event(current_hub(), event_id)
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    return jsonify({"queued": outcome.queued, "untouched": outcome.untouched}), 202


@blueprint.get("/deliveries")
def list_deliveries() -> Response:
    query = _load(DeliveryQuery(), request.args)
    return jsonify({"deliveries": DeliverySchema(many=True).dump(current_hub().store.reads.deliveries(**query))})


@blueprint.get("/deliveries/<delivery_id>")
def get_delivery(delivery_id: str) -> Response:
    hub = current_hub()
    row = hub.store.reads.delivery(delivery_id)
    if row is None:
        raise ApiError(404, "not_found", f"no delivery {delivery_id}")
    return jsonify(DeliveryDetailSchema().dump({**vars(row), "attempt_log": hub.store.reads.attempts(delivery_id)}))


@blueprint.post("/deliveries/redeliver")
def redeliver_many() -> tuple[Response, int]:
    hub = current_hub()
    body = _load(RedeliverRequest(), request.get_json(silent=True) or {})
    ids = body["ids"] if "ids" in body else hub.store.reads.dead_ids(**body["all_dead"])
    queued = redeliver(hub, ids)
    return jsonify({"queued": queued, "skipped": [i for i in ids if i not in queued]}), 202


@blueprint.get("/backlog")
def show_backlog() -> Response:
    return jsonify(backlog(current_hub()))


@blueprint.get("/connections")
def list_connections() -> Response:
    rows = connection_states(current_hub())
    return jsonify({"connections": [{**row, "until": row["until"].isoformat() if row["until"] else None}
                                    for row in rows]})


@blueprint.post("/connections/<name>/resume")
def resume(name: str) -> Response:
    try:
        return jsonify({"connection": name, "resumed": resume_connection(current_hub(), name)})
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None


@blueprint.get("/quarantine")
def list_quarantine() -> Response:
    """Open quarantined requests, and per source how many were dropped because the quarantine was full."""
    kept = current_hub().store.quarantine
    return jsonify({"requests": QuarantineSchema(many=True).dump(kept.requests()),
                    "dropped": DroppedSchema(many=True).dump(kept.dropped())})


@blueprint.post("/quarantine/<quarantine_id>/replay")
def replay_quarantine(quarantine_id: str) -> tuple[Response, int]:
    try:
        outcome = replay_quarantined(current_hub(), quarantine_id)
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    except Rejected as error:
        raise ApiError(error.status, error.code, error.message) from None
    return jsonify({"accepted": outcome.accepted, "duplicates": outcome.duplicates}), 202


@blueprint.get("/enrichment")
def list_enrichment() -> Response:
    """Enrichments of thin events in one status (`?status=`, failed by default), the latest first."""
    query = _load(EnrichmentQuery(), request.args)
    rows = current_hub().store.enrichments.with_status((query["status"],), limit=query["limit"])
    return jsonify({"enrichments": EnrichmentSchema(many=True).dump(rows)})


@blueprint.post("/enrichment/<event_id>/retry")
def retry_enrichment(event_id: str) -> tuple[Response, int]:
    """Try a failed enrichment again (after fixing the credentials, say), with a fresh retry budget."""
    hub = current_hub()
    if not retry_enrichments(hub, [event_id]):
        row = hub.store.enrichments.get(event_id)
        if row is None:
            raise ApiError(404, "not_found", f"no enrichment for event {event_id!r}")
        raise ApiError(409, "not_failed", f"the enrichment of event {event_id!r} is {row.status}, not failed")
    return jsonify({"queued": [event_id]}), 202


@blueprint.get("/customers")
def find_customers() -> Response:
    """The customer with this `?email=` or `?identifier=` (`zendesk:8447388090494`); 404 if none."""
    query = _load(CustomerQuery(), request.args)
    key = "email" if "email" in query else "identifier"
    identifier = parse_identifier(("email:" if key == "email" else "") + query[key])
    if identifier is None:
        what = "an email address" if key == "email" else "kind:value (zendesk:8447388090494) or an email address"
        raise ApiError(400, "invalid_request", "invalid request", fields={key: [f"not {what}"]})
    view = _customer(lambda store: find_customer(store, str(identifier)))
    return jsonify({"customers": CustomerSummarySchema(many=True).dump([view])})


@blueprint.get("/customers/<profile_id>")
def get_customer(profile_id: str) -> Response:
    """A customer by any of its profile ids: identifiers, first and last seen, latest scores, merges."""
    return jsonify(CustomerSchema().dump(_customer(lambda store: _view_by_id(store, profile_id))))


@blueprint.get("/customers/<profile_id>/timeline")
def customer_timeline(profile_id: str) -> Response:
    """Every event of the customer and what the hub did about it, newest first, paged by `?after=`."""
    query = _load(TimelineQuery(), request.args)
    view = _customer(lambda store: _view_by_id(store, profile_id))
    try:
        after = Cursor.decode(query["after"]) if "after" in query else None
    except BadCursor as error:
        raise ApiError(400, "invalid_cursor", str(error)) from None
    page = current_hub().store.profiles.timeline(view.id, limit=query["limit"], after=after)
    return jsonify(TimelineSchema().dump({"customer": view.id, "events": page.rows,
                                          "next": page.next.encode() if page.next else None}))


@blueprint.post("/customers/merge")
def merge() -> Response:
    """Merge the customer `absorb` names into the one `keep` names; recorded with `by` and `reason`."""
    body = _load(MergeRequest(), request.get_json(silent=True) or {})
    merged = _customer(lambda store: merge_customers(store, body["keep"], body["absorb"], by=body["by"],
                                                     reason=body["reason"]))
    view = current_hub().store.profiles.view(merged.into_profile)
    return jsonify(MergeResultSchema().dump({"merge": merged, "customer": view}))


@blueprint.post("/customers/unmerge")
def unmerge() -> Response:
    """Split a profile (and what was merged into it) off the customer it was merged into."""
    body = _load(UnmergeRequest(), request.get_json(silent=True) or {})
    undone = _customer(lambda store: unmerge_customer(store, body["profile"], by=body["by"], reason=body["reason"]))
    view = current_hub().store.profiles.view(undone.from_profile)
    return jsonify(MergeResultSchema().dump({"merge": undone, "customer": view}))


def _view_by_id(store: Any, profile_id: str) -> Any:
    view = store.profiles.view(profile_id) if profile_id.startswith("cus_") else None
    if view is None:
        raise UnknownCustomer(f"no customer profile {profile_id!r}; find one by ?email= or ?identifier= "
                              "at /admin/customers")
    return view


def _customer(operation: Any) -> Any:
    """Run a customer operation, its errors as the API's: unknown 404, same or not merged 409."""
    try:
        return operation(current_hub().store)
    except (UnknownCustomer, UnknownProfile) as error:
        raise ApiError(404, "unknown_customer", str(error)) from None
    except SameProfile as error:
        raise ApiError(409, "same_profile", str(error)) from None
    except NotMerged as error:
        raise ApiError(409, "not_merged", str(error)) from None
