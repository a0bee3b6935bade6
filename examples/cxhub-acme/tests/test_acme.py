"""Tests for the acme plugin, on cxhub's test kit (real Redis, real database, local HTTP stand-ins)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import cxhub_acme as plugin
from hub.testing import assert_valid_event, hmac_signature

SECRET = "test-secret"
SAMPLE = (Path(__file__).parent / "fixtures" / "acme_review.json").read_bytes()
TOKEN = "test-token"
SOURCE = """
sources:
  acme:
    plugin: acme
    settings: {secret: {$env: SECRET}}
"""
ROUTE = """
connections:
  notes:
    plugin: acme
    settings: {base_url: "%s", token: {$env: TOKEN}}
    retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
routes:
  - name: unhappy
    when: {field: data.score.band, equals: negative}
    actions:
      - connection: notes
        action: add_note
        params: {body: "{{ data.customer.email }}: {{ data.text }}"}
"""


def post(hub, body: bytes, secret: str = SECRET):
    return hub.post("acme", body, {"X-Acme-Signature": hmac_signature(secret, body)})


@pytest.fixture
def hub(make_hub):
    return make_hub(SOURCE, plugins=[plugin], env={"SECRET": SECRET})


def test_sample_becomes_a_canonical_event(hub):
    response = post(hub, SAMPLE)
    assert response.status_code == 202
    [event_id] = response.json["accepted"]
    event = orjson.loads(hub.store.reads.event(event_id).body)
    assert_valid_event(event)
    assert event["type"] == "cx.review.created"
    assert event["data"]["score"] == {"type": "rating", "value": 2, "min": 1, "max": 5, "band": "negative"}
    assert event["data"]["link"]["id"] == "9007199254740993"


def test_bad_signature_is_refused(hub):
    response = post(hub, SAMPLE, secret="wrong")
    assert response.status_code == 401
    assert hub.store.reads.events() == []


def test_unknown_payload_is_quarantined(hub):
    response = post(hub, b'{"type": "review.deleted"}')
    assert response.status_code == 422
    assert len(hub.store.quarantine.requests()) == 1


@pytest.fixture
def action_hub(make_hub, httpserver):
    return make_hub(SOURCE + ROUTE % httpserver.url_for("/"), plugins=[plugin],
                    env={"SECRET": SECRET, "TOKEN": TOKEN})


def test_negative_review_adds_one_note(action_hub, httpserver):
    httpserver.expect_request("/v1/notes", method="POST", headers={"Authorization": f"Bearer {TOKEN}"},
                              json={"body": "ann@example.com: Delivery took three weeks."}) \
        .respond_with_json({"id": 501}, status=201)
    post(action_hub, SAMPLE)
    action_hub.drain()
    [delivery] = action_hub.store.reads.deliveries()
    assert delivery.status == "succeeded"
    [(request, _)] = httpserver.log
    assert request.headers["Idempotency-Key"] == delivery.id


def test_server_errors_are_retried_then_dead_lettered(action_hub, httpserver):
    httpserver.expect_request("/v1/notes").respond_with_data("unavailable", status=503)
    post(action_hub, SAMPLE)
    action_hub.drain()
    [delivery] = action_hub.store.reads.deliveries()
    assert (delivery.status, delivery.attempts) == ("dead", 2)
