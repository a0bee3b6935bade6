"""One test per hook (test_hook_<name>), through a running hub, with a demo plugin that exercises
the shapes later vendors need: batches, form and XML bodies, handshakes and acknowledgements."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Mapping

import orjson
import pytest

import plugins.jira as jira
import plugins.slack as slack
import plugins.typeform as typeform
import plugins.webhook as webhook
from hub.plugin import (
    ActionInfo,
    ActionResult,
    ConnectionInfo,
    Customer,
    EventDraft,
    InvalidSignature,
    Link,
    Parsed,
    PluginInfo,
    Reply,
    RetryLater,
    Score,
    SettingsSchema,
    SourceInfo,
    hookimpl,
)
from hub.plugin.settings import fields
from hub.pluginhost import PluginHost, build_plugin_manager

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
SOAP_ACK = b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' \
           b'<notificationsResponse><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>'


def draft(item_id: str, rating: int = 2, text: str | None = None) -> EventDraft:
    return EventDraft(type="cx.review.created", vendor_event_id=item_id, time=NOW,
                      link=Link(system="demo", id=item_id), customer=Customer(email=f"{item_id}@example.com"),
                      score=Score("rating", rating, 1, 5), text=text)


class NoteParams(SettingsSchema):
    body = fields.String(required=True)


class Demo:
    """A source and a connection showing every shape of request the plugin API supports."""

    calls: list[tuple[str, Any]] = []

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="demo", version="1.0", source=SourceInfo(),
                          connection=ConnectionInfo(url_setting=None), actions={"note": ActionInfo(NoteParams)})

    @staticmethod
    @hookimpl
    def cxhub_verify_request(source, request) -> None:
        if request.header("X-Demo-Token") != "let-me-in":
            raise InvalidSignature("the X-Demo-Token header is missing or wrong")

    @staticmethod
    @hookimpl
    def cxhub_parse_request(source, request) -> Parsed | list[EventDraft]:
        if request.content_type == "application/x-www-form-urlencoded":  # a slash command
            form = request.form()
            return [draft(form["id"][0], text=form["text"][0])]
        if request.content_type in ("text/xml", "application/xml"):  # a SOAP notification batch
            ids = [node.text for node in request.xml().iter("Id")]
            return Parsed([draft(item_id) for item_id in ids], Reply(200, SOAP_ACK, "text/xml; charset=utf-8"))
        payload = request.json()
        if payload.get("type") == "url_verification":  # a handshake: echo the challenge, no events
            return Parsed([], Reply(200, orjson.dumps({"challenge": payload["challenge"]}), "application/json"))
        return [draft(str(item["id"]), item["rating"], item.get("text")) for item in payload["items"]]  # a batch

    @staticmethod
    @hookimpl
    def cxhub_run_action(connection, action, params, event, delivery) -> ActionResult:
        Demo.calls.append(("run", (connection.name, action, dict(params), event["id"], delivery)))
        if Demo.outage:
            raise RetryLater(Demo.outage)
        return ActionResult(external_id=f"note-{event['data']['link']['id']}")

    @staticmethod
    @hookimpl
    def cxhub_event_accepted(event: Mapping[str, Any]) -> None:
        Demo.calls.append(("accepted", event["id"]))

    @staticmethod
    @hookimpl
    def cxhub_delivery_succeeded(delivery: Mapping[str, Any], result: ActionResult | None) -> None:
        Demo.calls.append(("succeeded", (delivery["id"], result.external_id)))
        Demo.calls.append(("succeeded_row", dict(delivery)))

    @staticmethod
    @hookimpl
    def cxhub_delivery_dead_lettered(delivery: Mapping[str, Any], error: str) -> None:
        Demo.calls.append(("dead", (delivery["id"], error)))

    @staticmethod
    @hookimpl
    def cxhub_connection_paused(connection: str, until: datetime, error: str) -> None:
        Demo.calls.append(("paused", (connection, until, error)))

    @staticmethod
    @hookimpl
    def cxhub_connection_resumed(connection: str) -> None:
        Demo.calls.append(("resumed", connection))


CONFIG = """
sources:
  demo: {plugin: demo}
connections:
  notes: {plugin: demo}
routes:
  - name: low-ratings
    when: {field: data.score.band, equals: negative}
    actions:
      - connection: notes
        action: note
        params: {body: "{{ data.customer.email }}: {{ data.text or 'no comment' }}"}
