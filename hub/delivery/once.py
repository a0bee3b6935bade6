"""One ticket per problem: an action with `once_per` runs once per business key within a window.

    - connection: jira
      action: create_issue
      once_per: {key: "{{ data.customer.email }}", within: 7d}
      otherwise: {action: add_comment, params: {issue: "{{ first.result.external_id }}", comment: "..."}}

Each attempt of such a delivery decides what it is, in this order:

1. Its key is rendered (a template, like the parameters). A key that renders empty limits
   nothing: the action runs.
2. It tries to hold the key (scope `<connection>.<action>`, the key's SHA-256) in the store.
   The unique constraint makes one of two simultaneous deliveries the holder.
3. The holder runs the action itself ("first"). Any other delivery of the key looks at the holder:
   - succeeded: it runs `otherwise` (another action of the same connection), whose templates see
     `first` (as `origin` for follow-ups: `first.result.external_id`, `first.event`, `first.route`,
     `first.delivery_id`, `first.event_id`). Without `otherwise` it succeeds having done nothing.
   - not finished yet (queued, running, retrying): it waits, spending no attempt, and decides again
     later (when the holder's retry is due, between 1 and 60 seconds).
   - dead-lettered, or gone (retention), or its window ended before this delivery was routed:
     this delivery takes the key over and runs the action itself. A complaint is never lost
     because the first ticket failed; a dead holder redelivered later becomes an `otherwise`.
The window runs from the holder's routing (`created_at`) for `within`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

import orjson

from hub.routing.templates import TemplateProblem, compile_params, render_params
from hub.store import ClaimedDelivery, DeliveryRow, Store, now

MIN_WAIT, MAX_WAIT, DEFAULT_WAIT = 1.0, 60.0, 2.0
MAX_TURNS = 4  # takeovers raced and lost in a row before waiting for the next turn


@dataclass(frozen=True)
class Decision:
    """`run` is "first", "otherwise", "skip" or "wait" (then `wait` seconds); `first` is the holder's context."""

    run: str
    first: Mapping[str, Any] | None = None
    wait: float = 0.0
    holder: str | None = None  # the holder's delivery id


class OnceProblem(Exception):
    """The key did not render: the delivery gives up with this message."""


def key_hash(scope: str, key: str) -> str:
    """What the store keeps of a key: SHA-256 of the scope and the key, never the key (customer data)."""
    return hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


def render_key(template: str, event: Mapping[str, Any], origin: Mapping[str, Any] | None) -> str:
    try:
        rendered = render_params(compile_params(template, ("key",)), event, origin=origin)
    except TemplateProblem as error:
        raise OnceProblem(f"once_per.{error}") from None
    return str(rendered).strip()


def decide(store: Store, delivery: ClaimedDelivery, event: Mapping[str, Any],
           origin: Mapping[str, Any] | None) -> Decision:
    """What this attempt of a delivery with `once_per` runs (see the module docstring)."""
    once = orjson.loads(delivery.once or "null")
    key = render_key(once["key"], event, origin)
    if not key:
        return Decision("first")
    scope = f"{delivery.connection}.{delivery.action}"
    digest = key_hash(scope, key)
    opened = delivery.created_at
    expires = opened + timedelta(seconds=once["within"])
    holder = store.once.claim(scope, digest, delivery.id, delivery.event_id, opened, expires)
    for _ in range(MAX_TURNS):
        if holder.delivery_id == delivery.id:
            return Decision("first", holder=delivery.id)
        first = store.reads.delivery(holder.delivery_id)
        ended = delivery.created_at >= holder.expires_at or first is None or first.status == "dead"
        if not ended:
            assert first is not None
            if first.status == "succeeded":
                if once.get("otherwise") is None:
                    return Decision("skip", holder=first.id)
                return Decision("otherwise", first=first_context(store, first), holder=first.id)
            return Decision("wait", wait=_wait(first.next_attempt_at if first.status == "retrying" else None),
                            holder=first.id)
        if store.once.take_over(holder, delivery.id, delivery.event_id, opened, expires):
            return Decision("first", holder=delivery.id)
        holder = store.once.claim(scope, digest, delivery.id, delivery.event_id, opened, expires)
    return Decision("wait", wait=DEFAULT_WAIT, holder=holder.delivery_id)


def first_context(store: Store, first: DeliveryRow) -> dict[str, Any]:
    """What `otherwise` templates see as `first` (shaped as `origin` is)."""
    result = first.result
    event = store.reads.event(first.event_id)
    return {"delivery_id": first.id, "event_id": first.event_id, "route": first.route,
            "connection": first.connection, "action": first.action,
            "result": orjson.loads(result) if result else None,
            "event": orjson.loads(event.body) if event else None}


def _wait(due: datetime | None) -> float:
    if due is None:
        return DEFAULT_WAIT
    return min(MAX_WAIT, max(MIN_WAIT, (due - now()).total_seconds()))
