"""The request of every accepted webhook is kept once (`hub.keep_requests`), credentials removed, and named
by each of its events, under either `hub.accept_into`; retention deletes it with the last of its events."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import func, select, update

from hub.ingest.consumer import take_in_entries
from plugins.salesforce import soap
from hub.store import KeptRequest, NewDelivery, now
from hub.store.tables import deliveries, events, requests
from tests.plugins.salesforce.conftest import CASE_ORG, CASES, HOOK, SESSION_MARK, SOAP_TYPE, salesforce_hub, source_config

WITH_SESSION = CASES.replace(b'<SessionId xsi:nil="true"/>',
                             b"<SessionId>00D70000000IVNp!AR" + SESSION_MARK + b"</SessionId>")
BEARER = "Bearer sk_live_not_kept_0123456789"


def post(hub, body: bytes = WITH_SESSION):
    """The captured Outbound Message's headers, plus an Authorization header a proxy might add."""
    return hub.post(HOOK, body, {"User-Agent": "Jakarta Commons-HttpClient/3.1", "Authorization": BEARER},
                    content_type=SOAP_TYPE)


def count(hub, table) -> int:
    with hub.store.database.engine.connect() as db:
        return db.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize("accept_into", ["database", "redis"])
def test_a_batch_request_is_kept_once_without_its_credentials_and_named_by_each_event(make_hub, accept_into):
    hub = salesforce_hub(make_hub, source_config(CASE_ORG, head=f"hub: {{accept_into: {accept_into}}}\n"))
    assert post(hub).status_code == 200
    hub.drain()
    rows = hub.store.reads.events()
    assert len(rows) == 2 and rows[0].request_id is not None
    assert {row.request_id for row in rows} == {rows[0].request_id}  # two events, one request
    kept = hub.store.reads.request(rows[0].request_id)
    assert (kept.source, kept.method, kept.path, kept.content_type) == ("salesforce", "POST", "/hooks/salesforce",
                                                                        "text/xml")  # the media type
    assert SESSION_MARK not in kept.body and b"SessionId" in kept.body
    assert kept.body == soap.body_to_keep(WITH_SESSION) != WITH_SESSION  # SourceInfo.body_to_keep applied
    headers, query = orjson.loads(kept.headers), orjson.loads(kept.query)
    assert headers["user-agent"] == "Jakarta Commons-HttpClient/3.1" and "authorization" not in headers
    assert query == {}  # the source token was in the query
    assert orjson.loads(kept.removed) == {"headers": ["authorization"], "query": ["token"]}
    assert BEARER.encode() not in kept.headers.encode() + kept.query.encode() + kept.body
    assert sorted(hub.store.reads.events_of_request(kept.id)) == sorted(row.id for row in rows)

    assert post(hub).status_code == 200  # a resend: its events are duplicates, and so is its request
    hub.drain()
    assert count(hub, requests) == 1 and count(hub, events) == 2


def test_an_intake_entry_taken_in_twice_keeps_its_request_once(make_hub):
    hub = salesforce_hub(make_hub, source_config(CASE_ORG, head="hub: {accept_into: redis}\n"))
    hub.hub.intake.create_group()
    post(hub)
    entries = hub.hub.intake.read("tester", block_ms=None)
    assert len(entries) == 1
    take_in_entries(hub.hub, entries)
    take_in_entries(hub.hub, entries)  # a consumer that died before acknowledging: another takes it in again
    assert count(hub, requests) == 1 and count(hub, events) == 2


def test_keep_requests_off_keeps_none(make_hub):
    hub = salesforce_hub(make_hub, source_config(CASE_ORG, head="hub: {keep_requests: false}\n"))
    assert post(hub).status_code == 200
    assert [row.request_id for row in hub.store.reads.events()] == [None, None]
    assert count(hub, requests) == 0


def test_a_request_goes_with_the_last_of_its_events(make_hub):
    hub = make_hub("sources: {}\n")
    store = hub.store
    kept = KeptRequest(id="rq-1", source="app", method="POST", path="/hooks/app", content_type="application/json",
                       headers={"user-agent": "t"}, query={}, body=b'{"a": 1}')
    batch = [event_of("ev-a"), event_of("ev-b")]
    waiting = NewDelivery(id="dl-b", event_id="ev-b", route="r", connection="c", action="forward", params={})
    store.ingest.record(batch, [waiting], kept={"ev-a": kept, "ev-b": kept})
    with store.database.engine.begin() as db:
        # Old, and attached to no profile (no identifier): retention keeps events the resolver has not seen.
        db.execute(update(events).values(received_at=now() - timedelta(days=40), profile_state="anonymous"))
    assert store.retention.prune(now() - timedelta(days=30))["events"] == 1  # ev-b's delivery is still queued
    assert store.reads.request("rq-1") is not None  # ev-b still names it
    with store.database.engine.begin() as db:
        db.execute(update(deliveries).values(status="succeeded"))
    counts = store.retention.prune(now() - timedelta(days=30))
    assert (counts["events"], counts["requests"]) == (1, 1)
    assert store.reads.request("rq-1") is None and count(hub, requests) == 0


def event_of(event_id: str) -> dict:
    return {"id": event_id, "source": "cxhub://test/app", "type": "cx.review.created", "subject": event_id,
            "time": "2026-11-30T12:00:00Z",
            "data": {"vendor_event_id": event_id, "customer": {"email": None, "id": None}}}
