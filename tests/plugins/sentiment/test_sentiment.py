"""The sentiment annotator: VADER offline, bounded text, and "negative message → alert" end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import orjson
import pytest
import requests
from werkzeug import Response

import plugins.intercom as intercom
import plugins.sentiment as sentiment
import plugins.webhook as webhook
from hub.plugin import verify_standard_webhook
from hub.testing import assert_valid_event, hmac_signature
from plugins.sentiment import analysis
from tests.conftest import WHSEC, fixture_bytes

IC_SECRET = "3f5a8c1e9b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a"  # shaped like an Intercom app's client secret
ENV = {"IC_SECRET": IC_SECRET, "OUT_SECRET": WHSEC}
CONFIG = """
hub:
  accept_into: %s
  annotators: [sentiment]
sources:
  intercom:
    plugin: intercom
    settings: {secret: {$env: IC_SECRET}}
connections:
  alerts:
    plugin: webhook
    settings: {url: "%s", secret: {$env: OUT_SECRET}}
routes:
  - name: unhappy-customers
    when: {field: data.sentiment.label, equals: negative}
    actions:
      - {connection: alerts, action: forward}
"""
COMPLAINT = "<p>The app crashed again and I lost all my work.</p><p>This is terrible and your support is useless.</p>"


def intercom_notification(name: str, body: str | None = None) -> bytes:
    """A captured Intercom notification as Intercom would send it now (its signed `created_at` is checked
    against a replay window); with `body`, its message's HTML replaced (the rest as captured)."""
    payload = {**orjson.loads(fixture_bytes(f"intercom/{name}")), "created_at": int(time.time())}
    if body is not None:
        payload["data"]["item"]["source"]["body"] = body
    return orjson.dumps(payload)


def post_intercom(base_url: str, body: bytes) -> requests.Response:
    signature = "sha1=" + hmac_signature(IC_SECRET, body, encoding="hex", algorithm="sha1")
    return requests.post(f"{base_url}/hooks/intercom", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "X-Hub-Signature": signature})


@pytest.mark.parametrize("accept_into", ["database", "redis"])
def test_a_negative_message_without_a_score_is_routed_by_its_sentiment(make_hub, httpserver, accept_into):
    received: list[dict] = []

    def alert(request):
        verify_standard_webhook(WHSEC, request.get_data(), dict(request.headers))  # signed as the forward action signs
        received.append(orjson.loads(request.get_data()))
        return Response("", 204)

    httpserver.expect_request("/alerts", method="POST",
                              headers={"Content-Type": "application/cloudevents+json"}).respond_with_handler(alert)
    hub = make_hub(CONFIG % (accept_into, httpserver.url_for("/alerts")), plugins=[intercom, webhook, sentiment],
                   env=ENV)
    base_url = hub.serve()
    unhappy = post_intercom(base_url, intercom_notification("conversation_user_created_v2.json", COMPLAINT))
    content = post_intercom(base_url, intercom_notification("zulip_conversation_user_replied.json"))
    assert (unhappy.status_code, content.status_code) == (202, 202)
    hub.drain()

    [forwarded] = received  # only the complaint reached the stand-in destination
    [complaint_id] = unhappy.json()["accepted"]
    assert forwarded["id"] == complaint_id and forwarded["data"]["score"] is None
    assert forwarded["data"]["sentiment"]["label"] == "negative" and forwarded["data"]["sentiment"]["score"] < -0.05
    assert forwarded["data"]["sentiment"]["method"] == "vader"
    [other_id] = content.json()["accepted"]
    stored = orjson.loads(hub.store.reads.event(other_id).body)
    assert_valid_event(stored)
    assert stored["data"]["sentiment"]["label"] == "positive"  # "I need some help": annotated, not routed
    assert [row.event_id for row in hub.store.reads.deliveries()] == [complaint_id]


