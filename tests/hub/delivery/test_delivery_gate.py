"""The connection gate on a real Redis: in-flight caps per process, and a breaker shared by all of them."""

from __future__ import annotations

import threading

import pytest

from hub.config.model import BreakerPolicy, ConnectionConfig
from hub.delivery.gate import (
    HELD_RECHECK_SECONDS,
    ConnectionGate,
    breaker_key,
    read_breakers,
    resume_connection,
)
from hub.delivery.runner import Outcome


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def trip(gate: ConnectionGate) -> None:
    """Three retryable failures in a row: jira's threshold."""
    for _ in range(3):
        gate.enter("jira")
        gate.leave("jira", "failed")


@pytest.fixture
def connections():
    return {"jira": ConnectionConfig("jira", "jira", {}, breaker=BreakerPolicy(failure_threshold=3, pause_seconds=30)),
            "slack": ConnectionConfig("slack", "slack", {}, max_in_flight=1)}


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def gates(make_hub, connections, clock):
    """Two gates on one Redis, as two worker processes would have."""
    redis = make_hub("{}").hub.redis
    return [ConnectionGate(redis, "cxhub", connections, default_cap=2, refresh=0, clock=clock) for _ in range(2)]


def test_each_process_caps_its_own_threads_per_connection(gates):
    first, second = gates
    assert first.enter("jira") is None and first.enter("jira") is None
    assert first.enter("jira") == 0.0  # the third thread gives its job back at once: the cap is 2
    assert first.open_connections() == ["slack"]
    assert second.enter("jira") is None  # another process has its own threads
    first.leave("jira", "succeeded")
    assert first.open_connections() == ["jira", "slack"]


def test_a_connection_is_paused_for_every_process_after_repeated_failures(gates, clock):
    first, second = gates
    transitions = []
    for _ in range(3):
        assert first.enter("jira") is None
        transitions.append(first.leave("jira", "failed"))
    assert transitions[:2] == [None, None]
    assert transitions[2].paused and transitions[2].connection == "jira"
    assert second.open_connections() == ["slack"]
    assert second.enter("jira") == 30.0
    clock.now += 10
    assert second.enter("jira") == 20.0


def test_after_the_pause_one_trial_runs_and_its_success_resumes(gates, clock):
    first, second = gates
    trip(first)
    clock.now += 31
    assert first.enter("jira") is None  # the trial
    assert second.enter("jira") == 1.0 and "jira" not in second.open_connections()
    resumed = first.leave("jira", "succeeded")
    assert resumed is not None and not resumed.paused
    assert second.enter("jira") is None


def test_a_trial_asked_for_after_the_breaker_closed_leaves_nothing_behind(make_hub, connections, clock):
    redis = make_hub("{}").hub.redis
    first, stale = (ConnectionGate(redis, "cxhub", connections, default_cap=2, refresh=refresh, clock=clock)
                    for refresh in (0, 3600))
    trip(first)
    clock.now += 31
    assert "jira" in stale.open_connections()  # half-open: it reads that state and keeps it
    first.enter("jira")
    assert first.leave("jira", "succeeded") is not None  # the trial resumed the connection
    assert stale.enter("jira") is None  # a stale view asks for a trial; the closed breaker lets it through
    assert stale.leave("jira", "succeeded") is None
    assert not redis.exists(breaker_key("cxhub", "jira"))


def test_a_failed_trial_pauses_again_without_a_second_alert(gates, clock):
    first, _ = gates
    trip(first)
    clock.now += 31
    assert first.enter("jira") is None
    assert first.leave("jira", "failed") is None
    assert first.enter("jira") == 30.0


def test_a_success_between_failures_starts_the_count_again(gates):
    first, _ = gates
    for outcome in ("failed", "failed", "succeeded", "failed", "failed"):
        first.enter("jira")
        assert first.leave("jira", outcome) is None
    assert read_breakers(first.redis, "cxhub", ["jira"])["jira"].failures == 2


def test_neutral_outcomes_and_a_disabled_breaker_leave_it_alone(make_hub, clock):
    off = {"out": ConnectionConfig("out", "webhook", {}, breaker=BreakerPolicy(failure_threshold=0))}
    gate = ConnectionGate(make_hub("{}").hub.redis, "cxhub", off, default_cap=2, refresh=0, clock=clock)
    for _ in range(20):
        gate.enter("out")
        assert gate.leave("out", "failed") is None
    assert gate.open_connections() == ["out"]


def test_an_unknown_connection_is_let_through_for_the_runner_to_give_up_on(gates):
    assert gates[0].enter("gone") is None and gates[0].leave("gone", "failed") is None


@pytest.mark.parametrize(("outcome", "expected"), [
    (Outcome(True), "succeeded"),
    (Outcome(False, False, "answered 404", 404), "succeeded"),  # a 4xx: the destination is up
    (Outcome(False, True, "answered 503", 503), "failed"),
    (Outcome(False, True, "timed out"), "failed"),
    (Outcome(False, False, "plugin error: KeyError"), "neutral"),
])
def test_what_an_attempt_tells_the_breaker(outcome, expected):
    assert outcome.breaker_outcome == expected


def test_threads_starting_together_all_see_every_connection(make_hub, connections):
    """The first read of the breakers is under way in one thread: the others wait for it, not for an empty map."""
    redis = make_hub("{}").hub.redis
    for _ in range(20):
        gate = ConnectionGate(redis, "cxhub", connections, default_cap=2)
        start, seen, errors = threading.Barrier(12), [], []

        def look() -> None:
            start.wait()
            try:
                seen.append(gate.open_connections())
            except Exception as error:  # noqa: BLE001 - any error is the failure under test
                errors.append(error)

        threads = [threading.Thread(target=look) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert seen == [["jira", "slack"]] * 12


def test_a_hold_pauses_a_connection_for_every_process_until_resumed(gates, clock):
    first, second = gates
    transition = first.hold("jira", "the receiver answered 410 Gone")
    assert (transition.connection, transition.paused, transition.held, transition.until) == ("jira", True, True, None)
    assert first.hold("jira", "again") is None  # already held: no second announcement, the first reason stays
    clock.now += 86400  # a hold does not run out
    for gate in gates:
        assert gate.open_connections() == ["slack"]
        assert gate.enter("jira") == HELD_RECHECK_SECONDS
    gate_state = read_breakers(first.redis, "cxhub", ["jira"])["jira"]
    assert gate_state.held == "the receiver answered 410 Gone" and gate_state.paused(clock.now)
    assert resume_connection(first.redis, "cxhub", "jira") is True
    assert second.enter("jira") is None and "jira" in first.open_connections()
    assert resume_connection(first.redis, "cxhub", "jira") is False


def test_resuming_also_closes_an_open_breaker(gates):
    first, _ = gates
    trip(first)
    assert "jira" not in first.open_connections()
    assert resume_connection(first.redis, "cxhub", "jira") is True
    assert "jira" in first.open_connections()