"""
TOKEN = {"X-Demo-Token": "let-me-in"}


@pytest.fixture
def hub(make_hub):
    Demo.calls, Demo.outage = [], None
    return make_hub(CONFIG, plugins=[Demo])


def calls(kind: str) -> list[Any]:
    return [value for name, value in Demo.calls if name == kind]


def test_hook_cxhub_plugin_info():
    host = PluginHost(build_plugin_manager([typeform, webhook, jira, slack, Demo], discover=False))
    assert host.sources() == ["demo", "jira", "slack", "typeform", "webhook"]
    assert host.connections() == ["demo", "jira", "slack", "webhook"]
    assert set(host.get("jira").info.actions) == {"create_issue", "add_comment", "assign_issue", "transition_issue"}


def test_hook_cxhub_verify_request(hub):
    refused = hub.post("demo", {"items": []}, {"X-Demo-Token": "nope"})
    assert refused.status_code == 401
    assert refused.json["error"]["message"] == "the X-Demo-Token header is missing or wrong"
    assert hub.post("demo", {"items": []}, TOKEN).status_code == 200


def test_hook_cxhub_parse_request(hub):
    batch = hub.post("demo", {"items": [{"id": 9007199254740993, "rating": 1}, {"id": 2, "rating": 5}]}, TOKEN)
    assert batch.status_code == 202 and len(batch.json["accepted"]) == 2
    linked = {orjson.loads(hub.store.reads.event(i).body)["data"]["link"]["id"] for i in batch.json["accepted"]}
    assert linked == {"9007199254740993", "2"}

    handshake = hub.post("demo", {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}, TOKEN)
    assert handshake.status_code == 200
    assert handshake.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}

    soap = b"<Envelope><Body><notifications><Notification><Id>04l5</Id></Notification>" \
           b"<Notification><Id>04l6</Id></Notification></notifications></Body></Envelope>"
    acked = hub.post("demo", soap, TOKEN, content_type="text/xml")
    assert (acked.status_code, acked.data, acked.content_type) == (200, SOAP_ACK, "text/xml; charset=utf-8")
    assert len(hub.store.reads.events()) == 4  # the acknowledgement came after the events were stored

    form = hub.post("demo", "id=cmd-1&text=still+broken", TOKEN, content_type="application/x-www-form-urlencoded")
    assert form.status_code == 202
    assert len(hub.store.reads.events()) == 5


def test_hook_cxhub_run_action(hub):
    [event_id] = hub.post("demo", {"items": [{"id": 7, "rating": 1, "text": "broken"}]}, TOKEN).json["accepted"]
    hub.drain()
    [(connection, action, params, seen_event, delivery)] = calls("run")
    assert (connection, action, params, seen_event) == ("notes", "note", {"body": "7@example.com: broken"}, event_id)
    assert delivery.attempt == 1 and delivery.idempotency_key == hub.store.reads.deliveries()[0].id
    assert '"external_id":"note-7"' in hub.store.reads.deliveries()[0].result


def test_hook_cxhub_event_accepted(hub):
    accepted = hub.post("demo", {"items": [{"id": 1, "rating": 5}]}, TOKEN).json["accepted"]
    hub.post("demo", {"items": [{"id": 1, "rating": 5}]}, TOKEN)  # a resend is not announced again
    assert calls("accepted") == accepted


def test_hook_cxhub_delivery_succeeded(hub):
    hub.post("demo", {"items": [{"id": 3, "rating": 1}]}, TOKEN)
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert calls("succeeded") == [(delivery.id, "note-3")]
    [row] = calls("succeeded_row")
    assert row["status"] == "succeeded" and "event_body" not in row  # the row, not what the worker read with it


def test_hook_cxhub_delivery_dead_lettered(make_hub):
    Demo.calls = []
    broken = make_hub(CONFIG.replace("{{ data.customer.email }}", "{{ data.no_such_field }}"), plugins=[Demo])
    broken.post("demo", {"items": [{"id": 4, "rating": 1}]}, TOKEN)
    broken.drain()
    [delivery] = broken.store.reads.deliveries()
    [(delivery_id, error)] = calls("dead")
    assert delivery_id == delivery.id and delivery.status == "dead"
    assert error.startswith("route 'low-ratings': params.body: UndefinedError")


BREAKING = CONFIG.replace("notes: {plugin: demo}", """notes:
    plugin: demo
    retry: {max_attempts: 10, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 2, pause_seconds: 2}""")


def test_hook_cxhub_connection_paused(make_hub):
    Demo.calls, Demo.outage = [], "the notes service answered 503"
    hub = make_hub(BREAKING, plugins=[Demo])
    hub.post("demo", {"items": [{"id": 5, "rating": 1}]}, TOKEN)
    before = datetime.now(timezone.utc)
    hub.drain()  # two failures trip the breaker; the queued retry then waits
    [(connection, until, error)] = calls("paused")
    assert (connection, error) == ("notes", "the notes service answered 503")
    assert 1.5 < (until - before).total_seconds() < 3
    [delivery] = hub.store.reads.deliveries()
    assert (delivery.status, delivery.attempts) == ("retrying", 2)
    assert hub.hub.queue.count() == 1  # held in the connection's queue, no attempt spent


def test_hook_cxhub_connection_resumed(make_hub):
    Demo.calls, Demo.outage = [], "the notes service answered 503"
    hub = make_hub(BREAKING, plugins=[Demo])
    hub.post("demo", {"items": [{"id": 6, "rating": 1}]}, TOKEN)
    hub.drain()
    Demo.outage = None
    time.sleep(2.1)
    hub.drain()  # the pause is over: one trial delivery, which succeeds
    assert calls("resumed") == ["notes"]
    [delivery] = hub.store.reads.deliveries()
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)


class Annotator:
    """An annotator whose answer each test chooses: a sentiment, a wrong value, or an exception."""

    answer: Any = None

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="tone", version="1.0")

    @staticmethod
    @hookimpl
    def cxhub_annotate_event(event: Mapping[str, Any]) -> dict[str, Any] | None:
        Demo.calls.append(("annotate", (event["id"], event["data"]["text"])))
        if isinstance(Annotator.answer, Exception):
            raise Annotator.answer
        return Annotator.answer


ANNOTATED = CONFIG.replace("sources:", "hub: {annotators: [tone]}\nsources:", 1).replace(
    "when: {field: data.score.band, equals: negative}", "when: {field: data.sentiment.label, equals: negative}")


@pytest.mark.parametrize("accept_into", ["database", "redis"])
def test_hook_cxhub_annotate_event(make_hub, caplog, accept_into):
    Demo.calls, Demo.outage = [], None
    hub = make_hub(ANNOTATED.replace("hub: {annotators: [tone]}", f"hub: {{annotators: [tone], accept_into: {accept_into}}}"),
                   plugins=[Demo, Annotator])
    Annotator.answer = {"sentiment": {"score": -0.7, "label": "negative", "method": "test"}}
    [annotated] = hub.post("demo", {"items": [{"id": 1, "rating": 5, "text": "awful"}]}, TOKEN).json["accepted"]
    hub.drain()
    assert ("annotate", (annotated, "awful")) in Demo.calls
    data = orjson.loads(hub.store.reads.event(annotated).body)["data"]
    assert data["sentiment"] == {"score": -0.7, "label": "negative", "method": "test"}
    assert [params["body"] for _, _, params, *_ in calls("run")] == ["1@example.com: awful"]  # routed on it

    # what the schema refuses, a key it does not list as an annotation, a non-dict, a failure: the event
    # is taken in (202), stored and routed without the annotation, and the log says why
    for number, answer in enumerate([{"sentiment": {"score": -3, "label": "negative", "method": "test"}},
                                     {"score": {"type": "nps"}}, ["negative"], RuntimeError("lexicon missing")], 2):
        Annotator.answer = answer
        response = hub.post("demo", {"items": [{"id": number, "rating": 1, "text": "meh"}]}, TOKEN)
        assert response.status_code == 202
        hub.drain()
        [event_id] = response.json["accepted"]
        stored = orjson.loads(hub.store.reads.event(event_id).body)["data"]
        assert "sentiment" not in stored and stored["score"]["value"] == 1  # nothing else changed either
    log = caplog.text
    assert "data.sentiment/score: -3 is less than the minimum of -1" in log
    assert "data.score: not an annotation (annotators may add: sentiment)" in log
    assert "annotator tone returned list, not a dict" in log and "annotator tone failed on event" in log
    assert len(calls("run")) == 1  # none of them matched data.sentiment.label


def test_annotators_must_be_installed_plugins_that_annotate():
    from hub.config import ConfigError
    from hub.config.loader import parse_config

    host = PluginHost(build_plugin_manager([Demo, Annotator], discover=False))

    def problems(annotators: str) -> list[str]:
        with pytest.raises(ConfigError) as raised:
            parse_config(ANNOTATED.replace("annotators: [tone]", f"annotators: {annotators}"), "cxhub.yaml", host, {})
        return [str(problem) for problem in raised.value.problems]

    assert problems("[tone, tone]") == ["cxhub.yaml:2: hub.annotators: an annotator is named twice"]
    assert problems("[demo, nope]") == [
        "cxhub.yaml:2: hub.annotators[0]: plugin 'demo' does not annotate events (annotators installed: tone)",
        "cxhub.yaml:2: hub.annotators[1]: no plugin 'nope' is installed (annotators installed: tone)"]
    assert parse_config(ANNOTATED, "cxhub.yaml", host, {}).hub.annotators == ("tone",)
