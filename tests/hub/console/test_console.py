"""The console through Flask's test client: sign-in, sessions, CSRF, roles, escaping, lists, 404s, outages."""

from __future__ import annotations

import socket
import time

import orjson
import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash

import plugins.webhook as webhook
from hub.cli import main
from hub.store import EventFilter
from hub.testing import build_test_hub
from tests.conftest import APP_SOURCE, WHSEC, detractor, send
from tests.hub.console.conftest import ENV, SECRET_KEY, TOKEN, console_config, sign_in, token_of

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_the_console_is_off_without_a_console_section(make_hub):
    hub = make_hub(APP_SOURCE, plugins=[webhook], env={"APP_SECRET": WHSEC})
    assert hub.client.get("/console/").status_code == 404
    assert hub.client.get("/console/sign-in").status_code == 404


def test_a_short_secret_key_is_a_config_error(make_hub, httpserver):
    with pytest.raises(Exception, match="at least 32 characters"):
        make_hub(console_config(httpserver.url_for("/r")), plugins=[webhook], env={**ENV, "CONSOLE_SECRET": "short"})


def test_pages_need_a_sign_in_and_come_back_to_the_page_asked(console_hub):
    client = console_hub.client
    response = client.get("/console/deliveries?status=dead")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/sign-in?next=")
    done = sign_in(client, next_page="/console/deliveries?status=dead")
    assert done.status_code == 302 and done.headers["Location"] == "/console/deliveries?status=dead"
    assert client.get("/console/deliveries?status=dead").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console", "/admin/events",
                                    "/console\\@evil.example"])
def test_sign_in_never_redirects_off_the_console(console_hub, target):
    done = sign_in(console_hub.client, next_page=target)
    assert done.headers["Location"] == "/console/"


