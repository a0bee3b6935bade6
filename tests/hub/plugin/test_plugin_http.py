"""hub/plugin/http.py: HttpClient against a real local HTTP server (pytest-httpserver), and Retry-After."""

from __future__ import annotations

import email.utils
import socket
import time

import pytest
from werkzeug import Request, Response

from hub.plugin.errors import GiveUp, RetryLater
from hub.plugin.http import MAX_ERROR_BODY, HttpClient, paginate, retry_after_seconds

SECRET_SEGMENT = "XXXXsecretXXXXtokenXXXX"
SLACK_PATH = f"/services/T0000/B0000/{SECRET_SEGMENT}"


@pytest.fixture
def client(httpserver):
    http = HttpClient(httpserver.url_for("/api/"), timeout=2.0)
    yield http
    http.close()


def host_of(httpserver) -> str:
    return f"{httpserver.host}:{httpserver.port}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_no_secret(message: str) -> None:
    assert SECRET_SEGMENT not in message
    assert "/services" not in message
    assert "T0000" not in message


# --- retry_after_seconds ---------------------------------------------------------

NOW = 1445412000.0  # Wed, 21 Oct 2015 07:20:00 GMT


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None), ("", None), ("120", 120.0), (" 5 ", 5.0), ("0", 0.0),
        ("-5", None), ("1.5", None), ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 480.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # a date in the past means "now"
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
    ],
)
def test_retry_after_seconds(value, expected):
    assert retry_after_seconds(value, now=NOW) == expected


# --- constructing and joining -------------------------------------------------------


@pytest.mark.parametrize("base_url", ["ftp://files.example.com/", "localhost:8080", "http://", "api.example.com"])
def test_base_url_must_be_http(base_url):
    with pytest.raises(ValueError) as caught:
        HttpClient(base_url)
    assert str(caught.value) == f"base_url must be an http:// or https:// URL, got {base_url!r}"


@pytest.mark.parametrize(
    "path, url",
    [
        ("issue", "https://api.example.com/rest/issue"),
        ("/issue/1", "https://api.example.com/rest/issue/1"),
        ("", "https://api.example.com/rest"),
        ("//evil.example/x", "https://api.example.com/rest/evil.example/x"),
        ("HTTPS://API.EXAMPLE.COM/other", "https://API.EXAMPLE.COM/other"),
    ],
)
def test_url_for_stays_on_the_origin(path, url):
    assert HttpClient("https://api.example.com/rest").url_for(path) == url


@pytest.mark.parametrize(
    "path, netloc",
    [
        ("https://evil.example/steal", "evil.example"),
        ("http://api.example.com/downgrade", "api.example.com"),
        ("https://api.example.com:8443/other-port", "api.example.com:8443"),
        ("https://api.example.com.evil.example/", "api.example.com.evil.example"),
    ],
)
def test_url_for_refuses_another_origin(path, netloc):
    with pytest.raises(GiveUp) as caught:
        HttpClient("https://api.example.com/rest/").url_for(path)
    assert caught.value.message == f"refusing to send to {netloc!r}: only the connection's host is allowed"


def test_request_to_another_host_is_never_sent(httpserver, client):
    with pytest.raises(GiveUp, match="refusing to send to 'evil.example'"):
        client.post("https://evil.example/collect", json={"a": 1})
    assert httpserver.log == []


# --- success -----------------------------------------------------------------------


def test_2xx_is_returned(httpserver, client):
    httpserver.expect_request("/api/issue", method="POST", json={"summary": "hi"}).respond_with_json(
        {"id": "10001"}, status=201
    )
    response = client.post("issue", json={"summary": "hi"})
    assert response.status_code == 201
    assert response.json() == {"id": "10001"}
    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"] == "cxhub"


def test_user_agent_is_configurable(httpserver):
    httpserver.expect_request("/", headers={"User-Agent": "cxhub/9.9"}).respond_with_data("ok")
    http = HttpClient(httpserver.url_for("/"), user_agent="cxhub/9.9")
    assert http.get().text == "ok"
    http.close()


def test_redirect_is_returned_not_followed(httpserver, client):
    httpserver.expect_request("/api/moved").respond_with_response(
        Response("", status=302, headers={"Location": "http://evil.example/"})
    )
    response = client.get("moved")
    assert response.status_code == 302
    assert response.headers["Location"] == "http://evil.example/"


