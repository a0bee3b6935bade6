"""`/admin/...` endpoints. Every request needs `Authorization: Bearer <CXHUB_ADMIN_TOKEN>`;
without a configured token the admin API is off. The description (`/admin/openapi.json`) and its
page (`/admin/docs`) need no token: they hold no data, only what the code says.
"""

from __future__ import annotations

import hmac
from importlib import resources
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError
from redis.exceptions import RedisError

from hub.admin.openapi import DOCS_ASSETS, build_spec
from hub.admin.schemas import (
    Backlog,
    CaseDetailSchema,
    CaseList,
    CaseQuery,
    ConnectionList,
    CustomerList,
    CustomerQuery,
    CustomerSchema,
    DeliveryDetailSchema,
    DeliveryList,
    DeliveryQuery,
    Discarded,
    EnrichmentList,
    EnrichmentQuery,
    EnrichmentQueued,
    EventDetailSchema,
    EventList,
    EventQuery,
    HeldRequest,
    LineageSchema,
    MergeRequest,
    MergeResultSchema,
    OriginSchema,
    QuarantineList,
    QuarantineReplayed,
    EventSchema,
    MetricQuerySchema,
    MetricResultSchema,
    QuarantineSchema,
    RedeliverRequest,
    Redelivered,
    Released,
    Replayed,
    Resumed,
    TimelineQuery,
    TimelineSchema,
    UnmergeRequest,
)
from hub.cases.view import detail, summary
from hub.enrichment.operations import retry_enrichments
from hub.errors import ApiError
from hub.ingest.service import Rejected
from hub.profiles.identity import parse_identifier
from hub.insights.buckets import BadQuery, parse_timezone, parse_window
from hub.insights.query import MetricQuery, run_query, serialize
from hub.redis_errors import RedisUnavailable
from hub.operations import (
    NotFound,
    UnknownCustomer,
    backlog,
    connection_states,
    discard_held,
    find_customer,
    merge_customers,
    redeliver,
    release_held,
    replay_event,
    replay_quarantined,
    resume_connection,
    unmerge_customer,
)
from hub.runtime import current_hub
from hub.store import BadCursor, Cursor, RequestRow, StoreUnavailable
from hub.store.profiles import NotMerged, SameProfile, UnknownProfile

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


PUBLIC = frozenset({"admin.openapi", "admin.docs", "admin.docs_asset"})
MAX_ARGUMENT = 512  # the longest id or name the store holds
DOCS_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@blueprint.before_request
def require_token() -> None:
    expected = current_app.config.get("CXHUB_ADMIN_TOKEN")
    if not expected:
        raise ApiError(404, "admin_disabled", "the admin API is off; set CXHUB_ADMIN_TOKEN to turn it on")
    if request.endpoint in PUBLIC:
        return
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <admin token>")


