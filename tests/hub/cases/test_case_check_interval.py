"""`hub.case_check_seconds`: how often one worker checks the cases; check-config bounds it."""

from __future__ import annotations

import threading

import pytest

import plugins.webhook as webhook
from hub.config import ConfigError
from hub.sla import run_case_checks_periodically
from hub.testing import wait_for
from tests.conftest import APP_SOURCE, WHSEC

ROUTES = APP_SOURCE + """
connections:
  alerts:
    plugin: webhook
    settings: {url: "http://127.0.0.1:1/alerts", secret: {$env: APP_SECRET}}
routes:
  - name: detractors
    case: {sla: {first_response: 24h}}
    actions:
      - {connection: alerts, action: forward}
"""


def test_the_check_takes_its_turn_for_the_configured_interval(make_hub):
    hub = make_hub("hub: {case_check_seconds: 900}\n" + ROUTES, plugins=[webhook], env={"APP_SECRET": WHSEC})
    assert hub.hub.config.hub.case_check_seconds == 900
    key = f"cxhub:{hub.hub.config.hub.queue}:cases:due"
    stopping = threading.Event()
    thread = run_case_checks_periodically(hub.hub, stopping)
    try:
        assert thread is not None
        wait_for(lambda: hub.hub.redis.exists(key))
        assert 30 < hub.hub.redis.ttl(key) <= 900  # the turn lasts the setting, not the old fixed 30 s
    finally:
        stopping.set()
        thread.join(10)


def test_the_default_is_30_seconds(make_hub):
    hub = make_hub(ROUTES, plugins=[webhook], env={"APP_SECRET": WHSEC})
    assert hub.hub.config.hub.case_check_seconds == 30


@pytest.mark.parametrize("value, expected", [
    ("0", "cxhub.yaml:2: hub.case_check_seconds: Must be greater than or equal to 1 and less than or equal to 3600."),
    ("86400", "hub.case_check_seconds: Must be greater than or equal to 1"),
    ("soon", "hub.case_check_seconds: Not a valid integer."),
])
def test_check_config_rejects_a_bad_interval(make_hub, value, expected):
    with pytest.raises(ConfigError) as raised:
        make_hub(f"hub:\n  case_check_seconds: {value}\n" + ROUTES, plugins=[webhook], env={"APP_SECRET": WHSEC})
    assert expected in str(raised.value)
