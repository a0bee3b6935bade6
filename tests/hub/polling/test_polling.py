"""The polling core with a small feed plugin: one poller per source across processes, events taken in
like webhooks (routed once), cursors kept only once the events are stored, and the worker's schedule."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import plugins.webhook as webhook
from hub.plugin import (
    Customer,
    EventDraft,
    GiveUp,
    Link,
    PluginInfo,
    PollResult,
    RetryLater,
    Score,
    SourceInfo,
    hookimpl,
)
from hub.polling import PollFailed, poll_due_sources, poll_source
from hub.testing import wait_for
from tests.conftest import WHSEC

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


class Feed:
    """A source whose vendor API is a list of item numbers; the cursor is the last number read."""

    items: list[int] = []
    cursors: list[str | None] = []
    failure: Exception | None = None
    broken = False

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="feed", version="1.0", source=SourceInfo())

    @staticmethod
    @hookimpl
    def cxhub_verify_request(source, request) -> None:
        """(Webhooks are not under test here.)"""

    @staticmethod
    @hookimpl
    def cxhub_parse_request(source, request) -> list[EventDraft]:
        return [item(number) for number in request.json()["items"]]

    @staticmethod
    @hookimpl
    def cxhub_poll(source, cursor) -> PollResult:
        Feed.cursors.append(cursor)
        if Feed.failure is not None:
            raise Feed.failure
        since = int(cursor or 0)
        found = [number for number in Feed.items if number > since - 1]  # the last one again: an overlap
        drafts = [item(number) for number in found]
        if Feed.broken:
            drafts.append(EventDraft(type="cx.review.created", vendor_event_id="x" * 600, time=NOW,
                                     link=Link(system="feed", id="x")))
        return PollResult(drafts, str(max(found)) if found else None)


def item(number: int) -> EventDraft:
    return EventDraft(type="cx.review.created", vendor_event_id=f"item-{number}", time=NOW,
                      link=Link(system="feed", id=str(number)), customer=Customer(email=f"c{number}@example.com"),
                      score=Score("rating", 1 + number % 5, 1, 5))


def config(receiver: str, every: str = "1m") -> str:
    return f"""
sources:
  feed: {{plugin: feed, poll: {{every: {every}}}}}
connections:
  out:
    plugin: webhook
    settings: {{url: "{receiver}", secret: {{$env: APP_SECRET}}}}
    retry: {{max_attempts: 1, initial_delay: 0, max_delay: 0}}
routes:
  - name: everything
    actions:
      - {{connection: out, action: forward}}
