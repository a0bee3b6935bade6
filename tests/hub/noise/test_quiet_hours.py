"""Quiet hours: messages to people wait until morning in the connection's timezone, spending no attempt.

The hub's clock is moved (`hub.clock`), never slept on. Paris, around the night of 28-29 March
2026 when clocks go forward: 08:00 that morning is 06:00 UTC, not 07:00.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import plugins.slack as slack
import plugins.webhook as webhook
from hub.noise.schedule import run_noise_pass
from tests.conftest import APP_SOURCE, WHSEC
from tests.hub.noise.conftest import SLACK, SLACK_PATH, cli, detractor, post

QUIET = SLACK + """    quiet_hours: {from: "20:00", to: "08:00", timezone: Europe/Paris}
"""
ROUTE = """
routes:
  - name: detractors
    actions:
      - connection: slack
        action: post_message
        params: {text: "Detractor: {{ data.customer.email }}"}
"""
TEXT = "Detractor: customer1@example.com"
BODY = {"text": TEXT, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": TEXT}}]}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


class Clock:
    """The hub's clock, set by the test."""

    def __init__(self, moment: str) -> None:
        self.moment = utc(moment)

    def set(self, moment: str) -> datetime:
        self.moment = utc(moment)
        return self.moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def quiet_hub(make_hub, httpserver):
    hub = make_hub(APP_SOURCE + QUIET + ROUTE, plugins=[webhook, slack],
                   env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    return hub


def test_a_message_in_quiet_hours_waits_until_morning_across_the_clock_change(quiet_hub, httpserver,
                                                                            cxhub_redis_url, cxhub_database_url):
    clock = quiet_hub.hub.clock = Clock("2026-03-28 22:00")  # 23:00 CET
    assert post(quiet_hub.serve(), detractor(1), "msg_1").status_code == 202
    quiet_hub.drain()
    [held] = quiet_hub.store.reads.deliveries()
    assert held.status == "held" and held.attempts == 0 and not httpserver.log
    assert held.next_attempt_at == utc("2026-03-29 06:00")  # 08:00 CEST
    assert held.last_error == ("quiet hours of connection slack (20:00-08:00 (Europe/Paris)): held until "
                               "2026-03-29 08:00 CEST")
    cxhub = cli(quiet_hub, cxhub_redis_url, cxhub_database_url, SLACK_WEBHOOK_URL="http://unused")
    assert f"{held.id}  held until 2026-03-29T06:00+00:00" in cxhub("deliveries", "list", "--status", "held")

    assert run_noise_pass(quiet_hub.hub, clock.set("2026-03-29 05:59")).released == 0  # 07:59 CEST
    quiet_hub.drain()
    assert quiet_hub.store.reads.delivery(held.id).status == "held"

    httpserver.expect_oneshot_request(SLACK_PATH, method="POST", json=BODY).respond_with_data("ok")
    assert run_noise_pass(quiet_hub.hub, clock.set("2026-03-29 06:00")).released == 1
    quiet_hub.drain()
    httpserver.check_assertions()
    sent = quiet_hub.store.reads.delivery(held.id)
    assert sent.status == "succeeded" and sent.attempts == 1 and sent.last_error is None


def test_the_autumn_morning_is_an_hour_later_in_utc(quiet_hub, httpserver):
    clock = quiet_hub.hub.clock = Clock("2026-10-24 21:00")  # 23:00 CEST
    assert post(quiet_hub.serve(), detractor(1), "msg_1").status_code == 202
    [held] = quiet_hub.store.reads.deliveries()
    assert held.next_attempt_at == utc("2026-10-25 07:00")  # 08:00 CET
    assert run_noise_pass(quiet_hub.hub, clock.set("2026-10-25 06:30")).released == 0
    httpserver.expect_oneshot_request(SLACK_PATH, method="POST", json=BODY).respond_with_data("ok")
    assert run_noise_pass(quiet_hub.hub, clock.set("2026-10-25 07:00")).released == 1
    quiet_hub.drain()
    httpserver.check_assertions()


def test_a_delivery_queued_before_the_evening_and_run_after_it_is_held_uncounted(quiet_hub, httpserver):
    clock = quiet_hub.hub.clock = Clock("2026-12-01 18:59")  # 19:59 CET: not quiet yet
    assert post(quiet_hub.serve(), detractor(1), "msg_1").status_code == 202
    [queued] = quiet_hub.store.reads.deliveries()
    assert queued.status == "queued"
    clock.set("2026-12-01 19:30")  # the worker gets to it at 20:30 CET
    quiet_hub.drain()
    held = quiet_hub.store.reads.delivery(queued.id)
    assert (held.status, held.attempts, held.next_attempt_at) == ("held", 0, utc("2026-12-02 07:00"))
    assert not httpserver.log and not quiet_hub.store.reads.attempts(queued.id)
    httpserver.expect_oneshot_request(SLACK_PATH, method="POST", json=BODY).respond_with_data("ok")
    run_noise_pass(quiet_hub.hub, clock.set("2026-12-02 07:00"))
    quiet_hub.drain()
    httpserver.check_assertions()
    assert quiet_hub.store.reads.delivery(queued.id).attempts == 1


def test_a_retry_that_falls_in_quiet_hours_waits_and_keeps_its_attempts(make_hub, httpserver):
    config = QUIET.replace("initial_delay: 0, max_delay: 0", "initial_delay: 60, max_delay: 60")
    quiet_hub = make_hub(APP_SOURCE + config + ROUTE, plugins=[webhook, slack],
                         env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    clock = quiet_hub.hub.clock = Clock("2026-12-01 18:00")
    httpserver.expect_ordered_request(SLACK_PATH, method="POST", json=BODY).respond_with_data("rollup_error",
                                                                                              status=500)
    assert post(quiet_hub.serve(), detractor(1), "msg_1").status_code == 202
    quiet_hub.drain(run_scheduled=False)
    [delivery] = quiet_hub.store.reads.deliveries()
    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    clock.set("2026-12-01 20:00")  # 21:00 CET when the retry comes up
    quiet_hub.drain()
    held = quiet_hub.store.reads.delivery(delivery.id)
    assert (held.status, held.attempts) == ("held", 1)  # the claim of the retry was given back
    httpserver.expect_ordered_request(SLACK_PATH, method="POST", json=BODY).respond_with_data("ok")
    run_noise_pass(quiet_hub.hub, clock.set("2026-12-02 07:00"))
    assert quiet_hub.store.reads.delivery(delivery.id).status == "retrying"  # it was attempted before
    quiet_hub.drain()
    httpserver.check_assertions()
    done = quiet_hub.store.reads.delivery(delivery.id)
    assert (done.status, done.attempts) == ("succeeded", 2)


def test_a_digest_made_in_quiet_hours_is_held_with_it(make_hub, httpserver):
    route = """
routes:
  - name: detractors
    actions:
      - connection: slack
        action: post_message
        digest: {every: 1h}
        params: {text: "{{ digest.count }} detractors"}
"""
    hub = make_hub(APP_SOURCE + QUIET + route, plugins=[webhook, slack],
                   env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    base = hub.serve()
    for number in (1, 2):
        assert post(base, detractor(number), f"msg_{number}").status_code == 202
    assert [row.status for row in hub.store.reads.deliveries()] == ["collecting", "collecting"]
    # the window opened with the first event (stamped with the real time) closes within the hour; two
    # days later at 21:00 UTC it is night in Paris, summer or winter
    night = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=21, minute=0, second=0, microsecond=0)
    assert run_noise_pass(hub.hub, night).digests == 1
    [digest] = [row for row in hub.store.reads.deliveries() if row.is_digest]
    morning = digest.next_attempt_at
    assert digest.status == "held" and morning == hub.hub.config.connections["slack"].quiet_hours.until(night)
    assert morning.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M") == "08:00" and morning > night
    hub.drain()
    assert not httpserver.log
    text = "2 detractors"
    httpserver.expect_oneshot_request(SLACK_PATH, method="POST", json={
        "text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}).respond_with_data("ok")
    hub.hub.clock = lambda: morning
    assert run_noise_pass(hub.hub).released == 1
    hub.drain()
    httpserver.check_assertions()
