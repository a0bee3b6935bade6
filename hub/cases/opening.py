"""Opening cases: a route with `case:` opens one for each event it runs for, when its first delivery is claimed.

The worker opens it before the delivery's first attempt (hub/delivery/runner.py), so a case
exists even when the ticket fails; a worker that dies in between opens it on the delivery's
next claim (the case id is made of the route and the event, so opening twice opens one). A
customer (email, else id) who already has an open case of the route gets the event linked to
that case instead ("same_customer"): one case per customer and route while it is open.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

import orjson

from hub.routing.routes import CaseSpec, Route
from hub.routing.templates import TemplateProblem, compile_params, render_params
from hub.store import CaseRow, ClaimedDelivery, Store, now
from hub.store.cases import case_id

log = logging.getLogger("cxhub.cases")


def open_key(route: str, customer: Mapping[str, Any]) -> str | None:
    """The hash an open case holds for its route and customer (None for an anonymous customer: never joined)."""
    who = (customer.get("email") or "").strip().lower() or (customer.get("id") or "").strip()
    return hashlib.sha256(f"{route}\n{who}".encode()).hexdigest() if who else None


def new_case(route: str, spec: CaseSpec, event: Mapping[str, Any], opened_at: datetime) -> CaseRow:
    customer = (event.get("data") or {}).get("customer") or {}
    return CaseRow(
        id=case_id(route, event["id"]), route=route, event_id=event["id"], customer_email=customer.get("email"),
        customer_id=customer.get("id"), owner=_owner(spec, event), status="open",
        open_key=open_key(route, customer), opened_at=opened_at,
        first_response_due=_due(opened_at, spec.first_response_seconds),
        close_due=_due(opened_at, spec.close_seconds), first_response_at=None, closed_at=None,
        first_response_overdue_at=None, close_overdue_at=None, updated_at=now())


def open_cases(store: Store, routes: Sequence[Route], claimed: Sequence[ClaimedDelivery]) -> None:
    """Open the cases of the claimed deliveries whose routes have `case:` (once per event and route)."""
    specs = {route.name: route.case for route in routes if route.case is not None}
    if not specs:
        return
    seen: set[tuple[str, str]] = set()
    for delivery in claimed:
        spec = specs.get(delivery.route)
        if spec is None or (delivery.route, delivery.event_id) in seen:
            continue
        seen.add((delivery.route, delivery.event_id))
        store.cases.open(new_case(delivery.route, spec, orjson.loads(delivery.event_body), delivery.created_at))


def _owner(spec: CaseSpec, event: Mapping[str, Any]) -> str | None:
    if not spec.owner:
        return None
    try:
        owner = str(render_params(compile_params(spec.owner, ("owner",)), event)).strip()
    except TemplateProblem as error:
        log.warning("case owner of event %s did not render (%s): the case opens without one", event.get("id"), error)
        return None
    return owner[:320] or None


def _due(opened: datetime, seconds: float | None) -> datetime | None:
    return opened + timedelta(seconds=seconds) if seconds else None
