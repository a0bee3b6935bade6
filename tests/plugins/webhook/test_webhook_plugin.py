"""The generic webhook plugin: the mapped JSON source, and the signed `forward` action."""

from __future__ import annotations

import orjson
import pytest
from standardwebhooks import Webhook

import plugins.webhook as webhook
from hub.testing import assert_valid_event
from tests.conftest import OTHER_WHSEC, WHSEC, detractor, forward_everything, send



@pytest.fixture
def hub(make_hub, httpserver):
    return make_hub(forward_everything(httpserver.url_for("/receiver"), secret_env="OUT_SECRET"), plugins=[webhook],
                    env={"APP_SECRET": WHSEC, "OUT_SECRET": OTHER_WHSEC})


def test_mapping_builds_the_canonical_event(hub):
    response = send(hub, detractor(response_id=18446744073709551615))
    [event_id] = response.json["accepted"]
    event = orjson.loads(hub.store.reads.event(event_id).body)
    assert_valid_event(event)
    assert event["data"]["customer"] == {"id": None, "email": "ann@example.com", "name": "Ann Lee"}
    assert event["data"]["link"] == {"system": "webhook", "id": "18446744073709551615",
                                     "url": "https://surveys.example.com/r/18446744073709551615", "type": None}
    assert event["data"]["vendor_event_id"] == "msg_1"
    assert event["subject"] == "18446744073709551615"


def test_forward_posts_the_event_signed_per_standard_webhooks(hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("", status=204)
    [event_id] = send(hub, detractor()).json["accepted"]
    hub.drain()
    [(request, _)] = httpserver.log
    [delivery] = hub.store.reads.deliveries()
    forwarded = Webhook(OTHER_WHSEC).verify(request.get_data(), dict(request.headers))  # raises if unsigned
    assert forwarded == orjson.loads(hub.store.reads.event(event_id).body)
    assert request.headers["webhook-id"] == delivery.id  # the idempotency key, stable across retries
    assert request.headers["Content-Type"] == "application/cloudevents+json"
    assert delivery.status == "succeeded"


def test_retried_forward_keeps_the_same_webhook_id(hub, httpserver):
    httpserver.expect_oneshot_request("/receiver").respond_with_data("", status=502)
    httpserver.expect_request("/receiver").respond_with_data("", status=200)
    send(hub, detractor())
    hub.drain()
    ids = {request.headers["webhook-id"] for request, _ in httpserver.log}
    assert len(httpserver.log) == 2 and len(ids) == 1


def test_whsec_secrets_are_checked_at_config_time(make_hub, httpserver):
    from hub.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        make_hub(forward_everything(httpserver.url_for("/r"), secret_env="OUT_SECRET"), plugins=[webhook], env={"APP_SECRET": WHSEC,
                                                                          "OUT_SECRET": "not base64 !!"})
    assert "connections.out.settings.secret" in str(caught.value)
    assert "not base64" not in str(caught.value)
