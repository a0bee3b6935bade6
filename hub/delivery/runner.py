"""Runs one delivery attempt and decides what happens next: done, retry later, or dead letter."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping

import orjson
from marshmallow import ValidationError

from hub.config.model import ConnectionConfig
from hub.delivery.backoff import backoff_delay
from hub.delivery.gate import ConnectionGate, Transition
from hub.plugin.errors import DeliveryError, GiveUp, RetryLater
from hub.plugin.http import HttpClient, client_for
from hub.plugin.types import ActionResult, Connection, Delivery
from hub.routing.templates import TemplateProblem, compile_params, render_params
from hub.runtime import Hub
from hub.store.store import now

log = logging.getLogger("cxhub.delivery")


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: `retry` is only meaningful when `ok` is false."""

    ok: bool
    retry: bool = False
    error: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    result: ActionResult | None = None

    @property
    def breaker_outcome(self) -> str:
        """What this attempt tells the circuit breaker about the destination."""
        if self.ok or (self.status_code is not None and not self.retry):
            return "succeeded"  # it answered (a 4xx too): the destination is up
        return "failed" if self.retry else "neutral"


class DeliveryRunner:
    """Runs deliveries in a worker process, shared by its threads.

    Keeps one HTTP client per connection (connection reuse) and the process's connection gate
    (in-flight caps and the shared circuit breaker).
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.clients: dict[str, HttpClient | None] = {}
        settings = hub.config.hub
        self.gate = ConnectionGate(hub.redis, settings.queue, hub.config.connections,
                                   default_cap=max(1, settings.worker_threads // 2))

    def run(self, delivery_id: str, connection: str) -> None:
        """Run the delivery once, if it is still waiting; a delivery already done is left alone.

        0. Pass the connection's gate; if it is paused or busy, put the job back for later
           without counting an attempt.
        1. Claim the row (queued/retrying -> running); another worker's duplicate job stops here.
        2. Render the parameters and call the connection plugin's `cxhub_run_action`.
        3. Store the attempt. On success: succeeded. On a retryable failure with attempts left:
           retrying, and a job is scheduled after the backoff. Otherwise: dead (dead-lettered).
        """
        wait = self.gate.enter(connection)
        if wait is not None:
            self.hub.queue.schedule(delivery_id, connection, wait)
            return
        outcome = None
        try:
            outcome = self.run_claimed(delivery_id)
        finally:
            self.announce(self.gate.leave(connection, outcome.breaker_outcome if outcome else "neutral"), outcome)

    def run_claimed(self, delivery_id: str) -> Outcome | None:
        delivery = self.hub.store.claim(delivery_id, timedelta(seconds=self.hub.config.hub.delivery_lease_seconds))
        if delivery is None:
            return None
        started = now()
        clock = time.perf_counter()
        outcome = self.attempt(delivery)
        attempt = {"number": delivery["attempts"], "started_at": started, "status_code": outcome.status_code,
                   "duration_ms": (time.perf_counter() - clock) * 1000, "error": outcome.error}
        self.conclude(delivery, attempt, outcome)
        return outcome

    def announce(self, transition: Transition | None, outcome: Outcome | None) -> None:
        """Tell the lifecycle hooks (and the log) that a connection was just paused or resumed."""
        if transition is None:
            return
        if transition.paused:
            error = outcome.error if outcome and outcome.error else "repeated failures"
            log.warning("connection %s paused until %s after repeated failures: %s", transition.connection,
                        transition.until, error)
            self.hub.plugins.notify("cxhub_connection_paused", connection=transition.connection,
                                    until=transition.until, error=error)
        else:
            log.warning("connection %s resumed", transition.connection)
            self.hub.plugins.notify("cxhub_connection_resumed", connection=transition.connection)

    def attempt(self, delivery: Mapping[str, Any]) -> Outcome:
        try:
            result = self.call_action(delivery)
        except RetryLater as error:
            return Outcome(False, True, error.message, error.status_code, error.after)
        except DeliveryError as error:
            return Outcome(False, False, error.message, error.status_code)
        except Exception as error:  # a plugin bug fails this delivery only, never the worker
            log.exception("connection %s: action %s raised unexpectedly", delivery["connection"], delivery["action"])
            return Outcome(False, False, f"plugin error: {type(error).__name__}: {error}")
        return Outcome(True, result=result)

    def call_action(self, delivery: Mapping[str, Any]) -> ActionResult | None:
        config = self.hub.config.connections.get(delivery["connection"])
        if config is None:
            raise GiveUp(f"connection {delivery['connection']!r} is no longer configured")
        plugin = self.hub.plugins.get(config.plugin)
        action_info = plugin.info.actions.get(delivery["action"]) if plugin else None
        if plugin is None or action_info is None:
            raise GiveUp(f"plugin {config.plugin!r} no longer provides action {delivery['action']!r}")
        event = orjson.loads(delivery["event_body"])
        params = self.params(delivery, event, action_info.params)
        return plugin.call(
            "cxhub_run_action", connection=self.connection(config, plugin.info.connection.url_setting),
            action=delivery["action"], params=params, event=event,
            delivery=Delivery(id=delivery["id"], attempt=delivery["attempts"], route=delivery["route"]),
        )

    def params(self, delivery: Mapping[str, Any], event: Mapping[str, Any], schema: Any) -> Any:
        try:
            rendered = render_params(compile_params(orjson.loads(delivery["params"])), event)
        except TemplateProblem as error:
            raise GiveUp(f"route {delivery['route']!r}: {error}") from None
        if schema is None:
            return rendered
        try:
            return schema().load(rendered)
        except ValidationError as error:
            raise GiveUp(f"route {delivery['route']!r}: invalid parameters after rendering: {error.messages}") from None

    def connection(self, config: ConnectionConfig, url_setting: str | None) -> Connection:
        """The connection with its HTTP client, made once per process (None if it has no URL)."""
        if config.name not in self.clients:
            self.clients[config.name] = client_for(config.settings, url_setting, timeout=config.timeout)
        return Connection(config.name, config.plugin, config.settings, self.clients[config.name])

    def close(self) -> None:
        for client in self.clients.values():
            if client is not None:
                client.close()
        self.clients.clear()

    def conclude(self, delivery: Mapping[str, Any], attempt: Mapping[str, Any], outcome: Outcome) -> None:
        store, delivery_id = self.hub.store, delivery["id"]
        if outcome.ok:
            result = outcome.result
            stored = {"external_id": result.external_id, "url": result.url, "detail": dict(result.detail)} \
                if result else {}
            store.finish_attempt(delivery_id, {**attempt, "outcome": "succeeded"}, status="succeeded", result=stored)
            self.hub.plugins.notify("cxhub_delivery_succeeded", delivery=_public(delivery, "succeeded"),
                                    result=result)
            return
        policy = self.hub.config.connections[delivery["connection"]].retry \
            if delivery["connection"] in self.hub.config.connections else None
        used = delivery["attempts"] - delivery["budget_start"]
        if outcome.retry and policy is not None and used < policy.max_attempts:
            delay = backoff_delay(used, policy, retry_after=outcome.retry_after)
            store.finish_attempt(delivery_id, {**attempt, "outcome": "retry"}, status="retrying", error=outcome.error,
                                 next_attempt_at=now() + timedelta(seconds=delay))
            self.hub.queue.schedule(delivery_id, delivery["connection"], delay)
            log.info("delivery %s failed (%s); retry in %.1fs", delivery_id, outcome.error, delay)
            return
        store.finish_attempt(delivery_id, {**attempt, "outcome": "failed"}, status="dead", error=outcome.error)
        log.warning("delivery %s dead-lettered after %d attempts: %s", delivery_id, used, outcome.error)
        self.hub.plugins.notify("cxhub_delivery_dead_lettered", delivery=_public(delivery, "dead"),
                                error=outcome.error or "")


def _public(delivery: Mapping[str, Any], status: str) -> dict[str, Any]:
    """The delivery row as lifecycle hooks see it: its new status, without the event body read with it."""
    return {**{key: value for key, value in delivery.items() if key != "event_body"}, "status": status}
