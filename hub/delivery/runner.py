"""Runs one delivery attempt and decides what happens next: done, retry later, or dead letter."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping, Sequence

import orjson
from redis.exceptions import RedisError

from hub import instruments
from hub.config.model import ConnectionConfig
from hub.cases.opening import open_cases
from hub.delivery.backoff import backoff_delay
from hub.delivery.once import Decision, OnceProblem, decide
from hub.delivery.gate import ConnectionGate, Transition
from hub.delivery.leases import Leases
from hub.events.storable import escape_unstorable
from hub.noise.digest import digest_event
from hub.noise.early import sent_early
from hub.noise.quiet import quiet_now
from hub.outbound.client import connection_client
from hub.plugin.errors import DeliveryError, GiveUp, PauseConnection, RetryLater, Throttled
from hub.plugin.http import HttpClient
from hub.plugin.types import ActionInfo, ActionResult, Connection, Delivery, Link
from hub.routing.actions import ActionParamsProblem, render_action
from hub.routing.origins import stamped_context
from hub.runtime import Hub
from hub.store import ClaimedDelivery, CreatedObject, FinishedAttempt, StoreUnavailable, now

log = logging.getLogger("cxhub.delivery")


BATCH_SECONDS = 10.0  # no further delivery of a job starts once it has run this long
FLUSH_SECONDS = 1.0  # finished attempts are stored at least this often


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: `retry` is only meaningful when `ok` is false."""

    ok: bool
    retry: bool = False
    error: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    result: ActionResult | None = None
    pause: bool = False  # the destination said to stop: hold the connection, this delivery waits
    throttled: bool = False  # the connection's pace had no room: given back uncounted, after retry_after
    once: Mapping[str, Any] | None = None  # for an action with once_per: what this attempt ran (hub/delivery/once.py)

    @property
    def breaker_outcome(self) -> str:
        """What this attempt tells the circuit breaker about the destination."""
        if self.pause or self.throttled:
            return "neutral"  # the hold takes over
        if self.ok or (self.status_code is not None and not self.retry):
            return "succeeded"  # it answered (a 4xx too): the destination is up
        return "failed" if self.retry else "neutral"


