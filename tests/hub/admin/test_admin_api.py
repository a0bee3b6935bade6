"""The admin API: token required, listing and searching, replay and redelivery."""

from __future__ import annotations

import orjson

import pytest

import plugins.webhook as webhook
from tests.conftest import WHSEC, detractor, forward_everything, send

TOKEN = "admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def hub(make_hub, httpserver):
    test_hub = make_hub(forward_everything(httpserver.url_for("/receiver"), attempts=1), plugins=[webhook],
                        env={"APP_SECRET": WHSEC})
    test_hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
    return test_hub


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_token_is_required(hub, headers):
    response = hub.client.get("/admin/events", headers=headers)
    assert response.status_code == 401
    assert TOKEN not in response.get_data(as_text=True)


def test_admin_api_is_off_without_a_token(hub):
    hub.app.config["CXHUB_ADMIN_TOKEN"] = None
    response = hub.client.get("/admin/events", headers=AUTH)
    assert response.status_code == 404 and response.json["error"]["code"] == "admin_disabled"


def test_events_are_listed_searched_and_shown_with_deliveries(hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    [event_id] = send(hub, detractor()).json["accepted"]
    send(hub, {"response": {"id": 2, "score": 10}, "customer": {"email": "bo@example.com"}}, msg_id="msg_2")
    hub.drain()
    found = hub.client.get("/admin/events?band=negative", headers=AUTH).json["events"]
    assert [event["id"] for event in found] == [event_id]
    assert found[0]["event"]["data"]["customer"]["email"] == "ann@example.com"
    assert len(hub.client.get("/admin/events?customer=bo@example.com", headers=AUTH).json["events"]) == 1
    shown = hub.client.get(f"/admin/events/{event_id}", headers=AUTH).json
    assert [delivery["status"] for delivery in shown["deliveries"]] == ["succeeded"]
    kept = shown["request"]  # the request it came in, its signature removed
    assert (kept["method"], kept["path"], kept["headers"]["webhook-id"]) == ("POST", "/hooks/app", "msg_1")
    assert "webhook-signature" not in kept["headers"] and kept["removed"]["headers"] == ["webhook-signature"]
    assert orjson.loads(kept["body"]) == detractor()
    assert "request" not in found[0]  # lists leave it out
    assert hub.client.get("/admin/events/nope", headers=AUTH).status_code == 404


def test_bad_query_is_400_with_field_messages(hub):
    response = hub.client.get("/admin/deliveries?status=lost&colour=red", headers=AUTH)
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"status", "colour"}


def test_dead_delivery_shows_its_attempts_and_is_redelivered(hub, httpserver):
    httpserver.expect_oneshot_request("/receiver").respond_with_data("down", status=503)
    httpserver.expect_request("/receiver").respond_with_data("")
    send(hub, detractor())
    hub.drain()
    [dead] = hub.client.get("/admin/deliveries?status=dead", headers=AUTH).json["deliveries"]
    detail = hub.client.get(f"/admin/deliveries/{dead['id']}", headers=AUTH).json
    assert [(a["status_code"], a["outcome"]) for a in detail["attempt_log"]] == [(503, "failed")]
    answer = hub.client.post("/admin/deliveries/redeliver", json={"ids": [dead["id"], "nope"]}, headers=AUTH)
    assert answer.status_code == 202 and answer.json == {"queued": [dead["id"]], "skipped": ["nope"]}
    hub.drain()
    assert hub.client.get(f"/admin/deliveries/{dead['id']}", headers=AUTH).json["status"] == "succeeded"


def test_replay_through_the_api(hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    [event_id] = send(hub, detractor()).json["accepted"]
    hub.drain()
    answer = hub.client.post(f"/admin/events/{event_id}/replay", headers=AUTH)
    assert answer.status_code == 202 and answer.json["queued"] == [] and len(answer.json["untouched"]) == 1


def test_bulk_redelivery_through_the_api(hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("down", status=500)
    send(hub, detractor())
    hub.drain()
    both = hub.client.post("/admin/deliveries/redeliver", json={"ids": ["x"], "all_dead": {}}, headers=AUTH)
    assert both.status_code == 400
    answer = hub.client.post("/admin/deliveries/redeliver", json={"all_dead": {"route": "everything"}}, headers=AUTH)
    assert answer.status_code == 202 and len(answer.json["queued"]) == 1


def test_connections_are_listed_and_a_paused_one_resumed(hub):
    from hub.delivery.gate import hold_connection

    assert hub.client.get("/admin/connections", headers=AUTH).json == {"connections": [
        {"connection": "out", "plugin": "webhook", "status": "ok", "until": None, "reason": None, "failures": 0}]}
    hold_connection(hub.hub.redis, hub.hub.config.hub.queue, "out", "the receiver answered 410 Gone")
    [row] = hub.client.get("/admin/connections", headers=AUTH).json["connections"]
    assert (row["status"], row["reason"]) == ("paused", "the receiver answered 410 Gone")
    assert hub.client.post("/admin/connections/out/resume", headers=AUTH).json == {"connection": "out",
                                                                                   "resumed": True}
    assert hub.client.post("/admin/connections/out/resume", headers=AUTH).json["resumed"] is False
    assert hub.client.post("/admin/connections/nope/resume", headers=AUTH).status_code == 404
    assert hub.client.post("/admin/connections/out/resume").status_code == 401


@pytest.mark.parametrize("url", ["/admin/events?source=%00", "/admin/deliveries?event_id=a%00b",
                                 "/admin/deliveries?connection=" + "x" * 513])
def test_a_filter_no_stored_row_can_match_is_400_not_a_database_error(hub, url):
    """PostgreSQL refuses NUL in a parameter: that was a 500 before the schemas refused it."""
    response = hub.client.get(url, headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("body", [{"ids": ["a\x00"]}, {"all_dead": {"route": "a\x00"}}])
def test_a_redelivery_naming_nul_is_400(hub, body):
    response = hub.client.post("/admin/deliveries/redeliver", json=body, headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"


def test_an_id_in_the_path_no_row_can_have_is_404(hub):
    assert hub.client.get("/admin/events/a%00b", headers=AUTH).status_code == 404
    assert hub.client.post(f"/admin/events/{'x' * 600}/replay", headers=AUTH).status_code == 404


def test_the_admin_api_answers_503_while_the_database_and_redis_are_down(tmp_path):
    import socket

    from hub.app import close_app, create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "cxhub.yaml"
    config.write_text(forward_everything("http://127.0.0.1:9/receiver"), encoding="utf-8")
    app = create_app({"CXHUB_CONFIG": str(config), "CXHUB_DATA_DIR": str(tmp_path / "data"),
                      "REDIS_URL": f"redis://127.0.0.1:{port}/0", "DATABASE_URL": f"postgresql://x@127.0.0.1:{port}/x",
                      "CXHUB_ADMIN_TOKEN": TOKEN}, plugins=[webhook], discover_plugins=False,
                     environ={"APP_SECRET": WHSEC})
    try:
        client = app.test_client()
        for method, path in [("get", "/admin/events"), ("get", "/admin/deliveries/x"), ("get", "/admin/backlog"),
                             ("get", "/admin/connections"), ("post", "/admin/connections/out/resume"),
                             ("post", "/admin/deliveries/redeliver")]:
            response = getattr(client, method)(path, headers=AUTH, json={"ids": ["x"]} if method == "post" else None)
            assert response.status_code == 503, (path, response.json)
            assert response.json["error"]["code"] == "unavailable"
    finally:
        close_app(app)
