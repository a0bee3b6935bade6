"""Evaluating alert rules, and emitting a cx.metric.alert event when one starts or stops holding.

An alert fires once when its condition starts to hold and clears once when it stops (fewer
responses than `min_responses` in the window also stops it). The state per rule (and per
customer, with `per: customer`) is in the store. Emitting a transition goes:

1. the event is built under an id fixed by the rule, the group, the episode (how many times it
   fired before, plus one) and the state, and taken in like any webhook's: stored and routed;
2. the state moves, compare-and-set on the state read before.

If the process dies between 1 and 2, the next evaluation finds the same transition and builds
the same event id: the store already holds it, so it is routed once. Two workers evaluating at
once are kept apart by a Redis lock; if they met anyway, the compare-and-set lets one win and
the event ids make the other's event a duplicate.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from hub.events.canonical import event_id, validate_event
from hub.ingest.service import take_in
from hub.insights.buckets import QUARTER_SECONDS, bucket_start, parse_timezone
from hub.insights.query import Totals, window_totals
from hub.insights.rules import ALERT_SOURCE, AlertRule
from hub.runtime import Hub
from hub.store.metrics import AlertState

log = logging.getLogger("cxhub.alerts")
NO_GROUP = ""


@dataclass(frozen=True)
class Reading:
    """What a rule sees now for one group: whether it holds, the value compared, the responses behind it."""

    holds: bool
    value: float | None
    responses: int


def evaluate_rules(hub: Hub, now: datetime | None = None) -> list[dict[str, Any]]:
    """Evaluate every rule once; return the alert events emitted (one Redis lock: one process at a time)."""
    rules = hub.config.alerts
    if not rules:
        return []
    lock = hub.redis.lock(f"cxhub:{hub.config.hub.queue}:alerts", timeout=300)
    if not lock.acquire(blocking=False):
        return []
    try:
        moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        emitted: list[dict[str, Any]] = []
        for rule in rules:
            emitted.extend(_evaluate(hub, rule, moment))
        return emitted
    finally:
        try:
            lock.release()
        except Exception:  # the lock expired meanwhile: nothing to release
            pass


def _evaluate(hub: Hub, rule: AlertRule, now: datetime) -> list[dict[str, Any]]:
    readings = read_rule(hub, rule, now)
    # The firing states (to clear) and those of the groups holding now (to fire), not every customer's.
    states = hub.store.metrics.alert_states(rule.name, [group for group, reading in readings.items()
                                                        if reading.holds])
    emitted = []
    for group, reading in readings.items():
        state = states.get(group)
        if reading.holds and (state is None or state.state != "firing"):
            emitted.append(_move(hub, rule, group, "firing", (state.episode if state else 0) + 1, reading, state, now))
    for group, state in states.items():
        reading = readings.get(group, Reading(False, 0.0 if rule.per else None, 0))
        if state.state == "firing" and not reading.holds:
            emitted.append(_move(hub, rule, group, "cleared", state.episode, reading, state, now))
    return emitted


def read_rule(hub: Hub, rule: AlertRule, now: datetime) -> dict[str, Reading]:
    """The rule's readings by group: one (NO_GROUP) for a rule without `per`, else the customers that hold."""
    first, last = window(rule, now, hub.config.metrics.timezone)
    metrics = hub.store.metrics
    if rule.per:
        category = None if rule.count == "responses" else _category(rule)
        since_ms = int((now - rule.rolling).timestamp() * 1000) if rule.rolling else first * QUARTER_SECONDS * 1000
        found = metrics.per_customer(rule.metric, category, since_ms,
                                     int(now.timestamp() * 1000) + 1, source=rule.source, form=rule.form,
                                     at_least=int(rule.threshold))
        return {customer: Reading(True, float(count), count) for customer, count in found.items()}
    totals = window_totals(metrics, rule.metric, first, last, source=rule.source, form=rule.form,
                           attributes=rule.attributes)
    if rule.condition == "drop":
        span = last - first
        before = window_totals(metrics, rule.metric, *previous_window(rule, first, span, hub.config.metrics.timezone),
                               source=rule.source, form=rule.form, attributes=rule.attributes)
        enough = min(totals.responses, before.responses) >= rule.min_responses
        fall = None if totals.value is None or before.value is None else round(before.value - totals.value, 2)
        return {NO_GROUP: Reading(enough and fall is not None and fall >= rule.threshold, fall, totals.responses)}
    value = _count(rule, totals) if rule.condition == "at_least" else totals.value
    enough = totals.responses >= rule.min_responses
    holds = enough and value is not None and (
        value < rule.threshold if rule.condition == "below" else
        value > rule.threshold if rule.condition == "above" else value >= rule.threshold)
    return {NO_GROUP: Reading(holds, value, totals.responses)}


