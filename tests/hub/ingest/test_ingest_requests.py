"""POST /hooks/<source>: accepted requests, resends, and every way a request is refused."""

from __future__ import annotations

import io
import time

import orjson
import pytest
import plugins.webhook as webhook
from hub.backends import open_redis
from hub.delivery.queue import DeliveryQueue
from hub.store.engine import make_engine
from hub.testing import sign_standard_webhook
from tests.conftest import OTHER_WHSEC, WHSEC

CONFIG = """
hub: {max_body_bytes: 2048}
sources:
  app:
    plugin: webhook
    settings:
      secret: {$env: APP_SECRET}
      mapping: {object_id: response.id, score: response.score, text: response.comment,
                customer_email: customer.email}
      score_scale: {type: nps, min: 0, max: 10}
connections:
  out:
    plugin: webhook
    settings: {url: "http://127.0.0.1:9/unused", secret: {$env: APP_SECRET}}
    circuit_breaker: {failure_threshold: 0}
routes:
  - name: detractors
    when: {field: data.score.band, equals: negative}
    actions:
      - {connection: out, action: forward}
"""

PAYLOAD = {"response": {"id": 9007199254740993, "score": 3, "comment": "Too slow"},
           "customer": {"email": "ann@example.com"}}


@pytest.fixture
def hub(make_hub):
    return make_hub(CONFIG, plugins=[webhook], env={"APP_SECRET": WHSEC})


def signed(body: bytes, msg_id: str = "msg_1", secret: str = WHSEC, timestamp: float | None = None) -> dict:
    return sign_standard_webhook(secret, msg_id, body, timestamp)


def counts(hub) -> tuple[int, int, int, int]:
    store = hub.store
    return (len(store.reads.events()), len(store.reads.deliveries()), len(store.quarantine.requests()),
            hub.hub.queue.count())


def test_signed_event_is_stored_routed_and_queued(hub):
    body = orjson.dumps(PAYLOAD)
    response = hub.post("app", body, signed(body))
    assert response.status_code == 202
    [event_id] = response.json["accepted"]
    stored = orjson.loads(hub.store.reads.event(event_id).body)
    assert stored["data"]["link"]["id"] == "9007199254740993"  # above 2**53, every digit kept
    assert stored["data"]["score"] == {"type": "nps", "value": 3, "min": 0, "max": 10, "band": "negative"}
    [delivery] = hub.store.reads.deliveries()
    assert (delivery.event_id, delivery.status, delivery.connection) == (event_id, "queued", "out")
    assert hub.hub.queue.count() == 1


def test_resent_event_gets_2xx_and_is_not_routed_again(hub):
    body = orjson.dumps(PAYLOAD)
    first = hub.post("app", body, signed(body))
    hub.drain()
    again = hub.post("app", body, signed(body))
    assert again.status_code == 200
    assert again.json == {"accepted": [], "duplicates": first.json["accepted"]}
    assert counts(hub)[:2] == (1, 1)
    assert hub.hub.queue.count() == 0


def test_event_matching_no_route_is_stored_without_deliveries(hub):
    body = orjson.dumps({**PAYLOAD, "response": {"id": 7, "score": 10}})
    assert hub.post("app", body, signed(body)).status_code == 202
    assert counts(hub) == (1, 0, 0, 0)


