"""GET /metrics: counters that match what happened, shared state read at scrape time, bounded labels,
answers while Redis and the database are down."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import plugins.webhook as webhook
from hub.app import close_app, create_app
from hub.instruments import UNKNOWN
from hub.instruments.exposition import serve_metrics
from tests.conftest import WHSEC, detractor, forward_everything, send

TOKEN = "metrics-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, keyed by its name and labels."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def scrape(hub) -> dict:
    response = hub.client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return samples(response.get_data(as_text=True))


@pytest.fixture
def hub(make_hub, httpserver):
    test_hub = make_hub(forward_everything(httpserver.url_for("/receiver"), attempts=1), plugins=[webhook],
                        env={"APP_SECRET": WHSEC})
    test_hub.app.config["CXHUB_METRICS_TOKEN"] = TOKEN
    return test_hub


def test_metrics_are_off_without_a_token(hub):
    hub.app.config["CXHUB_METRICS_TOKEN"] = None
    response = hub.client.get("/metrics", headers=AUTH)
    assert response.status_code == 404 and response.json["error"]["code"] == "metrics_disabled"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_a_scrape_needs_the_token(hub, headers):
    response = hub.client.get("/metrics", headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert TOKEN not in response.get_data(as_text=True)


def test_counters_match_the_webhooks_and_deliveries_that_happened(hub, httpserver):
    before = scrape(hub)
    httpserver.expect_oneshot_request("/receiver", method="POST").respond_with_data("", status=200)
    httpserver.expect_oneshot_request("/receiver", method="POST").respond_with_data("down", status=503)
    assert send(hub, detractor(1)).status_code == 202
    assert send(hub, detractor(2), msg_id="msg_2").status_code == 202
    assert send(hub, detractor(1)).status_code == 200  # the same message again: a duplicate
    assert hub.post("app", b"{}", {"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,AA=="}
                    ).status_code == 401
    unreadable = send(hub, {"nothing": "here"}, msg_id="msg_3")
    assert unreadable.status_code == 422 and unreadable.json["error"]["quarantine_id"]
    hub.drain()
    after = scrape(hub)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("cxhub_webhook_requests_total", source="app", status="202") == 2
    assert delta("cxhub_webhook_requests_total", source="app", status="200") == 1
    assert delta("cxhub_webhook_requests_total", source="app", status="401") == 1
    assert delta("cxhub_events_total", source="app", outcome="accepted") == 2
    assert delta("cxhub_events_total", source="app", outcome="duplicate") == 1
    assert delta("cxhub_webhook_requests_total", source="app", status="422") == 1
    assert delta("cxhub_quarantined_requests_total", source="app", outcome="kept") == 1
    assert delta("cxhub_delivery_attempts_total", connection="out", outcome="succeeded") == 1
    assert delta("cxhub_delivery_attempts_total", connection="out", outcome="failed") == 1
    assert delta("cxhub_deliveries_dead_lettered_total", connection="out") == 1
    assert delta("cxhub_delivery_attempt_duration_seconds_count", connection="out") == 2
    assert value(after, "cxhub_dead_letters", connection="out") == 1
    assert value(after, "cxhub_queue_depth", connection="out") == 0
    assert value(after, "cxhub_connection_breaker_state", connection="out", state="ok") == 1
    assert value(after, "cxhub_connection_paused", connection="out") == 0
    assert value(after, "cxhub_backend_up", backend="redis") == 1
    assert value(after, "cxhub_backend_up", backend="database") == 1
    assert value(after, "cxhub_intake_backlog") == 0


def test_a_connection_held_by_its_destination_shows_as_paused(hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("gone", status=410)
    send(hub, detractor())
    hub.drain()
    scraped = scrape(hub)
    assert value(scraped, "cxhub_connection_paused", connection="out") == 1
    assert value(scraped, "cxhub_connection_held", connection="out") == 1
    assert value(scraped, "cxhub_connection_breaker_state", connection="out", state="paused") == 1
    assert value(scraped, "cxhub_queue_depth", connection="out") + \
        value(scraped, "cxhub_queue_scheduled", connection="out") >= 1


def test_hostile_source_names_do_not_create_label_values(hub):
    before = scrape(hub)
    for number in range(40):
        hub.client.post(f"/hooks/evil-{number}", data=b"{}")
        hub.client.post(f"/hooks/%3Cscript%3E{number}", data=b"{}")
    after = scrape(hub)
    # The registry is the process's: other tests' sources may already be there, so compare with before.
    def sources(scraped):
        return {dict(labels).get("source") for name, labels in scraped if name == "cxhub_webhook_requests_total"}
    assert sources(after) - sources(before) <= {"app", UNKNOWN}
    assert not any(source.startswith("evil-") or "<" in source for source in sources(after))
    assert value(after, "cxhub_webhook_requests_total", source=UNKNOWN, status="404") - \
        value(before, "cxhub_webhook_requests_total", source=UNKNOWN, status="404") == 80


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_metrics_answer_while_redis_and_the_database_are_down(tmp_path):
    config = tmp_path / "cxhub.yaml"
    config.write_text(forward_everything("http://127.0.0.1:9/receiver"), encoding="utf-8")
    port = closed_port()
    app = create_app({"CXHUB_CONFIG": str(config), "CXHUB_DATA_DIR": str(tmp_path / "data"),
                      "REDIS_URL": f"redis://127.0.0.1:{port}/0",
                      "DATABASE_URL": f"postgresql://cxhub@127.0.0.1:{port}/cxhub",
                      "CXHUB_METRICS_TOKEN": TOKEN},
                     plugins=[webhook], discover_plugins=False, environ={"APP_SECRET": WHSEC})
    try:
        client = app.test_client()
        assert client.post("/hooks/app", data=b"{}").status_code in (401, 503)
        response = client.get("/metrics", headers=AUTH)
        assert response.status_code == 200
        scraped = samples(response.get_data(as_text=True))
        assert value(scraped, "cxhub_backend_up", backend="redis") == 0
        assert value(scraped, "cxhub_backend_up", backend="database") == 0
        assert not any(name == "cxhub_queue_depth" for name, _ in scraped)
        assert any(name == "cxhub_webhook_requests_total" for name, _ in scraped)
    finally:
        close_app(app)


def test_a_worker_serves_its_counters_behind_the_token():
    server = serve_metrics("127.0.0.1", 0, TOKEN)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        with urllib.request.urlopen(urllib.request.Request(url, headers=AUTH), timeout=5) as answer:
            assert b"cxhub_delivery_attempts_total" in answer.read()
    finally:
        server.shutdown()
        server.server_close()
