"""The runner's log: one line per finished attempt, saying where, how it went and what it created."""

from __future__ import annotations

import logging
import re

import pytest

import plugins.webhook as webhook
from hub.plugin import ActionInfo, ActionResult, ConnectionInfo, PluginInfo, RetryLater, hookimpl
from tests.conftest import APP_SOURCE, WHSEC, detractor, send


class Tickets:
    """A destination that creates a ticket, or fails as told."""

    failure: Exception | None = None

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="tickets", version="1.0", connection=ConnectionInfo(url_setting=None),
                          actions={"open": ActionInfo(None, "open a ticket")})

    @staticmethod
    @hookimpl
    def cxhub_run_action(connection, action, event, delivery) -> ActionResult:
        if Tickets.failure is not None:
            raise Tickets.failure
        return ActionResult(external_id="T-17", url="https://tickets.example.com/T-17")


CONFIG = APP_SOURCE + """
connections:
  desk:
    plugin: tickets
    retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
routes:
  - name: everything
    actions:
      - {connection: desk, action: open}
"""


@pytest.fixture
def hub(make_hub):
    Tickets.failure = None
    return make_hub(CONFIG, plugins=[webhook, Tickets], env={"APP_SECRET": WHSEC})


def delivery_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "cxhub.delivery" and record.getMessage().startswith("delivery ")]


def test_a_successful_delivery_logs_what_it_created(hub, caplog):
    caplog.set_level(logging.INFO, "cxhub.delivery")
    send(hub, detractor(comment="my private complaint"))
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    [line] = delivery_lines(caplog)
    assert re.fullmatch(rf"delivery {delivery.id} to desk\.open \(route everything\): succeeded, no status, "
                        r"\d+ ms; created T-17 https://tickets\.example\.com/T-17", line), line
    assert "my private complaint" not in caplog.text and "ann@example.com" not in caplog.text


def test_each_failed_attempt_logs_its_outcome_status_and_error(hub, caplog):
    caplog.set_level(logging.INFO, "cxhub.delivery")
    Tickets.failure = RetryLater("the desk answered 503", status_code=503)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    lines = delivery_lines(caplog)
    assert [re.sub(r"\d+ ms", "N ms", line) for line in lines] == [
        f"delivery {delivery.id} to desk.open (route everything): retrying in 0.0s, status 503, N ms: "
        "the desk answered 503",
        f"delivery {delivery.id} to desk.open (route everything): dead-lettered after 2 attempts, status 503, "
        "N ms: the desk answered 503",
    ]
    assert [record.levelname for record in caplog.records if record.getMessage() in lines] == ["INFO", "WARNING"]