def test_without_the_annotator_in_the_config_there_is_no_sentiment(make_hub, httpserver):
    hub = make_hub((CONFIG % ("database", httpserver.url_for("/alerts"))).replace("  annotators: [sentiment]\n", ""),
                   plugins=[intercom, webhook, sentiment], env=ENV)
    response = post_intercom(hub.serve(), intercom_notification("conversation_user_created_v2.json", COMPLAINT))
    [event_id] = response.json()["accepted"]
    assert "sentiment" not in orjson.loads(hub.store.reads.event(event_id).body)["data"]
    assert hub.store.reads.deliveries() == [] and httpserver.log == []


def test_labels_follow_vaders_thresholds():
    assert analysis.annotate({"data": {"text": "Great service, thank you!"}}) == {
        "sentiment": {"score": 0.784, "label": "positive", "method": "vader"}}
    assert analysis.annotate({"data": {"text": "It arrived on Tuesday."}})["sentiment"]["label"] == "neutral"
    assert analysis.annotate({"data": {"text": "Awful. I want a refund."}})["sentiment"]["label"] == "negative"
    assert analysis.label(-0.05) == "negative" and analysis.label(0.0499) == "neutral" and analysis.label(0.05) == "positive"


@pytest.mark.parametrize("data", [{"text": None}, {"text": ""}, {"text": "  \n "}, {},
                                  {"text": "Awful.", "sentiment": {"score": 0.5, "label": "positive", "method": "x"}}])
def test_no_text_or_a_sentiment_already_there_adds_nothing(data):
    assert analysis.annotate({"data": data}) is None


def test_only_the_start_of_a_long_text_is_read():
    opening = "Terrible, the worst support I have had. " * 30  # 1,200 characters
    huge = opening + "Wonderful! " * 100_000  # about 1 MB
    assert analysis.annotate({"data": {"text": huge}}) == analysis.annotate({"data": {"text": opening}})
    assert analysis.annotate({"data": {"text": huge}})["sentiment"]["label"] == "negative"
    pieces = analysis.sentences("word " * 5000 + "x" * 5000)
    assert sum(map(len, pieces)) <= analysis.MAX_TEXT and max(map(len, pieces)) <= analysis.MAX_SENTENCE
    assert len(analysis.sentences("bad. " * 300_000)) == analysis.MAX_TEXT // 5  # 1.5 MB: 200 short sentences read
    assert analysis.sentences("x" * 1_000_000) == ["x" * analysis.MAX_SENTENCE] * (analysis.MAX_TEXT // analysis.MAX_SENTENCE) \
        + ["x" * (analysis.MAX_TEXT % analysis.MAX_SENTENCE)]  # one word without an end: cut into pieces


OFFLINE_PROBE = r"""
import json, sys
from plugins.sentiment import analysis  # the core it imports is not under test; VADER is imported on first use
assert "vaderSentiment" not in sys.modules
seen = {"opened": [], "network": []}
def watch(event, args):
    if event == "open" and isinstance(args[0], str) and "vader" in args[0].lower():
        seen["opened"].append(args[0])
    elif event.startswith(("socket.", "urllib.", "http.")):
        seen["network"].append(event)
sys.addaudithook(watch)
found = analysis.annotate({"data": {"text": "This is terrible."}})
import vaderSentiment
print(json.dumps({**seen, "found": found, "package": vaderSentiment.__path__[0]}))
"""


def test_vader_reads_its_lexicon_from_the_installed_package_and_uses_no_network():
    """In a fresh interpreter: every file VADER opens, and every network call (audit events) the analysis makes."""
    result = subprocess.run([sys.executable, "-c", OFFLINE_PROBE], capture_output=True, text=True, timeout=60,
                            check=True)
    seen = json.loads(result.stdout)
    assert seen["found"]["sentiment"]["label"] == "negative"
    assert seen["network"] == []
    lexicons = [path for path in seen["opened"] if path.endswith((".txt",))]
    assert {path.rsplit("/", 1)[-1] for path in lexicons} == {"vader_lexicon.txt", "emoji_utf8_lexicon.txt"}
    assert all(path.startswith(seen["package"]) and "-packages" in path for path in lexicons)