# --- retryable errors --------------------------------------------------------------


def test_429_with_retry_after_seconds(httpserver, client):
    httpserver.expect_request("/api/msg").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "30"})
    )
    with pytest.raises(RetryLater) as caught:
        client.post("msg")
    assert caught.value.after == 30.0
    assert caught.value.status_code == 429
    assert caught.value.message == f"POST to {host_of(httpserver)} answered 429: slow down"


def test_503_with_http_date_retry_after(httpserver, client):
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    httpserver.expect_request("/api/msg").respond_with_response(
        Response("maintenance", status=503, headers={"Retry-After": when})
    )
    with pytest.raises(RetryLater) as caught:
        client.get("msg")
    assert caught.value.status_code == 503
    assert 118.0 <= caught.value.after <= 120.0


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_retryable_statuses_without_retry_after(httpserver, client, status):
    httpserver.expect_request("/api/x").respond_with_data("oops", status=status)
    with pytest.raises(RetryLater) as caught:
        client.post("x")
    assert caught.value.status_code == status
    assert caught.value.after is None
    assert caught.value.message == f"POST to {host_of(httpserver)} answered {status}: oops"


def test_500_unreadable_retry_after_is_none(httpserver, client):
    httpserver.expect_request("/api/x").respond_with_response(
        Response("oops", status=500, headers={"Retry-After": "whenever"})
    )
    with pytest.raises(RetryLater) as caught:
        client.post("x")
    assert caught.value.after is None


def test_error_body_is_cut(httpserver, client):
    httpserver.expect_request("/api/x").respond_with_data("e" * 2000, status=500)
    with pytest.raises(RetryLater) as caught:
        client.post("x")
    prefix = f"POST to {host_of(httpserver)} answered 500: "
    assert caught.value.message == prefix + "e" * MAX_ERROR_BODY


def test_connection_refused_is_retry_later():
    port = closed_port()
    http = HttpClient(f"http://127.0.0.1:{port}{SLACK_PATH}", timeout=2.0)
    with pytest.raises(RetryLater) as caught:
        http.post(json={"text": "hi"})
    assert caught.value.message == f"POST to 127.0.0.1:{port} failed to connect: ConnectionError"
    assert caught.value.status_code is None
    assert caught.value.after is None
    assert_no_secret(caught.value.message)


def _slow(request: Request) -> Response:
    time.sleep(1.0)
    return Response("late")