@blueprint.before_request
def refuse_unstorable_arguments() -> None:
    """An id or name in the path that no row can have: 404 here, not a query PostgreSQL refuses (NUL)."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and ("\x00" in value or len(value) > MAX_ARGUMENT):
            raise ApiError(404, "not_found", f"no object with that {name}")


@blueprint.errorhandler(StoreUnavailable)
@blueprint.errorhandler(RedisUnavailable)
@blueprint.errorhandler(RedisError)
def unavailable(error: Exception) -> tuple[Response, int]:
    kind = "the database" if isinstance(error, StoreUnavailable) else "Redis"
    return jsonify(ApiError(503, "unavailable", f"{kind} is unreachable; nothing was changed, try again later")
                   .to_dict()), 503


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ApiError(400, "invalid_request", "invalid request", fields=error.messages) from None


@blueprint.get("/events")
def list_events() -> Response:
    query = _load(EventQuery(), request.args)
    return jsonify(EventList().dump({"events": current_hub().store.reads.events(**query)}))


@blueprint.get("/events/<event_id>")
def get_event(event_id: str) -> Response:
    hub = current_hub()
    row = hub.store.reads.event(event_id)
    if row is None:
        raise ApiError(404, "not_found", f"no event {event_id}")
    deliveries = hub.store.reads.deliveries(event_id=event_id, limit=500)
    lineage = hub.store.lineage.of_event(event_id)
    kept = hub.store.reads.request(row.request_id) if row.request_id else None
    return jsonify(EventDetailSchema().dump({**vars(row), "deliveries": deliveries, "lineage": lineage,
                                             "request": kept_request(kept) if kept else None}))


def kept_request(kept: RequestRow) -> dict[str, Any]:
    """The kept request as JSON: credentials were removed on arrival (`removed` names them); the body as text."""
    return {"id": kept.id, "received_at": kept.received_at.isoformat(), "method": kept.method, "path": kept.path,
            "content_type": kept.content_type, "headers": orjson.loads(kept.headers),
            "query": orjson.loads(kept.query), "removed": orjson.loads(kept.removed),
            "body": kept.body.decode("utf-8", "replace")}


@blueprint.get("/events/<event_id>/lineage")
def get_lineage(event_id: str) -> Response:
    """What happened to an event: its origin, its deliveries, what they created, the later events about it."""
    lineage = current_hub().store.lineage.of_event(event_id)
    if lineage is None:
        raise ApiError(404, "not_found", f"no event {event_id}")
    return jsonify(LineageSchema().dump(lineage))


@blueprint.get("/objects/<system>/<path:object_id>")
def get_object_origin(system: str, object_id: str) -> Response:
    """Which event caused this object (a Jira issue, a Zendesk ticket, a Slack message): the delivery and its event."""
    origin = current_hub().store.lineage.cause_of(system, object_id)
    if origin is None:
        raise ApiError(404, "not_found", f"the hub created no {system} object {object_id!r} (or it was pruned)")
    return jsonify(OriginSchema().dump(origin))


@blueprint.post("/events/<event_id>/replay")
def replay(event_id: str) -> tuple[Response, int]:
    try:
        outcome = replay_event(current_hub(), event_id)
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    return jsonify(Replayed().dump(outcome)), 202


@blueprint.get("/cases")
def list_cases() -> Response:
    """Cases newest first: `?status=open|in_progress|closed&overdue=true&limit=`."""
    query = _load(CaseQuery(), request.args)
    found = current_hub().store.cases.list(**query)
    return jsonify(CaseList().dump({"cases": [summary(case) for case in found]}))


@blueprint.get("/cases/<case_id>")
def get_case(case_id: str) -> Response:
    store = current_hub().store
    case = store.cases.get(case_id)
    if case is None:
        raise ApiError(404, "not_found", f"no case {case_id}")
    return jsonify(CaseDetailSchema().dump(detail(store, case)))


@blueprint.get("/deliveries")
def list_deliveries() -> Response:
    query = _load(DeliveryQuery(), request.args)
    return jsonify(DeliveryList().dump({"deliveries": current_hub().store.reads.deliveries(**query)}))


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
    return jsonify(Redelivered().dump({"queued": queued, "skipped": [i for i in ids if i not in queued]})), 202


@blueprint.post("/deliveries/release")
def release_many() -> tuple[Response, int]:
    """Send deliveries held for review (a route over its max_per_hour): by ids, by route, or both."""
    body = _load(HeldRequest(), request.get_json(silent=True) or {})
    outcome = release_held(current_hub(), body.get("ids"), route=body.get("route"))
    return jsonify(Released().dump({"released": outcome.done, "skipped": outcome.skipped})), 202


@blueprint.post("/deliveries/discard")
def discard_many() -> Response:
    """Never send held deliveries (for review or for quiet hours): by ids, by route, or both."""
    body = _load(HeldRequest(), request.get_json(silent=True) or {})
    outcome = discard_held(current_hub(), body.get("ids"), route=body.get("route"))
    return jsonify(Discarded().dump({"discarded": outcome.done, "skipped": outcome.skipped}))


@blueprint.get("/backlog")
def show_backlog() -> Response:
    return jsonify(Backlog().dump(backlog(current_hub())))


@blueprint.get("/connections")
def list_connections() -> Response:
    return jsonify(ConnectionList().dump({"connections": connection_states(current_hub())}))


@blueprint.post("/connections/<name>/resume")
def resume(name: str) -> Response:
    try:
        return jsonify(Resumed().dump({"connection": name, "resumed": resume_connection(current_hub(), name)}))
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None


@blueprint.get("/quarantine")
def list_quarantine() -> Response:
    """Open quarantined requests, and per source how many were dropped because the quarantine was full."""
    kept = current_hub().store.quarantine
    return jsonify(QuarantineList().dump({"requests": kept.requests(), "dropped": kept.dropped()}))


@blueprint.post("/quarantine/<quarantine_id>/replay")
def replay_quarantine(quarantine_id: str) -> tuple[Response, int]:
    try:
        outcome = replay_quarantined(current_hub(), quarantine_id)
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    except Rejected as error:
        raise ApiError(error.status, error.code, error.message) from None
    return jsonify(QuarantineReplayed().dump(outcome)), 202


@blueprint.get("/enrichment")
def list_enrichment() -> Response:
    """Enrichments of thin events in one status (`?status=`, failed by default), the latest first."""
    query = _load(EnrichmentQuery(), request.args)
    rows = current_hub().store.enrichments.with_status((query["status"],), limit=query["limit"])
    return jsonify(EnrichmentList().dump({"enrichments": rows}))


@blueprint.post("/enrichment/<event_id>/retry")
def retry_enrichment(event_id: str) -> tuple[Response, int]:
    """Try a failed enrichment again (after fixing the credentials, say), with a fresh retry budget."""
    hub = current_hub()
    if not retry_enrichments(hub, [event_id]):
        row = hub.store.enrichments.get(event_id)
        if row is None:
            raise ApiError(404, "not_found", f"no enrichment for event {event_id!r}")
        raise ApiError(409, "not_failed", f"the enrichment of event {event_id!r} is {row.status}, not failed")
    return jsonify(EnrichmentQueued().dump({"queued": [event_id]})), 202


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
    return jsonify(CustomerList().dump({"customers": [view]}))


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


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """This API's OpenAPI 3 description."""
    return jsonify(build_spec())