def window(rule: AlertRule, now: datetime, zone_name: str) -> tuple[int, int]:
    """The quarter-hours [first, last) a rule looks at now: the rolling window, or the current day/week/month."""
    last = int(now.timestamp()) // QUARTER_SECONDS + 1
    if rule.rolling is not None:
        return int((now - rule.rolling).timestamp()) // QUARTER_SECONDS, last
    start = bucket_start(now, rule.calendar or "week", parse_timezone(zone_name))
    return int(start.timestamp()) // QUARTER_SECONDS, last


def previous_window(rule: AlertRule, first: int, span: int, zone_name: str) -> tuple[int, int]:
    """The window before (for `drop`): as long, or the whole previous day, week or month."""
    if rule.rolling is not None:
        return first - span, first
    start = datetime.fromtimestamp(first * QUARTER_SECONDS, timezone.utc) - timedelta(seconds=1)
    earlier = bucket_start(start, rule.calendar or "week", parse_timezone(zone_name))
    return int(earlier.timestamp()) // QUARTER_SECONDS, first


def _category(rule: AlertRule) -> str:
    from hub.insights.definitions import CATEGORIES, COUNT_NAMES

    return CATEGORIES[COUNT_NAMES[rule.metric].index(rule.count or "")]


def _count(rule: AlertRule, totals: Totals) -> float:
    return float(totals.responses if rule.count == "responses" else totals.counts[rule.count or ""])


def _move(hub: Hub, rule: AlertRule, group: str, state: str, episode: int, reading: Reading,
          previous: AlertState | None, now: datetime) -> dict[str, Any]:
    event = alert_event(rule, group, state, episode, reading, now)
    take_in(hub, [event])
    if hub.store.metrics.move_alert(rule.name, group, state=state, episode=episode, value=reading.value,
                                    previous=previous):
        log.warning("alert %s%s %s: %s", rule.name, f" ({group})" if group else "", state, event["data"]["text"])
    return event


def alert_event(rule: AlertRule, group: str, state: str, episode: int, reading: Reading,
                now: datetime) -> dict[str, Any]:
    """The cx.metric.alert CloudEvent of one transition; its id depends only on rule, group, episode and state.

    A firing and its clearing are about one object (the episode), so the clearing is an update
    of it: a route that delivered the firing runs on the clearing only with `run_on_updates`.
    """
    tag = f":{hashlib.sha256(group.encode()).hexdigest()[:16]}" if group else ""
    subject = f"{rule.name}{tag}:{episode}"
    vendor_id = f"{subject}:{state}"
    customer_email = group if "@" in group and ":" not in group else None
    shown = "none" if reading.value is None else f"{reading.value:g}"
    verb = {"below": "below", "above": "above", "drop": "down by at least", "at_least": "at least"}[rule.condition]
    text = (f"{'ALERT' if state == 'firing' else 'CLEARED'} {rule.name}: {rule.describe()}"
            f"{' for ' + group if group else ''} is {shown} ({'' if state == 'firing' else 'no longer '}{verb} "
            f"{rule.threshold:g}; {reading.responses} responses)")
    event = {
        "specversion": "1.0", "id": event_id(ALERT_SOURCE, vendor_id), "source": f"/sources/{ALERT_SOURCE}",
        "type": "cx.metric.alert", "time": now.isoformat().replace("+00:00", "Z"), "subject": subject,
        "datacontenttype": "application/json", "dataschema": "urn:cxhub:schema:customer-event:1",
        "data": {
            "customer": {"id": None if customer_email or not group else group[:512], "email": customer_email,
                         "name": None},
            "score": None, "text": text,
            "link": {"system": "cxhub", "id": subject, "url": None, "type": "metric_alert"},
            "vendor_event_id": vendor_id,
            "attributes": {"rule": rule.name, "metric": rule.metric, "state": state},
            "update": state == "cleared",
            "alert": {"rule": rule.name, "metric": rule.metric, "state": state, "value": reading.value,
                      "threshold": rule.threshold, "condition": rule.condition, "window": rule.window,
                      "responses": reading.responses, "group": group or None, "episode": episode},
        },
    }
    validate_event(event)
    return event