"""


@pytest.fixture(autouse=True)
def fresh_feed():
    Feed.items, Feed.cursors, Feed.failure, Feed.broken = [], [], None, False


@pytest.fixture
def make_feed_hub(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("ok")

    def build(every: str = "1m"):
        return make_hub(config(httpserver.url_for("/receiver"), every), plugins=[Feed, webhook],
                        env={"APP_SECRET": WHSEC})

    return build


def deliveries_made(httpserver) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == "/receiver")


def test_hook_cxhub_poll(make_feed_hub, httpserver):
    hub = make_feed_hub()
    Feed.items = [1, 2, 3]
    first = poll_source(hub.hub, "feed")
    assert (len(first.accepted), first.duplicates, first.cursor_before, first.cursor_after) == (3, [], None, "3")
    Feed.items = [1, 2, 3, 4]
    second = poll_source(hub.hub, "feed")
    assert Feed.cursors == [None, "3"]
    assert (len(second.accepted), len(second.duplicates), second.cursor_after) == (1, 1, "4")
    hub.drain()
    assert deliveries_made(httpserver) == 4  # item 3, polled twice, was routed once


def test_a_webhook_and_a_poll_of_the_same_item_are_one_event(make_feed_hub, httpserver):
    hub = make_feed_hub()
    webhooked = hub.post("feed", {"items": [7]}).json["accepted"]
    Feed.items = [7]
    outcome = poll_source(hub.hub, "feed")
    assert (outcome.accepted, outcome.duplicates) == ([], webhooked)
    hub.drain()
    assert deliveries_made(httpserver) == 1


@pytest.mark.parametrize("failure", [RetryLater("busy", status_code=503, after=5), GiveUp("no", status_code=401)])
def test_a_failed_poll_stores_nothing_and_keeps_the_cursor(make_feed_hub, failure):
    hub = make_feed_hub()
    hub.store.cursors.save("feed", "2")
    Feed.failure = failure
    with pytest.raises(PollFailed) as raised:
        poll_source(hub.hub, "feed")
    assert raised.value.status_code == failure.status_code
    assert hub.store.cursors.read("feed") == "2" and hub.store.reads.events() == []


def test_an_invalid_event_stores_nothing_of_its_poll_and_keeps_the_cursor(make_feed_hub):
    hub = make_feed_hub()
    Feed.items, Feed.broken = [1, 2], True
    with pytest.raises(PollFailed, match="nothing was stored"):
        poll_source(hub.hub, "feed")
    assert hub.store.cursors.read("feed") is None and hub.store.reads.events() == []


def test_an_unknown_source_or_one_that_cannot_poll_is_refused(make_hub):
    import plugins.typeform as typeform

    hub = make_hub("sources:\n  tf: {plugin: typeform, settings: {secret: {$env: S}}}\n", plugins=[typeform],
                   env={"S": "x"})
    with pytest.raises(PollFailed, match="no source named 'nope'"):
        poll_source(hub.hub, "nope")
    with pytest.raises(PollFailed, match="does not implement cxhub_poll"):
        poll_source(hub.hub, "tf")


def test_one_process_polls_a_due_source_and_the_others_skip_it(make_feed_hub):
    one, other = make_feed_hub(), make_feed_hub()  # two processes' hubs on the same Redis and database
    Feed.items = [1]
    assert poll_due_sources(one.hub) == ["feed"]
    assert poll_due_sources(other.hub) == [] and poll_due_sources(one.hub) == []
    assert Feed.cursors == [None]


def test_a_poll_still_running_is_not_started_again(make_feed_hub):
    hub = make_feed_hub()
    running = hub.hub.redis.lock("cxhub:cxhub:poll:feed:running", timeout=60)
    assert running.acquire(blocking=False)
    assert poll_due_sources(hub.hub) == [] and Feed.cursors == []
    running.release()
    hub.hub.redis.delete("cxhub:cxhub:poll:feed:due")
    assert poll_due_sources(hub.hub) == ["feed"]


def test_a_failing_poll_is_logged_and_the_next_turn_comes_after_every(make_feed_hub, caplog):
    hub = make_feed_hub()
    Feed.failure = RetryLater("busy", status_code=503, after=5)
    assert poll_due_sources(hub.hub) == ["feed"]
    assert "poll of feed failed" in caplog.text
    assert 0 < hub.hub.redis.ttl("cxhub:cxhub:poll:feed:due") <= 60  # Retry-After shorter than every: every


def test_a_plugin_bug_in_a_scheduled_poll_is_logged_not_raised(make_feed_hub, caplog):
    hub = make_feed_hub()
    Feed.failure = ZeroDivisionError("oops")
    assert poll_due_sources(hub.hub) == ["feed"]
    assert "the plugin raised" in caplog.text


def test_the_workers_poll_on_schedule(make_feed_hub, httpserver):
    hub = make_feed_hub()
    Feed.items = [1, 2]
    hub.start_workers(threads=1)
    wait_for(lambda: deliveries_made(httpserver) == 2, what="two polled items delivered")
    assert hub.store.cursors.read("feed") == "2"


def test_poll_results_are_counted_for_the_metrics(make_feed_hub):
    from prometheus_client import REGISTRY

    def count(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, {"source": "feed", **labels}) or 0.0

    hub = make_feed_hub()
    before = (count("cxhub_polls_total", result="ok"), count("cxhub_polls_total", result="failed"),
              count("cxhub_polled_events_total", outcome="accepted"))
    Feed.items = [1, 2]
    assert poll_due_sources(hub.hub) == ["feed"]
    hub.hub.redis.delete("cxhub:cxhub:poll:feed:due")
    Feed.failure = RetryLater("busy", status_code=503, after=5)
    assert poll_due_sources(hub.hub) == ["feed"]
    after = (count("cxhub_polls_total", result="ok"), count("cxhub_polls_total", result="failed"),
             count("cxhub_polled_events_total", outcome="accepted"))
    assert [b - a for a, b in zip(before, after)] == [1, 1, 2]