@pytest.mark.parametrize("body, content_type, status, code", [
    (b'{"response": {"id": 1', "application/json", 400, "malformed_body"),
    (b"", "application/json", 400, "malformed_body"),
    (b"\xff\xfe{}", "application/json", 400, "malformed_body"),
    (b"response=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"[1, 2]", "application/json", 422, "unrecognized_payload"),
    (b'{"response": {"score": 3}}', "application/json", 422, "unrecognized_payload"),
    (b'{"response": {"id": 1, "score": 11}}', "application/json", 422, "unrecognized_payload"),
])
def test_bad_body_is_refused_and_changes_nothing(hub, body, content_type, status, code):
    headers = signed(body) if body.isascii() else {**signed(b"{}"), "webhook-signature": "v1,AAAA"}
    response = hub.post("app", body, headers, content_type=content_type)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    quarantined = 1 if status == 422 else 0
    assert counts(hub) == (0, 0, quarantined, 0)


@pytest.mark.parametrize("headers, reason", [
    (lambda body: {}, "Missing required headers"),
    (lambda body: signed(body, secret=OTHER_WHSEC), "No matching signature"),
    (lambda body: {**signed(body), "webhook-signature": "v1,AAAA"}, "No matching signature"),
    (lambda body: {**signed(body), "webhook-signature": "garbage"}, "Malformed"),
    (lambda body: signed(body, timestamp=time.time() - 3600), "too old"),
    (lambda body: signed(body, timestamp=time.time() + 3600), "too new"),
    (lambda body: signed(body + b" "), "No matching signature"),
])
def test_bad_signature_is_refused_with_401(hub, headers, reason):
    body = orjson.dumps(PAYLOAD)
    response = hub.post("app", body, headers(body))
    assert response.status_code == 401
    assert reason in response.json["error"]["message"]
    assert WHSEC not in response.get_data(as_text=True)
    assert counts(hub) == (0, 0, 0, 0)


def test_unknown_source_is_404(hub):
    response = hub.post("nope", b"{}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_source"


def test_oversized_body_is_413(hub):
    body = orjson.dumps({**PAYLOAD, "pad": "x" * 4096})
    response = hub.post("app", body, signed(body))
    assert response.status_code == 413
    assert "2048-byte limit" in response.json["error"]["message"]
    assert counts(hub) == (0, 0, 0, 0)


class CountingStream:
    """A request body of `size` bytes (endless if None) that counts what the hub reads of it."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size
        self.bytes_read = 0

    def read(self, wanted: int = -1) -> bytes:
        left = (self.size - self.bytes_read) if self.size is not None else 1 << 30
        count = min(left, wanted if wanted >= 0 else left, 1 << 20)
        self.bytes_read += count
        return b"x" * count



def post_stream(hub, stream: CountingStream, environ: dict) -> object:
    return hub.client.post("/hooks/app", headers=signed(b"{}"), content_type="application/json",
                           environ_overrides={"wsgi.input": stream, **environ})


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(hub):
    stream = CountingStream(200 * 1024 * 1024)
    response = post_stream(hub, stream, {"CONTENT_LENGTH": str(200 * 1024 * 1024)})
    assert response.status_code == 413 and response.json["error"]["code"] == "body_too_large"
    assert stream.bytes_read == 0
    assert counts(hub) == (0, 0, 0, 0)


def test_a_body_without_a_length_is_read_no_further_than_one_byte_past_the_limit(hub):
    stream = CountingStream(None)  # chunked, or a server that does not know the length: it never ends
    response = post_stream(hub, stream, {"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert response.status_code == 413 and "2048-byte limit" in response.json["error"]["message"]
    assert stream.bytes_read == 2049
    assert counts(hub) == (0, 0, 0, 0)


def test_a_body_that_ends_before_its_declared_length_is_refused(hub):
    stream = CountingStream(100)  # the connection was cut after 100 of the 500 declared bytes
    response = post_stream(hub, stream, {"CONTENT_LENGTH": "500"})
    assert response.status_code == 400 and response.json["error"] == {
        "code": "incomplete_body", "message": "the body ended before the 500 bytes its Content-Length declared"}
    assert counts(hub) == (0, 0, 0, 0)


def test_a_body_without_a_length_within_the_limit_is_taken(hub):
    body = orjson.dumps(PAYLOAD)
    response = hub.client.post("/hooks/app", input_stream=io.BytesIO(body), headers=signed(body),
                               content_type="application/json",
                               environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert response.status_code == 202
    assert counts(hub)[:2] == (1, 1)


def test_unreachable_database_is_503_and_nothing_is_accepted(hub):
    working = hub.store.database.engine
    hub.store.database.engine = make_engine("postgresql://cxhub@127.0.0.1:1/none")  # nothing listens on port 1
    body = orjson.dumps(PAYLOAD)
    try:
        response = hub.post("app", body, signed(body))
    finally:
        hub.store.database.engine.dispose()
        hub.store.database.engine = working
    assert response.status_code == 503
    assert "send the request again" in response.json["error"]["message"]
    assert counts(hub) == (0, 0, 0, 0)


def test_unreachable_queue_is_503_and_the_resend_delivers(hub, tmp_path):
    """The event is kept but the 503 makes the vendor resend; the resend queues what was waiting."""
    working = hub.hub.queue
    hub.hub.queue = DeliveryQueue(open_redis("redis://127.0.0.1:1/0"), working.name, ["out"])
    body = orjson.dumps(PAYLOAD)
    try:
        refused = hub.post("app", body, signed(body))
    finally:
        hub.hub.queue = working
    assert refused.status_code == 503
    assert hub.hub.queue.count() == 0
    resent = hub.post("app", body, signed(body))
    assert resent.status_code == 200
    assert hub.hub.queue.count() == 1
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "queued"


def test_a_source_over_its_rate_gets_429_with_retry_after(make_hub):
    limited = make_hub(CONFIG.replace("    plugin: webhook\n    settings:\n      secret: {$env: APP_SECRET}\n      mapping",
                                      "    plugin: webhook\n    rate_limit: 2/minute\n    settings:\n"
                                      "      secret: {$env: APP_SECRET}\n      mapping", 1),
                       plugins=[webhook], env={"APP_SECRET": WHSEC})
    answers = []
    for number in range(3):
        body = orjson.dumps({**PAYLOAD, "response": {"id": number, "score": 3}})
        answers.append(limited.post("app", body, signed(body, msg_id=f"msg_{number}")))
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert answers[2].json["error"]["code"] == "rate_limited"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert len(limited.store.reads.events()) == 2


def test_a_malformed_rate_is_a_config_error(make_hub):
    from hub.config import ConfigError

    with pytest.raises(ConfigError, match=r"sources.app.rate_limit: 'lots' is not a rate"):
        make_hub(CONFIG.replace("    plugin: webhook\n", "    plugin: webhook\n    rate_limit: lots\n", 1),
                 plugins=[webhook], env={"APP_SECRET": WHSEC})
