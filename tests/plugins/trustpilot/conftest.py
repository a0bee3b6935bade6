"""A hub with a Trustpilot source whose events are forwarded to a local receiver, to count routings."""

from __future__ import annotations

import pytest

import plugins.trustpilot as trustpilot
import plugins.webhook as webhook
from tests.conftest import WHSEC

BUSINESS_UNIT = "46d6a890ffa235a75b00021d"
API_KEY = "tp-api-key"
ACCESS_TOKEN = "tp-access-token"
SOURCE_TOKEN = "tp-source-token-5c1a9e"  # Trustpilot signs nothing: the URL it calls carries this
HOOK = f"trustpilot?token={SOURCE_TOKEN}"


def trustpilot_config(receiver: str, api_url: str, *, private: bool = True, every: str = "15m") -> str:
    token = "\n      access_token: {$env: TP_ACCESS_TOKEN}" if private else ""
    return f"""
sources:
  trustpilot:
    plugin: trustpilot
    token: {{$env: TP_SOURCE_TOKEN}}
    poll: {{every: {every}}}
    settings:
      business_unit_id: "{BUSINESS_UNIT}"
      api_key: {{$env: TP_API_KEY}}{token}
      api_url: "{api_url}"
connections:
  out:
    plugin: webhook
    settings: {{url: "{receiver}", secret: {{$env: APP_SECRET}}}}
    retry: {{max_attempts: 1, initial_delay: 0, max_delay: 0}}
routes:
  - name: everything
    actions:
      - {{connection: out, action: forward}}
"""


ENV = {"TP_API_KEY": API_KEY, "TP_ACCESS_TOKEN": ACCESS_TOKEN, "TP_SOURCE_TOKEN": SOURCE_TOKEN, "APP_SECRET": WHSEC}


@pytest.fixture
def tp_hub(make_hub, httpserver):
    """A hub polling `httpserver` as Trustpilot's API and forwarding every event to its /receiver."""
    httpserver.expect_request("/receiver", method="POST").respond_with_data("ok")
    return make_hub(trustpilot_config(httpserver.url_for("/receiver"), httpserver.url_for("/")),
                    plugins=[trustpilot, webhook], env=ENV)


def routed(httpserver) -> list[str]:
    """The event ids the receiver got, in order (one per delivery)."""
    import orjson

    return [orjson.loads(request.data)["id"] for request, _ in httpserver.log if request.path == "/receiver"]
