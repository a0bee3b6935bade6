"""The Users API client (ready for the core's enrichment), the connection settings, and comment fitting."""

from __future__ import annotations

import base64

import orjson
import pytest

from hub.plugin import Customer, GiveUp, HttpClient, PauseConnection, Secret, ValidationError
from hub.plugin.settings import EnvValue
from plugins.zendesk.api import fetch_user
from plugins.zendesk.comment import COMMENT_LIMIT_BYTES, fit_comment
from plugins.zendesk.settings import ZendeskConnectionSettings
from tests.conftest import fixture_bytes

TOKEN = "zendesk-api-token-123"
SETTINGS = {"email": "cx-bot@example.com", "api_token": Secret(TOKEN, "ZD_TOKEN"), "oauth_token": None}
USER = orjson.loads(fixture_bytes("zendesk/show_user_response.json"))  # documented Show User answer


@pytest.fixture
def client(httpserver):
    client = HttpClient(httpserver.url_for("/"), timeout=5)
    yield client
    client.close()


def test_fetch_user_reads_the_requester_from_the_users_api(httpserver, client):
    basic = "Basic " + base64.b64encode(f"cx-bot@example.com/token:{TOKEN}".encode()).decode()
    httpserver.expect_request("/api/v2/users/35436.json", method="GET",
                              headers={"Authorization": basic, "Accept": "application/json"}).respond_with_json(USER)
    assert fetch_user(client, SETTINGS, "35436") == Customer(id="35436", email="johnny@example.com",
                                                             name="Johnny Agent")


def test_fetch_user_pauses_on_bad_credentials_and_gives_up_on_a_deleted_user(httpserver, client):
    httpserver.expect_request("/api/v2/users/1.json").respond_with_json({"error": "Couldn't authenticate you"},
                                                                        status=401)
    httpserver.expect_request("/api/v2/users/2.json").respond_with_json({"error": "RecordNotFound"}, status=404)
    with pytest.raises(PauseConnection, match=r"credentials \(401\)"):
        fetch_user(client, SETTINGS, "1")
    with pytest.raises(GiveUp, match=r"user 2 was not found in Zendesk"):
        fetch_user(client, SETTINGS, "2")


def test_fetch_user_refuses_an_id_that_is_not_a_number(client):
    with pytest.raises(ValueError, match="a Zendesk user id is a number"):
        fetch_user(client, SETTINGS, "../tickets/1")


def load(**settings):
    given = {key: EnvValue(key.upper(), value) if key.endswith("token") else value for key, value in settings.items()}
    return ZendeskConnectionSettings().load(given)


def test_a_subdomain_gives_the_account_host():
    assert load(subdomain="example", email="a@example.com", api_token="t")["endpoint"] == "https://example.zendesk.com"
    assert load(base_url="https://help.example.com/", oauth_token="t")["endpoint"] == "https://help.example.com"


@pytest.mark.parametrize("settings, message", [
    ({"email": "a@example.com", "api_token": "t"}, "exactly one of subdomain or base_url"),
    ({"subdomain": "x", "base_url": "https://x.example.com", "oauth_token": "t"}, "exactly one of subdomain"),
    ({"subdomain": "x"}, "either email and api_token"),
    ({"subdomain": "x", "email": "a@example.com", "api_token": "t", "oauth_token": "t"}, "either email and api_token"),
    ({"subdomain": "x", "email": "a@example.com"}, "needs both email and api_token"),
    ({"subdomain": "evil.com/x", "oauth_token": "t"}, "NAME of NAME.zendesk.com"),
])
def test_connection_settings_name_what_is_wrong(settings, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        load(**settings)


@pytest.mark.parametrize("comment_format, text", [
    ("text", "é" * 1_000_000),
    ("markdown", "<>&" * 400_000),  # each character escapes to 4 or 5 bytes
    ("markdown", "😞 **no** " * 100_000),
])
def test_a_comment_is_cut_to_64_kb_of_what_is_sent(comment_format, text):
    body = fit_comment(text, comment_format, full_text_at="https://example.zendesk.com/agent/tickets/1")
    assert COMMENT_LIMIT_BYTES - 1024 < len(body.encode("utf-8")) <= COMMENT_LIMIT_BYTES
    assert "… [truncated; full text: https://example.zendesk.com/agent/tickets/1]" in body


def test_a_short_comment_is_sent_whole():
    assert fit_comment("Thanks!", "text") == "Thanks!"
    assert fit_comment("*Thanks*", "markdown") == "<p><em>Thanks</em></p>\n"