@blueprint.get("/docs")
def docs() -> Response:
    """The interactive page: Swagger UI from the package, no inline script, nothing from elsewhere."""
    return _with_policy(Response(DOCS_PAGE, content_type="text/html; charset=utf-8"))


@blueprint.get("/docs/<asset>")
def docs_asset(asset: str) -> Response:
    if asset not in DOCS_ASSETS:
        raise ApiError(404, "not_found", f"no docs file {asset!r}")
    body = (resources.files("hub.admin") / "swagger_ui" / asset).read_bytes()
    response = Response(body, content_type=f"{DOCS_ASSETS[asset]}; charset=utf-8")
    response.cache_control.max_age = 3600
    return _with_policy(response)


def _with_policy(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cxhub admin API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/docs.js"></script>
</body>
</html>
"""


@blueprint.get("/metrics/<metric>")
def get_metric(metric: str) -> Response:
    """A CX metric per bucket (docs/metrics.md): `?by=week&since=90d&source=...&attr=form_id:...&group=...`."""
    hub = current_hub()
    query = _load(MetricQuerySchema(), request.args.to_dict(flat=False) | {
        key: value for key, value in request.args.items() if key != "attr"})
    try:
        zone_name = query.get("timezone") or hub.config.metrics.timezone
        asked = MetricQuery(metric, query["by"], parse_window(query["since"]), query["until"], query.get("source"),
                            query.get("form"), dict(query["attr"]), query.get("group"), parse_timezone(zone_name))
        rows = run_query(hub.store.metrics, asked)
    except BadQuery as error:
        raise ApiError(error.status, error.code, error.message) from None
    return jsonify(MetricResultSchema().dump(serialize(asked, zone_name, rows)))
