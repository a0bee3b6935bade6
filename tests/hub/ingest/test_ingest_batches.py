"""Batches with unreadable elements (`Parsed.rejected`): each is quarantined on its own, under an id its
content decides, and the rest of the batch is kept, under either `hub.accept_into`; a quarantined
element replays alone once the plugin reads it."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from hub.operations import replay_quarantined
from hub.plugin import EventDraft, Link, Parsed, PluginInfo, Rejection, SourceInfo, hookimpl

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


class Batch:
    """Reads `{"items": [{"id": ...}]}`; an item without an id is unreadable, unless `lenient`."""

    lenient = False

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="batch", version="1.0", source=SourceInfo())

    @staticmethod
    @hookimpl
    def cxhub_verify_request(source, request) -> None:
        """(No signature: the batch is under test.)"""

    @staticmethod
    @hookimpl
    def cxhub_parse_request(source, request) -> Parsed:
        events, rejected = [], []
        for position, element in enumerate(request.json()["items"]):
            key = element.get("id") or (element.get("name") if Batch.lenient else None)
            if key is None:
                rejected.append(Rejection(json.dumps({"items": [element]}).encode(), f"items[{position}] has no id"))
                continue
            events.append(EventDraft(type="cx.review.created", vendor_event_id=str(key), time=NOW,
                                     link=Link(system="batch", id=str(key))))
        return Parsed(events, rejected=rejected)


@pytest.fixture(autouse=True)
def strict():
    Batch.lenient = False


@pytest.mark.parametrize("accept_into", ["database", "redis"])
def test_the_readable_elements_are_kept_and_each_unreadable_one_quarantined_once(make_hub, accept_into):
    hub = make_hub(f"hub: {{accept_into: {accept_into}}}\nsources:\n  batch: {{plugin: batch}}\n", plugins=[Batch])
    body = {"items": [{"id": "a"}, {"name": "no id"}, {"id": "b"}, {"name": "also none"}]}
    first = hub.post("batch", body)
    assert first.status_code == 202 and len(first.json["accepted"]) == 2
    assert len(first.json["quarantined"]) == 2
    again = hub.post("batch", body)
    assert again.json["quarantined"] == first.json["quarantined"]
    hub.drain()
    assert len(hub.store.reads.events()) == 2
    entries = hub.store.quarantine.requests()
    assert sorted(json.loads(entry.body)["items"][0]["name"] for entry in entries) == ["also none", "no id"]
    assert sorted(entry.error for entry in entries) == ["batch element: items[1] has no id",
                                                            "batch element: items[3] has no id"]


def test_a_batch_of_nothing_readable_answers_422_with_every_quarantine_id(make_hub):
    hub = make_hub("sources:\n  batch: {plugin: batch}\n", plugins=[Batch])
    refused = hub.post("batch", {"items": [{"name": "x"}, {"name": "y"}]})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "unrecognized_payload"
    assert len(refused.json["error"]["quarantined"]) == 2 and hub.store.reads.events() == []


def test_a_quarantined_element_replays_alone_once_the_plugin_reads_it(make_hub):
    hub = make_hub("sources:\n  batch: {plugin: batch}\n", plugins=[Batch])
    [kept] = hub.post("batch", {"items": [{"id": "a"}, {"name": "late"}]}).json["quarantined"]
    with pytest.raises(Exception, match="has no id"):
        replay_quarantined(hub.hub, kept)
    Batch.lenient = True
    replayed = replay_quarantined(hub.hub, kept)
    assert len(replayed.accepted) == 1
    assert sorted(event.subject for event in hub.store.reads.events()) == ["a", "late"]