def test_the_session_cookie_is_httponly_samesite_and_secure_over_tls(console_hub):
    cookie = sign_in(console_hub.client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie
    client = console_hub.app.test_client()
    page = client.get("/console/sign-in", base_url="https://hub.example")
    from tests.hub.console.conftest import csrf_of
    over_tls = client.post("/console/sign-in", base_url="https://hub.example",
                           headers={"Referer": "https://hub.example/console/sign-in"},
                           data={"csrf_token": csrf_of(page.get_data(as_text=True)), "name": "otto",
                                 "password": "operator-password-1"})
    assert over_tls.status_code == 302
    assert "Secure" in over_tls.headers["Set-Cookie"]


def test_the_admin_token_signs_in_as_admin(console_hub):
    client = console_hub.client
    assert sign_in(client, name="", password=TOKEN).status_code == 302
    assert "admin-token (admin)" in client.get("/console/").get_data(as_text=True)


def test_a_wrong_password_says_so_then_slows_down(console_hub):
    client = console_hub.client
    for _ in range(5):
        wrong = sign_in(client, name="otto", password="not-it")
        assert wrong.status_code == 401
        assert "Wrong user name or password" in wrong.get_data(as_text=True)
    blocked = sign_in(client, name="otto")  # the right password, but too many failures first
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
    assert client.get("/console/").status_code == 302  # not signed in


def test_an_unknown_user_is_refused_like_a_wrong_password(console_hub):
    wrong = sign_in(console_hub.client, name="mallory", password="whatever")
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.get_data(as_text=True)


def test_an_expired_session_goes_to_sign_in_then_back(make_hub, httpserver, monkeypatch):
    hub = make_hub(console_config(httpserver.url_for("/r"), session_minutes=1), plugins=[webhook], env=ENV)
    client = hub.client
    sign_in(client)
    assert client.get("/console/events").status_code == 200
    later = time.time() + 120
    monkeypatch.setattr("hub.console.auth.now", lambda: later)
    expired = client.get("/console/events?band=negative")
    assert expired.status_code == 302
    assert expired.headers["Location"] == "/console/sign-in?next=/console/events?band%3Dnegative&expired=1"
    assert "Your session expired" in client.get(expired.headers["Location"]).get_data(as_text=True)


def test_a_post_without_its_csrf_token_is_403_and_changes_nothing(console_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("", status=500)
    send(console_hub, detractor())
    console_hub.drain()
    [dead] = console_hub.store.reads.deliveries(status="dead")
    client = console_hub.client
    sign_in(client)
    for form in ({}, {"csrf_token": "forged"}):
        response = client.post(f"/console/deliveries/{dead.id}/retry", data=form)
        assert response.status_code == 403
        assert "could not be checked" in response.get_data(as_text=True)
    assert console_hub.store.reads.delivery(dead.id).status == "dead"
    assert client.post("/console/connections/out/pause", data={}).status_code == 403


def test_a_viewer_cannot_act(console_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("", status=500)
    send(console_hub, detractor())
    console_hub.drain()
    [dead] = console_hub.store.reads.deliveries(status="dead")
    client = console_hub.client
    sign_in(client, name="vera")
    page = client.get("/console/deliveries").get_data(as_text=True)
    assert 'class="retry"' not in page
    refused = client.post(f"/console/deliveries/{dead.id}/retry", data={"csrf_token": token_of(client)})
    assert refused.status_code == 403 and "viewer" in refused.get_data(as_text=True)
    assert console_hub.store.reads.delivery(dead.id).status == "dead"


def test_an_operator_retries_a_dead_delivery(console_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("", status=500)
    send(console_hub, detractor())
    console_hub.drain()
    [dead] = console_hub.store.reads.deliveries(status="dead")
    client = console_hub.client
    sign_in(client)
    done = client.post(f"/console/deliveries/{dead.id}/retry", data={"csrf_token": token_of(client)},
                       follow_redirects=True)
    assert "Queued again" in done.get_data(as_text=True)
    assert console_hub.store.reads.delivery(dead.id).status == "queued"


def test_retry_all_acts_on_everything_the_filter_matches_after_showing_the_count(console_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("", status=500)
    for number in range(60):  # more than one page
        send(console_hub, detractor(response_id=number), msg_id=f"msg_{number}")
    console_hub.drain()
    client = console_hub.client
    sign_in(client)
    assert "Retry all 60 dead deliveries" in client.get("/console/deliveries?status=dead").get_data(as_text=True)
    confirm = client.get("/console/deliveries/retry-all?status=dead&connection=out").get_data(as_text=True)
    assert "<b>60</b> dead deliveries match" in confirm
    stale = client.post("/console/deliveries/retry-all", data={"csrf_token": token_of(client), "status": "dead",
                                                               "connection": "out", "expected": "59"})
    assert stale.status_code == 302 and len(console_hub.store.reads.dead_ids()) == 60
    client.post("/console/deliveries/retry-all", data={"csrf_token": token_of(client), "status": "dead",
                                                       "connection": "out", "expected": "60"})
    assert console_hub.store.reads.dead_ids() == []
    none_left = client.get("/console/deliveries/retry-all?status=dead").get_data(as_text=True)
    assert "<b>0</b> dead deliveries match" in none_left


def test_vendor_text_renders_as_text(console_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    payload = detractor(comment=HOSTILE)
    payload["response"]["url"] = "javascript:alert(1)"
    send(console_hub, payload)
    client = console_hub.client
    sign_in(client)
    [row] = console_hub.store.browse.events(EventFilter()).rows
    for path in ("/console/events", f"/console/events/{row.id}", f"/console/routes?event={row.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert 'href="javascript:' not in html
    html = client.get(f"/console/events/{row.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_every_page_forbids_inline_scripts(console_hub):
    response = console_hub.client.get("/console/sign-in")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_no_secret_is_rendered(console_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("", status=500)
    send(console_hub, detractor())
    console_hub.drain()
    client = console_hub.client
    sign_in(client, name="ada")
    [row] = console_hub.store.browse.events(EventFilter()).rows
    for path in ("/console/", "/console/events", f"/console/events/{row.id}", "/console/deliveries",
                 "/console/connections", "/console/routes", f"/console/routes?event={row.id}", "/console/quarantine"):
        html = client.get(path).get_data(as_text=True)
        for secret in (WHSEC, TOKEN, SECRET_KEY):
            assert secret not in html, (path, secret)


def test_quarantined_requests_show_without_credentials_and_can_be_discarded(console_hub):
    bad = console_hub.post("app", b"not json", {"Authorization": "Bearer vendor-credential"},
                           content_type="application/json")
    assert bad.status_code in (400, 401, 422)
    client = console_hub.client
    sign_in(client, name="ada")
    kept = console_hub.store.quarantine.requests()
    if not kept:  # the webhook plugin checks the signature first: send a signed unreadable body
        from hub.testing import sign_standard_webhook
        body = b'{"response": "not an object"}'
        console_hub.post("app", body, {**sign_standard_webhook(WHSEC, "msg_q", body),
                                       "Authorization": "Bearer vendor-credential"})
        kept = console_hub.store.quarantine.requests()
    [row] = kept
    html = client.get(f"/console/quarantine/{row.id}").get_data(as_text=True)
    assert "vendor-credential" not in html and "webhook-signature" not in html.lower()
    client.post(f"/console/quarantine/{row.id}/discard", data={"csrf_token": token_of(client)})
    assert console_hub.store.quarantine.get(row.id).status == "discarded"


def test_events_page_filters_and_keeps_its_page_when_new_events_arrive(console_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    for number in range(120):
        send(console_hub, detractor(response_id=number, comment=f"comment {number}"), msg_id=f"m{number}")
    client = console_hub.client
    sign_in(client)
    first = client.get("/console/events").get_data(as_text=True)
    assert first.count('href="/console/events/') == 50
    import re
    older = re.search(r'id="next-page" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    send(console_hub, detractor(response_id=999, comment="comment new"), msg_id="m999")
    assert client.get(older).get_data(as_text=True) == second  # the same rows: the cursor stays put
    found = client.get("/console/events?q=comment+77").get_data(as_text=True)
    assert found.count('href="/console/events/') == 1 and "comment 77" in found
    assert client.get("/console/events?band=positive").get_data(as_text=True).count('href="/console/events/') == 0


@pytest.mark.parametrize("query, key", [("band=awful", "band"), ("customer=not-an-email", "customer"),
                                        ("since=yesterday", "since"), ("cursor=%%%", "cursor")])
def test_an_invalid_filter_is_named_on_the_page(console_hub, query, key):
    client = console_hub.client
    sign_in(client)
    response = client.get(f"/console/events?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Some filters are not valid" in html and f"<b>{key}</b>" in html


def test_an_invalid_delivery_filter_is_named_on_the_page(console_hub):
    client = console_hub.client
    sign_in(client)
    html = client.get("/console/deliveries?status=lost&attempts=many").get_data(as_text=True)
    assert "<b>status</b>" in html and "<b>attempts</b>" in html


@pytest.mark.parametrize("path", ["/console/events/no-such-event", "/console/quarantine/nope"])
def test_an_unknown_id_is_a_404_page(console_hub, path):
    client = console_hub.client
    sign_in(client)
    response = client.get(path)
    assert response.status_code == 404 and "404 · Not found" in response.get_data(as_text=True)


def test_an_unknown_delivery_or_connection_is_404(console_hub):
    client = console_hub.client
    sign_in(client)
    token = token_of(client)
    assert client.post("/console/deliveries/nope/retry", data={"csrf_token": token}).status_code == 404
    assert client.post("/console/connections/nope/pause", data={"csrf_token": token}).status_code == 404


def test_pause_and_resume_a_connection(console_hub):
    client = console_hub.client
    sign_in(client)
    client.post("/console/connections/out/pause", data={"csrf_token": token_of(client), "reason": "vendor outage"})
    html = client.get("/console/connections").get_data(as_text=True)
    assert "until resumed: vendor outage (by otto)" in html
    client.post("/console/connections/out/resume", data={"csrf_token": token_of(client)})
    assert '<span class="status ok">ok</span>' in client.get("/console/connections").get_data(as_text=True)


def test_a_dry_run_of_a_pasted_event_renders_the_actions(console_hub):
    client = console_hub.client
    sign_in(client)
    event = {"id": "x", "type": "cx.survey.response", "data": {"score": {"band": "negative"}}}
    html = client.post("/console/routes", data={"csrf_token": token_of(client, "/console/routes"),
                                                "payload": orjson.dumps(event).decode()}).get_data(as_text=True)
    assert "everything: matches" in html and "out.forward" in html
    bad = client.post("/console/routes", data={"csrf_token": token_of(client, "/console/routes"), "payload": "[1"})
    assert bad.status_code == 400 and "not a canonical event" in bad.get_data(as_text=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("down", ["redis", "database"])
def test_the_console_says_what_is_down_instead_of_failing(tmp_path, cxhub_redis_url, cxhub_database_url, down):
    port = closed_port()
    urls = {"redis_url": cxhub_redis_url, "database_url": cxhub_database_url}
    urls[f"{down}_url"] = (f"redis://127.0.0.1:{port}/0" if down == "redis"
                           else f"postgresql://cxhub:hunter2@127.0.0.1:{port}/cxhub")
    hub = build_test_hub(console_config("http://127.0.0.1:9/r"), tmp_path, plugins=[webhook], env=ENV, **urls)
    try:
        client = hub.client
        assert sign_in(client).status_code == 302  # signing in needs neither
        named = "Redis" if down == "redis" else "the database"
        pages = ["/console/", "/console/connections"] if down == "redis" else [
            "/console/", "/console/events", "/console/events/some-id", "/console/deliveries",
            "/console/quarantine", "/console/connections", "/console/routes?event=some-id"]
        for path in pages:
            response = client.get(path)
            assert response.status_code in (200, 400), path
            html = response.get_data(as_text=True)
            assert f"Unavailable: {named}" in html, path
            assert "hunter2" not in html and str(port) not in html
    finally:
        hub.close()


def test_hash_password_makes_a_hash_the_config_accepts():
    result = CliRunner().invoke(main, ["console", "hash-password"], input="a long enough password\n" * 2)
    assert result.exit_code == 0, result.output
    digest = result.output.strip().splitlines()[-1]
    assert digest.startswith("scrypt:") and check_password_hash(digest, "a long enough password")
    short = CliRunner().invoke(main, ["console", "hash-password", "--password", "short"])
    assert short.exit_code != 0 and "at least 12" in short.output