@dataclass(frozen=True)
class Finished:
    """An attempt made and not stored yet."""

    delivery: ClaimedDelivery
    attempt: dict[str, Any]
    outcome: Outcome


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
        self.leases = Leases(hub.store.deliveries.renew, settings.delivery_lease_seconds, "deliveries")
        # The enrichment jobs this process runs (hub.enrichment) renew theirs through this one.
        self.enrichment_leases = Leases(hub.store.enrichments.renew, settings.delivery_lease_seconds, "enrichments")

    def run(self, delivery_ids: Sequence[str], connection: str) -> None:
        """Run deliveries waiting for one connection, each once if it is still waiting.

        1. Claim the rows together (queued/retrying -> running); a row already claimed by another
           worker's duplicate job, or already done, is left alone.
           If the connection is in its quiet hours (they began after the deliveries were queued, or
           a retry fell into them), they are held until the hours end, their attempt uncounted.
        2. Attempt each in turn through the connection's gate. Once the gate closes (paused, at its
           in-flight cap) or the batch has run BATCH_SECONDS, the rest are given back, uncounted.
        3. Store the attempts together (at least every FLUSH_SECONDS, so a crash repeats little),
           then queue the retries and tell the lifecycle hooks. On success: succeeded. On a
           retryable failure with attempts left: retrying, after the backoff. Otherwise: dead.

        From the claim until its attempt is stored, this process renews each delivery's lease
        (`hub.delivery.leases`), so a live attempt keeps its claim and a dead worker's expires soon.
        """
        claimed = self.hub.store.deliveries.claim(delivery_ids, self.leases.lease)
        self.leases.hold(delivery.id for delivery in claimed)
        try:
            self.attempt_claimed(self.hold_if_quiet(claimed, connection), connection)
        finally:  # whatever happened, this thread no longer holds them: an unfinished one expires and is swept
            self.leases.let_go(delivery.id for delivery in claimed)

    def attempt_claimed(self, claimed: list[ClaimedDelivery], connection: str) -> None:
        """Steps 2 and 3 of `run`, for the claimed deliveries that may go now."""
        self.open_cases(claimed)
        started = flushed = time.monotonic()
        finished: list[Finished] = []
        for index, delivery in enumerate(claimed):
            overdue = index > 0 and time.monotonic() - started >= BATCH_SECONDS  # the first always gets its turn
            wait = 0.0 if overdue else self.gate.enter(connection)
            if wait is not None:
                self.give_back(claimed[index:], connection, wait)
                break
            item = self.attempt_entered(delivery, connection)
            if item.outcome.throttled:  # no room in the connection's pace: it waits, spending no attempt
                log.info("delivery %s to %s waits %.1fs: %s", delivery.id, connection, item.outcome.retry_after or 0,
                         item.outcome.error)
                self.give_back([delivery], connection, item.outcome.retry_after or 1.0)
                continue
            finished.append(item)
            if time.monotonic() - flushed >= FLUSH_SECONDS:
                self.conclude(finished)
                finished, flushed = [], time.monotonic()
        self.conclude(finished)

    def hold_if_quiet(self, claimed: list[ClaimedDelivery], connection: str) -> list[ClaimedDelivery]:
        """The claimed deliveries that may go now; in quiet hours only those an operator sent early
        (hub/noise/early.py), and the rest are held until the hours end."""
        quiet = quiet_now(self.hub, connection, self.hub.clock()) if claimed else None
        if quiet is None:
            return claimed
        try:
            early = sent_early(self.hub.redis, self.hub.config.hub.queue, [delivery.id for delivery in claimed])
        except RedisError as error:  # without the marks they wait for the morning, as without the operator
            log.warning("quiet hours: cannot read the early releases, holding all: %s", error)
            early = set()
        held = self.hub.store.noise.hold_claimed([delivery.id for delivery in claimed if delivery.id not in early],
                                                 quiet.until, quiet.reason)
        if held:
            log.info("%d deliveries to %s held: %s", len(held), connection, quiet.reason)
        return [delivery for delivery in claimed if delivery.id in early]

    def open_cases(self, claimed: Sequence[ClaimedDelivery]) -> None:
        """Open the cases of routes with `case:` before their deliveries' attempts (hub/cases/opening.py)."""
        try:
            open_cases(self.hub.store, self.hub.config.routes, claimed)
        except StoreUnavailable as error:  # the deliveries go on; their next claim opens the cases
            log.warning("cases of %d deliveries not opened yet: %s", len(claimed), error)

    def attempt_entered(self, delivery: ClaimedDelivery, connection: str) -> Finished:
        """One attempt, made after the gate let it in; the gate hears how it went."""
        outcome = None
        pace = self.gate.paces.get(connection)
        if pace is not None:
            pace.start_attempt()
        try:
            started, clock = now(), time.perf_counter()
            outcome = self.attempt(delivery)
            attempt = {"number": delivery.attempts, "started_at": started, "status_code": outcome.status_code,
                       "duration_ms": (time.perf_counter() - clock) * 1000, "error": outcome.error}
            return Finished(delivery, attempt, outcome)
        finally:
            transition = self.gate.leave(connection, outcome.breaker_outcome if outcome else "neutral")
            if outcome is not None and outcome.pause:
                transition = self.gate.hold(connection, outcome.error or "the destination asked to stop")
            self.announce(transition, outcome)

    def give_back(self, claimed: Sequence[ClaimedDelivery], connection: str, wait: float) -> None:
        """Release claimed deliveries unattempted and queue them again after `wait` seconds."""
        released = self.hub.store.deliveries.release([delivery.id for delivery in claimed])
        self.leases.let_go(delivery.id for delivery in claimed)
        for ref in released:
            self.hub.queue.schedule(ref.id, connection, wait)

    def announce(self, transition: Transition | None, outcome: Outcome | None) -> None:
        """Tell the lifecycle hooks (and the log) that a connection was just paused or resumed."""
        if transition is None:
            return
        if transition.held:
            error = outcome.error if outcome and outcome.error else "the destination asked to stop"
            log.warning("connection %s paused until resumed (cxhub connections resume %s): %s",
                        transition.connection, transition.connection, error)
            self.hub.plugins.notify("cxhub_connection_paused", connection=transition.connection, until=None,
                                    error=error)
        elif transition.paused:
            error = outcome.error if outcome and outcome.error else "repeated failures"
            log.warning("connection %s paused until %s after repeated failures: %s", transition.connection,
                        transition.until, error)
            self.hub.plugins.notify("cxhub_connection_paused", connection=transition.connection,
                                    until=transition.until, error=error)
        else:
            log.warning("connection %s resumed", transition.connection)
            self.hub.plugins.notify("cxhub_connection_resumed", connection=transition.connection)

    def attempt(self, delivery: ClaimedDelivery) -> Outcome:
        """Run one attempt. Its error is stored, and may quote the destination: NUL is escaped for PostgreSQL."""
        try:
            result, once = self.call_action(delivery)
        except Throttled as error:
            return Outcome(False, True, error.message, retry_after=error.after, throttled=True)
        except RetryLater as error:
            return Outcome(False, True, escape_unstorable(error.message), error.status_code, error.after)
        except PauseConnection as error:
            return Outcome(False, False, escape_unstorable(error.message), error.status_code, pause=True)
        except DeliveryError as error:
            return Outcome(False, False, escape_unstorable(error.message), error.status_code)
        except Exception as error:  # a plugin bug fails this delivery only, never the worker
            log.exception("connection %s: action %s raised unexpectedly", delivery.connection, delivery.action)
            return Outcome(False, False, escape_unstorable(f"plugin error: {type(error).__name__}: {error}"))
        return Outcome(True, result=result, once=once)

    def call_action(self, delivery: ClaimedDelivery) -> tuple[ActionResult | None, dict[str, Any] | None]:
        """Run the delivery's action (or, for an action with once_per, what its key decides); the result,
        and what once_per decided (None without it)."""
        config = self.hub.config.connections.get(delivery.connection)
        if config is None:
            raise GiveUp(f"connection {delivery.connection!r} is no longer configured")
        plugin = self.hub.plugins.get(config.plugin)
        action_info = plugin.info.actions.get(delivery.action) if plugin else None
        if plugin is None or action_info is None:
            raise GiveUp(f"plugin {config.plugin!r} no longer provides action {delivery.action!r}")
        if delivery.is_digest:
            event, origin = digest_event(self.hub, delivery), None  # a digest has no origin
        else:
            event = orjson.loads(delivery.event_body)
            origin = stamped_context(self.hub.store, event)
        action, templates, first, once = delivery.action, orjson.loads(delivery.params), None, None
        if delivery.once:
            decision = self.decide_once(delivery, event, origin)
            once = {"ran": decision.run, "action": delivery.action, "holder": decision.holder}
            if decision.run == "skip":
                return None, once
            if decision.run == "otherwise":
                otherwise = orjson.loads(delivery.once)["otherwise"]
                action, templates, first = otherwise["action"], otherwise["params"], decision.first
                action_info = plugin.info.actions.get(action)
                if action_info is None:
                    raise GiveUp(f"plugin {config.plugin!r} no longer provides action {action!r} (otherwise)")
                once.update(action=action, first_event_id=first["event_id"] if first else None)
        params = self.params(delivery, event, action_info, templates, origin, first)
        url_setting = plugin.info.connection.url_setting if plugin.info.connection else None
        result = plugin.call(
            "cxhub_run_action", connection=self.connection(config, url_setting),
            action=action, params=params, event=event,
            delivery=Delivery(id=delivery.id, attempt=delivery.attempts, route=delivery.route),
        )
        return result, once

    def decide_once(self, delivery: ClaimedDelivery, event: Mapping[str, Any],
                    origin: Mapping[str, Any] | None) -> Decision:
        """What once_per makes of this attempt; waiting for the key's holder is a wait that spends no attempt."""
        try:
            decision = decide(self.hub.store, delivery, event, origin)
        except OnceProblem as error:
            raise GiveUp(f"route {delivery.route!r}: {error}") from None
        if decision.run == "wait":
            raise Throttled(f"once_per: waiting for delivery {decision.holder}, which holds the key, to finish",
                            after=decision.wait)
        return decision

    def params(self, delivery: ClaimedDelivery, event: Mapping[str, Any], action: ActionInfo, templates: Any,
               origin: Mapping[str, Any] | None, first: Mapping[str, Any] | None = None) -> Any:
        try:
            return render_action(templates, event, action, origin=origin, first=first)
        except ActionParamsProblem as error:
            raise GiveUp(f"route {delivery.route!r}: {error.message}") from None

    def connection(self, config: ConnectionConfig, url_setting: str | None) -> Connection:
        """The connection with its HTTP client, made once per process (None if it has no URL)."""
        if config.name not in self.clients:
            self.clients[config.name] = connection_client(self.hub.redis, self.hub.config.hub.queue, config,
                                                          url_setting, self.gate.paces.get(config.name))
        return Connection(config.name, config.plugin, config.settings, self.clients[config.name])

    def close(self) -> None:
        for client in self.clients.values():
            if client is not None:
                client.close()
        self.clients.clear()

    def conclude(self, finished: Sequence[Finished]) -> None:
        """Store the attempts and new statuses, then schedule retries and tell the hooks."""
        verdicts = [self.verdict(item) for item in finished]
        self.hub.store.deliveries.finish_attempts(verdicts)  # an `otherwise` is linked to the first's case there
        self.leases.let_go(item.delivery.id for item in finished)
        for item, verdict in zip(finished, verdicts):
            delivery = item.delivery
            delay = 0.0
            if verdict.status == "succeeded":
                self.hub.plugins.notify("cxhub_delivery_succeeded", delivery=_public(delivery, "succeeded"),
                                        result=item.outcome.result)
            elif verdict.status == "retrying":
                delay = max(0.0, (verdict.next_attempt_at - now()).total_seconds())  # type: ignore[operator]
                self.hub.queue.schedule(delivery.id, delivery.connection, delay)
            else:
                self.hub.plugins.notify("cxhub_delivery_dead_lettered", delivery=_public(delivery, "dead"),
                                        error=verdict.error or "")
            log_attempt(item, verdict.status, delay)
            instruments.attempt_finished(delivery.connection, verdict.attempt["outcome"],
                                         item.attempt["duration_ms"] / 1000, verdict.status == "dead")

    def verdict(self, item: Finished) -> FinishedAttempt:
        """What an attempt makes of its delivery: succeeded, retrying after a backoff, or dead.

        Each carries its delivery's event_time, so storing the attempt need not look it up.
        """
        delivery, attempt, outcome = item.delivery, item.attempt, item.outcome
        if outcome.pause:  # not a failure of this delivery: it waits for the connection to be resumed
            return FinishedAttempt(delivery.id, {**attempt, "outcome": "paused"}, "retrying", error=outcome.error,
                                   next_attempt_at=now(), event_time=delivery.event_time)
        if outcome.ok:
            result = outcome.result
            stored = {"external_id": result.external_id, "url": result.url, "detail": dict(result.detail)} \
                if result else {}
            link = result.link if result else None
            created = CreatedObject(link.system, link.id, link.url) if link and _recordable(link) else None
            if link:
                stored["link"] = {"system": link.system, "id": link.id, "url": link.url, "type": link.type}
            case_of = None
            if outcome.once is not None:
                stored["once"] = dict(outcome.once)
                if outcome.once.get("ran") == "otherwise":
                    case_of = outcome.once.get("first_event_id") or None
            return FinishedAttempt(delivery.id, {**attempt, "outcome": "succeeded"}, "succeeded", result=stored,
                                   created=created, event_id=delivery.event_id, case_of=case_of,
                                   event_time=delivery.event_time)
        config = self.hub.config.connections.get(delivery.connection)
        used = delivery.attempts - delivery.budget_start
        if outcome.retry and config is not None and used < config.retry.max_attempts:
            delay = backoff_delay(used, config.retry, retry_after=outcome.retry_after)
            return FinishedAttempt(delivery.id, {**attempt, "outcome": "retry"}, "retrying", error=outcome.error,
                                   next_attempt_at=now() + timedelta(seconds=delay), event_time=delivery.event_time)
        return FinishedAttempt(delivery.id, {**attempt, "outcome": "failed"}, "dead", error=outcome.error,
                               event_time=delivery.event_time)


