"""A Zendesk source with API credentials reads each requester from the Users API after the 202."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

import plugins.hubspot as hubspot
import plugins.typeform as typeform
import plugins.webhook as webhook
import plugins.zendesk as zendesk
from hub.cli import main
from tests.conftest import fixture_bytes
from tests.hub.profiles.test_timeline_across_sources import ENV, REQUESTER, config, zendesk_headers, zendesk_request

USER_PATH = f"/api/v2/users/{REQUESTER}.json"


@pytest.fixture
def hub(make_hub, httpserver):
    return make_hub(config(httpserver.url_for("/").rstrip("/")), plugins=[typeform, zendesk, hubspot, webhook],
                    env=ENV)


def test_the_requester_is_read_with_the_sources_credentials_after_the_202(hub, httpserver):
    httpserver.expect_request(USER_PATH, method="GET").respond_with_data(
        fixture_bytes("zendesk/show_user_response.json"), content_type="application/json")
    body = zendesk_request()
    assert hub.post("support", body, zendesk_headers(body)).status_code == 202
    assert httpserver.log == []  # not while Zendesk waits
    hub.drain()
    [call] = [request for request, _ in httpserver.log]
    assert call.headers["Accept"] == "application/json" and call.headers["Authorization"].startswith("Basic ")
    [row] = hub.store.reads.events()
    customer = orjson.loads(row.body)["data"]["customer"]
    assert customer == {"id": REQUESTER, "email": "johnny@example.com", "name": "Johnny Agent"}
    assert orjson.loads(row.body)["data"]["text"] == "The export has failed three times this week."


def test_refused_credentials_fail_the_enrichment_with_a_hint_and_keep_the_event(hub, httpserver):
    httpserver.expect_request(USER_PATH).respond_with_json({"error": "Couldn't authenticate you"}, status=401)
    body = zendesk_request()
    hub.post("support", body, zendesk_headers(body))
    hub.drain()
    [row] = hub.store.reads.events()
    failed = hub.store.enrichments.get(row.id)
    assert failed.status == "failed" and "refused the source's API credentials (401)" in failed.last_error
    assert row.profile_state == "linked"  # attached by the requester id it has


@pytest.mark.parametrize("settings, message", [
    ("email: a@example.com", "API token auth needs both email and api_token"),
    ("api_token: {$env: ZD_TOKEN}\n      oauth_token: {$env: ZD_TOKEN}\n      email: a@example.com",
     "not both"),
    ("oauth_token: {$env: ZD_TOKEN}", "needs subdomain or base_url"),
])
def test_partial_credentials_are_refused(tmp_path, settings, message):
    path = tmp_path / "cxhub.yaml"
    path.write_text(f"""
sources:
  support:
    plugin: zendesk
    settings:
      secret: {{$env: ZD_SECRET}}
      {settings}
""")
    result = CliRunner().invoke(main, ["check-config", str(path)], env=ENV)
    assert result.exit_code == 1 and message in result.output, result.output
