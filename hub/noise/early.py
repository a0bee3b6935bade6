"""Sending a quiet-hours delivery early: an operator's `cxhub deliveries release --now`.

Quiet hours are judged when a delivery is claimed (hub/delivery/runner.py), so a delivery
released early would only be held again. Releasing it early leaves a mark in Redis, one key
per delivery lasting until its hold would have ended (and a minute more): a claim in quiet
hours lets marked deliveries go, their retries too. A mark lost with Redis only means the
delivery waits for the morning after all, as it would have without the operator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from redis import Redis

from hub.store import now

MARGIN_SECONDS = 60


def _key(queue: str, delivery_id: str) -> str:
    return f"cxhub:{queue}:quiet:early:{delivery_id}"


def allow_early(redis: Redis, queue: str, held: Iterable[tuple[str, datetime]]) -> None:
    """Mark deliveries (each with the end of its hold) as free to go in their connection's quiet hours."""
    moment = now()
    with redis.pipeline(transaction=False) as pipe:
        for delivery_id, until in held:
            pipe.set(_key(queue, delivery_id), "1",
                     ex=max(MARGIN_SECONDS, int((until - moment).total_seconds()) + MARGIN_SECONDS))
        pipe.execute()


def sent_early(redis: Redis, queue: str, delivery_ids: Sequence[str]) -> set[str]:
    """Which of these deliveries an operator released early (they go despite the quiet hours)."""
    if not delivery_ids:
        return set()
    marks = redis.mget([_key(queue, delivery_id) for delivery_id in delivery_ids])
    return {delivery_id for delivery_id, mark in zip(delivery_ids, marks) if mark is not None}