def test_timeout_is_retry_later(httpserver):
    httpserver.expect_request(SLACK_PATH).respond_with_handler(_slow)
    http = HttpClient(httpserver.url_for(SLACK_PATH), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(RetryLater) as caught:
        http.post(json={"text": "hi"})
    assert time.monotonic() - started < 0.9  # gave up well before the answer
    assert caught.value.message == f"POST to {host_of(httpserver)} timed out after 0.2s"
    assert caught.value.status_code is None
    assert_no_secret(caught.value.message)


def test_per_call_timeout_overrides_default(httpserver, client):
    httpserver.expect_request("/api/slow").respond_with_handler(_slow)
    with pytest.raises(RetryLater, match=r"timed out after 0\.1s$"):
        client.get("slow", timeout=0.1)


# --- permanent errors ------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
def test_4xx_is_give_up(httpserver, client, status):
    httpserver.expect_request("/api/x").respond_with_data("invalid_payload", status=status)
    with pytest.raises(GiveUp) as caught:
        client.post("x")
    assert not isinstance(caught.value, RetryLater)
    assert caught.value.status_code == status
    assert caught.value.message == f"POST to {host_of(httpserver)} answered {status}: invalid_payload"


# --- secrets in the URL path never reach a message ----------------------------------------


@pytest.mark.parametrize("status, error", [(404, GiveUp), (400, GiveUp), (500, RetryLater), (429, RetryLater)])
def test_error_messages_do_not_quote_the_url_path(httpserver, status, error):
    httpserver.expect_request(SLACK_PATH, method="POST").respond_with_data("no_service", status=status)
    http = HttpClient(httpserver.url_for(SLACK_PATH))
    with pytest.raises(error) as caught:
        http.post(json={"text": "hi"})
    assert caught.value.message == f"POST to {host_of(httpserver)} answered {status}: no_service"
    assert_no_secret(caught.value.message)
    assert_no_secret(str(caught.value))


def test_error_messages_do_not_quote_url_credentials(httpserver):
    httpserver.expect_request("/api/x").respond_with_data("oops", status=500)
    http = HttpClient(httpserver.url_for("/api/").replace("://", "://bot:s3cretpass@"))
    with pytest.raises(RetryLater) as caught:
        http.post("x")
    assert "s3cretpass" not in caught.value.message


def test_unicode_digit_retry_after_is_still_retry_later(httpserver, client):
    httpserver.expect_request("/api/x").respond_with_response(
        Response("busy", status=503, headers={"Retry-After": "\u00b2"})
    )
    with pytest.raises(RetryLater) as caught:
        client.post("x")
    assert caught.value.status_code == 503


def test_get_json_keeps_big_ids_exact(httpserver, client):
    httpserver.expect_request("/api/reviews/1").respond_with_data('{"id": 9007199254740993}',
                                                                   content_type="application/json")
    assert client.get_json("reviews/1") == {"id": 9007199254740993}


def test_get_json_refuses_a_body_that_is_not_json(httpserver, client):
    httpserver.expect_request("/api/reviews/1").respond_with_data("<html>maintenance</html>")
    with pytest.raises(GiveUp, match="not JSON"):
        client.get_json("reviews/1")


def test_paginate_follows_next_links_until_the_last_page(httpserver, client):
    """SurveyMonkey's shape: `data` items and an absolute `links.next` URL."""
    second = httpserver.url_for("/api/responses?page=2&per_page=2")
    httpserver.expect_ordered_request("/api/responses", query_string="per_page=2").respond_with_json(
        {"data": [{"id": "1"}, {"id": "2"}], "links": {"next": second}})
    httpserver.expect_ordered_request("/api/responses", query_string="page=2&per_page=2").respond_with_json(
        {"data": [{"id": "3"}], "links": {}})
    pages = paginate(client, "responses", params={"per_page": 2}, items=lambda page: page["data"],
                     next_page=lambda page: page["links"].get("next"))
    assert [item["id"] for item in pages] == ["1", "2", "3"]
    httpserver.check_assertions()


def test_paginate_never_follows_a_link_to_another_host(httpserver, client):
    httpserver.expect_request("/api/responses").respond_with_json(
        {"data": [{"id": "1"}], "next": "https://elsewhere.example.com/api/responses?page=2"})
    pages = paginate(client, "responses", items=lambda page: page["data"], next_page=lambda page: page["next"])
    with pytest.raises(GiveUp, match="only the connection's host"):
        list(pages)


def test_paginate_stops_after_max_pages(httpserver, client):
    httpserver.expect_request("/api/loop").respond_with_json({"data": [1], "next": "loop"})
    assert list(paginate(client, "loop", items=lambda page: page["data"], next_page=lambda page: page["next"],
                         max_pages=3)) == [1, 1, 1]


def test_proxy_from_the_environment_is_used(httpserver, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", httpserver.url_for("/"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    httpserver.expect_request("/hook", method="POST").respond_with_data("proxied")
    client = HttpClient("http://destination.invalid/")  # only the proxy can reach it
    assert client.post("/hook").text == "proxied"
    assert httpserver.log[0][0].headers["Host"] == "destination.invalid"


def test_hosts_in_no_proxy_are_reached_directly(httpserver, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9/")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    httpserver.expect_request("/hook").respond_with_data("direct")
    assert HttpClient(httpserver.url_for("/")).post("/hook").text == "direct"


def test_an_error_keeps_the_start_of_the_vendors_body_for_the_plugin(httpserver, client):
    errors = '[{"message":"Required fields are missing: [Subject]","errorCode":"REQUIRED_FIELD_MISSING"}]'
    httpserver.expect_request("/api/x").respond_with_data(errors, status=400, content_type="application/json")
    httpserver.expect_request("/api/y").respond_with_data("x" * 20_000, status=503)
    with pytest.raises(GiveUp) as refused:
        client.get("x")
    assert refused.value.body == errors
    with pytest.raises(RetryLater) as later:
        client.get("y")
    assert later.value.body is not None and len(later.value.body) == 16_384
