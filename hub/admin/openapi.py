"""The admin API's OpenAPI 3 description, built with apispec from the marshmallow schemas the views use.

Each endpoint is one row of OPERATIONS: the query schema the view loads, the body it loads,
what it answers on success, and the errors it can answer. The views dump through the same
schemas, so the description cannot drift from the answers without the Schemathesis run
(tests/hub/admin/test_admin_openapi.py) noticing, and a rule under /admin that has no row fails
that test's coverage check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from hub.admin import schemas

TITLE = "cxhub admin API"
VERSION = "1"
SECURITY_SCHEME = "adminToken"
DOCS_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
               "docs.js": "text/javascript"}

ERRORS = {
    400: "The query or body is not valid: `error.fields` says, per field, what is wrong.",
    401: "No `Authorization: Bearer <admin token>`, or not the admin token.",
    404: "Not found, or the admin API is off (`admin_disabled`: no CXHUB_ADMIN_TOKEN is set).",
    409: "The object is not in a state this action applies to.",
    422: "The quarantined request still cannot be read; it stays in quarantine with the new error.",
    500: "The source's plugin failed on the quarantined request again.",
    503: "The database or Redis is down; nothing was changed, try again later.",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /admin/events/{event_id}
    summary: str
    answer: type[Schema] | None
    status: int = 200
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    errors: tuple[int, ...] = ()
    path_params: dict[str, str] = field(default_factory=dict)
    tag: str = "admin"


def _id(what: str) -> dict[str, str]:
    return {f"{what}_id": f"the {what}'s id"}


OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/admin/events", "Canonical events, newest first, filtered", schemas.EventList,
              query=schemas.EventQuery, errors=(400,), tag="events"),
    Operation("get", "/admin/events/{event_id}", "One event with its deliveries and lineage", schemas.EventDetailSchema,
              errors=(404,), path_params=_id("event"), tag="events"),
    Operation("get", "/admin/events/{event_id}/lineage",
              "What happened to an event: its origin, deliveries, what they created, the later events about them",
              schemas.LineageSchema, errors=(404,), path_params=_id("event"), tag="events"),
    Operation("get", "/admin/objects/{system}/{object_id}",
              "Which event caused an object the hub created (a Jira issue, a Zendesk ticket, a Slack message)",
              schemas.OriginSchema, errors=(404,), tag="events",
              path_params={"system": "the vendor system, as events name it (jira, zendesk, slack, intercom)",
                           "object_id": "the object's id there (CX-12, 35436, C0123:1503435956.000247)"}),
    Operation("post", "/admin/events/{event_id}/replay", "Route a stored event again with the current routes",
              schemas.Replayed, status=202, errors=(404,), path_params=_id("event"), tag="events"),
    Operation("get", "/admin/deliveries", "Deliveries, most recently updated first, filtered", schemas.DeliveryList,
              query=schemas.DeliveryQuery, errors=(400,), tag="deliveries"),
    Operation("get", "/admin/deliveries/{delivery_id}", "One delivery with its attempts",
              schemas.DeliveryDetailSchema, errors=(404,), path_params=_id("delivery"), tag="deliveries"),
    Operation("post", "/admin/deliveries/redeliver", "Queue dead letters again: by id, or all that match a filter",
              schemas.Redelivered, status=202, body=schemas.RedeliverRequest, errors=(400,), tag="deliveries"),
    Operation("get", "/admin/metrics/{metric}",
              "A CX metric (NPS, CSAT, CES, review rating, responses) per day, week or month, counted once per response",
              schemas.MetricResultSchema, query=schemas.MetricQuerySchema, errors=(400, 404), tag="insights",
              path_params={"metric": "nps, csat, ces, rating or responses (docs/metrics.md)"}),
    Operation("post", "/admin/deliveries/release", "Send deliveries held for review (over a route's max_per_hour)",
              schemas.Released, status=202, body=schemas.HeldRequest, errors=(400,), tag="deliveries"),
    Operation("post", "/admin/deliveries/discard", "Never send held deliveries: by id, by route, or both",
              schemas.Discarded, body=schemas.HeldRequest, errors=(400,), tag="deliveries"),
    Operation("get", "/admin/backlog", "What waits: the intake log and the delivery jobs", schemas.Backlog,
              tag="operations"),
    Operation("get", "/admin/connections", "Each connection's breaker state or hold", schemas.ConnectionList,
              tag="operations"),
    Operation("post", "/admin/connections/{name}/resume", "Resume a paused connection", schemas.Resumed,
              errors=(404,), path_params={"name": "the connection's name in the config"}, tag="operations"),
    Operation("get", "/admin/quarantine", "Open quarantined requests, and how many were dropped per source",
              schemas.QuarantineList, tag="quarantine"),
    Operation("post", "/admin/quarantine/{quarantine_id}/replay", "Parse a quarantined request again and take it in",
              schemas.QuarantineReplayed, status=202, errors=(400, 404, 422, 500),
              path_params=_id("quarantine"), tag="quarantine"),
    Operation("get", "/admin/enrichment", "Enrichments in one status, the latest first", schemas.EnrichmentList,
              query=schemas.EnrichmentQuery, errors=(400,), tag="enrichment"),
    Operation("post", "/admin/enrichment/{event_id}/retry", "Try a failed enrichment again with a fresh budget",
              schemas.EnrichmentQueued, status=202, errors=(404, 409), path_params=_id("event"), tag="enrichment"),
    Operation("get", "/admin/customers", "The customer an email or an identifier (zendesk:123) names",
              schemas.CustomerList, query=schemas.CustomerQuery, errors=(400,), tag="customers"),
    Operation("get", "/admin/customers/{profile_id}",
              "A customer: identifiers, first and last seen, latest score per metric, open cases, merges",
              schemas.CustomerSchema, path_params={"profile_id": "any profile id of the customer (cus_...)"},
              tag="customers"),
    Operation("get", "/admin/customers/{profile_id}/timeline",
              "Every event of a customer and what the hub did about it, newest first, by pages", schemas.TimelineSchema,
              query=schemas.TimelineQuery, errors=(400,), path_params={"profile_id": "any profile id of the customer"},
              tag="customers"),
    Operation("post", "/admin/customers/merge", "Merge one customer into another; the merge is recorded",
              schemas.MergeResultSchema, body=schemas.MergeRequest, errors=(400, 409), tag="customers"),
    Operation("post", "/admin/customers/unmerge", "Split a profile off the customer it was merged into",
              schemas.MergeResultSchema, body=schemas.UnmergeRequest, errors=(400, 409), tag="customers"),
    Operation("get", "/admin/cases", "Closed-loop cases, newest first, by status and overdue", schemas.CaseList,
              query=schemas.CaseQuery, errors=(400,), tag="cases"),
    Operation("get", "/admin/cases/{case_id}", "One case with its linked events, tickets, messages and reports",
              schemas.CaseDetailSchema, errors=(404,), path_params=_id("case"), tag="cases"),
)


def _responses(operation: Operation) -> dict[int, Any]:
    responses: dict[int, Any] = {}
    if operation.answer is not None:
        responses[operation.status] = {"description": operation.summary,
                                       "content": {"application/json": {"schema": operation.answer}}}
    for status in sorted({401, 404, 503, *operation.errors}):
        responses[status] = {"description": ERRORS[status], "content": {"application/json": {"schema": "Error"}}}
    return responses


def _describe(spec: APISpec, operation: Operation) -> None:
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "description": text, "schema": {"type": "string"}}
        for name, text in operation.path_params.items()]
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    described: dict[str, Any] = {"summary": operation.summary, "tags": [operation.tag],
                                 "operationId": f"{operation.method}_{operation.path.strip('/').replace('/', '_')}"
                                 .replace("{", "").replace("}", ""),
                                 "responses": _responses(operation)}
    if parameters:
        described["parameters"] = parameters
    if operation.body is not None:
        described["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": operation.body}}}
    spec.path(path=operation.path, operations={operation.method: described})


def _describe_docs(spec: APISpec) -> None:
    """The description and the docs page themselves: public (no token), but off with the admin API."""
    off = {"description": ERRORS[404], "content": {"application/json": {"schema": "Error"}}}
    spec.path(path="/admin/openapi.json", operations={"get": {
        "summary": "This description", "tags": ["docs"], "security": [], "operationId": "get_openapi",
        "responses": {200: {"description": "OpenAPI 3 JSON", "content": {"application/json": {"schema": {
            "type": "object"}}}}, 404: off}}})
    spec.path(path="/admin/docs", operations={"get": {
        "summary": "The interactive page (Swagger UI, served from the package)", "tags": ["docs"],
        "security": [], "operationId": "get_docs",
        "responses": {200: {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}},
                      404: off}}})
    spec.path(path="/admin/docs/{asset}", operations={"get": {
        "summary": "A file of the docs page", "tags": ["docs"], "security": [], "operationId": "get_docs_asset",
        "parameters": [{"in": "path", "name": "asset", "required": True,
                        "schema": {"type": "string", "enum": sorted(DOCS_ASSETS)}}],
        "responses": {200: {"description": "the file", "content": {
            media: {"schema": {"type": "string"}} for media in sorted(set(DOCS_ASSETS.values()))}}, 404: off}}})


@lru_cache(maxsize=1)
def build_spec() -> dict[str, Any]:
    """The description as a dict (built once: it depends on nothing but the code)."""
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Every request needs `Authorization: Bearer <CXHUB_ADMIN_TOKEN>`; "
                                        "without a configured token the admin API is off (404)."})
    spec.components.security_scheme(SECURITY_SCHEME, {"type": "http", "scheme": "bearer",
                                                      "description": "the hub's CXHUB_ADMIN_TOKEN"})
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    for operation in OPERATIONS:
        _describe(spec, operation)
    _describe_docs(spec)
    described = spec.to_dict()
    described["security"] = [{SECURITY_SCHEME: []}]
    return described