def _recordable(link: Link) -> bool:
    """Whether the store can keep the object a plugin named (its columns' sizes, no NUL); else it is not linked."""
    fits = 0 < len(link.system) <= 64 and 0 < len(link.id) <= 512
    if not fits or "\x00" in link.system + link.id:
        log.warning("an action named an object the lineage cannot keep (system %r, id of %d characters)",
                    link.system[:64], len(link.id))
        return False
    return True


def log_attempt(item: Finished, status: str, delay: float) -> None:
    """One line per finished attempt: what was delivered where, how it went, and what it created.

    Only ids, names, the status code and the error are logged: never a secret, never the payload.
    """
    delivery, outcome, attempt = item.delivery, item.outcome, item.attempt
    if outcome.pause:
        verdict = "waiting: the connection is paused until resumed"
    elif status == "retrying":
        verdict = f"retrying in {delay:.1f}s"
    elif status == "dead":
        verdict = f"dead-lettered after {delivery.attempts - delivery.budget_start} attempts"
    else:
        verdict = "succeeded"
    code = f"status {outcome.status_code}" if outcome.status_code is not None else "no status"
    result = outcome.result
    created = " ".join(part for part in (result.external_id, result.url) if part) if result else ""
    tail = f"; created {created}" if created else f": {outcome.error}" if outcome.error else ""
    level = logging.INFO if status != "dead" and not outcome.pause else logging.WARNING
    log.log(level, "delivery %s to %s.%s (route %s): %s, %s, %.0f ms%s", delivery.id, delivery.connection,
            delivery.action, delivery.route, verdict, code, attempt["duration_ms"], tail)


def _public(delivery: ClaimedDelivery, status: str) -> dict[str, Any]:
    """The delivery row as lifecycle hooks see it: its new status, without the event body read with it."""
    return {**delivery.as_dict(), "status": status}
