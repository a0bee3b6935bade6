"""`sources.<name>.token`: every request must carry `?token=`, and the token is never kept or shown."""

from __future__ import annotations

import logging

import orjson
import pytest
import requests

import plugins.webhook as webhook
from hub.config import ConfigError, parse_config
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.testing import sign_standard_webhook
from tests.conftest import WHSEC

TOKEN = "src-token-4f9c2a7e1b"
CONFIG = """
hub: {accept_into: ACCEPT_INTO}
sources:
  app:
    plugin: webhook
    token: {$env: APP_TOKEN}
    settings:
      secret: {$env: APP_SECRET}
      mapping: {object_id: response.id, customer_email: customer.email}
"""
ENV = {"APP_SECRET": WHSEC, "APP_TOKEN": TOKEN}
GOOD = orjson.dumps({"response": {"id": 7}, "customer": {"email": "ann@example.com"}})
UNMAPPABLE = orjson.dumps({"something": "else"})  # signed, but without response.id: 422 and quarantined


@pytest.fixture
def hub(make_hub):
    return make_hub(CONFIG.replace("ACCEPT_INTO", "database"), plugins=[webhook], env=ENV)


def post(hub, query: str, body: bytes = GOOD, method: str = "POST"):
    return hub.client.open(f"/hooks/app{query}", method=method, data=body, content_type="application/json",
                           headers=sign_standard_webhook(WHSEC, "msg_1", body))


def nothing_stored(hub) -> bool:
    return not (hub.store.reads.events() or hub.store.quarantine.requests(status=None) or hub.hub.queue.count())


def test_the_right_token_is_accepted(hub):
    response = post(hub, f"?token={TOKEN}")
    assert response.status_code == 202 and len(response.json["accepted"]) == 1


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", f"?token={TOKEN}x", f"?token={TOKEN[:-1]}",
                                   f"?TOKEN={TOKEN}", f"?token=wrong&token={TOKEN}", f"?token={TOKEN}&token={TOKEN}"])
def test_a_missing_or_wrong_token_gets_401_and_changes_nothing(hub, query):
    response = post(hub, query)
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "invalid_token"
    assert "?token=" in response.json["error"]["message"]
    assert TOKEN not in response.get_data(as_text=True)
    assert nothing_stored(hub)


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT"])
def test_handshake_methods_need_the_token_too(hub, method):
    refused = post(hub, "", body=b"", method=method)
    assert refused.status_code == 401
    assert post(hub, f"?token={TOKEN}", body=b"", method=method).status_code != 401  # reaches the plugin


def test_the_token_is_not_kept_in_quarantine_nor_shown_by_the_admin_api(hub):
    hub.app.config["CXHUB_ADMIN_TOKEN"] = "admin-token-for-tests"
    response = post(hub, f"?token={TOKEN}&survey=nps", body=UNMAPPABLE)
    assert response.status_code == 422
    [kept] = hub.store.quarantine.requests()
    assert orjson.loads(kept.query) == {"survey": "nps"}  # other parameters stay, for replay
    assert TOKEN not in repr(kept)
    listed = hub.client.get("/admin/quarantine", headers={"Authorization": "Bearer admin-token-for-tests"})
    assert listed.status_code == 200 and listed.json["requests"]
    assert TOKEN not in listed.get_data(as_text=True)


def test_the_token_is_not_kept_in_the_intake_log(make_hub):
    hub = make_hub(CONFIG.replace("ACCEPT_INTO", "redis"), plugins=[webhook], env=ENV)
    assert post(hub, f"?token={TOKEN}&survey=nps").status_code == 202
    [(_, fields)] = hub.hub.redis.xrange(hub.hub.intake.key)
    assert b"survey" in fields[b"request"]
    assert TOKEN.encode() not in b"".join(fields.values())


def test_the_token_is_masked_in_the_access_log(hub, caplog):
    base = hub.serve()
    with caplog.at_level(logging.INFO):
        answer = requests.post(f"{base}/hooks/app?token={TOKEN}", data=GOOD, timeout=10,
                               headers={"Content-Type": "application/json",
                                        **sign_standard_webhook(WHSEC, "msg_1", GOOD)})
        hub.close()  # the server thread has written its access line once it stops
    assert answer.status_code == 202
    assert "/hooks/app?token=" in caplog.text  # the access line was written, with the token masked
    assert TOKEN not in caplog.text


# --- check-config ---------------------------------------------------------------

@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([webhook], discover=False))


@pytest.mark.parametrize(("token", "env", "expected"), [
    ("inline-token-value", ENV, "cxhub.yaml:6: sources.app.token: secrets must come from the environment"),
    ("{$env: APP_TOKEN}", {"APP_SECRET": WHSEC}, "cxhub.yaml:6: sources.app.token: environment variable APP_TOKEN "
                                                 "is not set"),
    ("{$env: APP_TOKEN}", {**ENV, "APP_TOKEN": ""}, "cxhub.yaml:6: sources.app.token: environment variable "
                                                    "APP_TOKEN is empty"),
])
def test_check_config_reports_an_inline_or_missing_token(host, token, env, expected):
    text = CONFIG.replace("ACCEPT_INTO", "database").replace("{$env: APP_TOKEN}", token)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cxhub.yaml", host, env)
    messages = [str(problem) for problem in caught.value.problems]
    assert any(message.startswith(expected) for message in messages), messages
    assert not any("inline-token-value" in message for message in messages)


def test_requests_without_the_token_use_up_none_of_the_rate(make_hub):
    config = CONFIG.replace("ACCEPT_INTO", "database").replace("    token:", "    rate_limit: 1/minute\n    token:")
    hub = make_hub(config, plugins=[webhook], env=ENV)
    assert [post(hub, "?token=guess").status_code for _ in range(3)] == [401, 401, 401]
    assert post(hub, f"?token={TOKEN}").status_code == 202
    assert post(hub, f"?token={TOKEN}").status_code == 429  # the limit itself still holds
