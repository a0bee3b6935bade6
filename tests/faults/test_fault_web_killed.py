"""The web process killed right after answering 202: the event is already durable, a worker delivers it."""

from __future__ import annotations

import socket

import orjson
import pytest
import requests

import plugins.webhook as webhook
from hub.testing import sign_standard_webhook, wait_for
from tests.conftest import WHSEC, detractor, forward_everything
from tests.faults.conftest import kill

pytestmark = pytest.mark.faults


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_web_killed_after_202(make_hub, httpserver, start_process):
    httpserver.expect_request("/receiver").respond_with_data("", status=204)
    hub = make_hub(forward_everything(httpserver.url_for("/receiver")), plugins=[webhook], env={"APP_SECRET": WHSEC})
    config, port = hub.app.config["CXHUB_CONFIG"], free_port()
    web = start_process("serve", "--config", config, "--port", str(port), env={"APP_SECRET": WHSEC})
    wait_for(lambda: _listening(port), timeout=20)

    body = orjson.dumps(detractor())
    answer = requests.post(f"http://127.0.0.1:{port}/hooks/app", data=body, timeout=10,
                           headers={**sign_standard_webhook(WHSEC, "msg_1", body), "Content-Type": "application/json"})
    assert answer.status_code == 202
    kill(web)  # no worker ran yet, and the web process is gone

    [event_id] = answer.json()["accepted"]
    assert hub.store.reads.event(event_id) is not None
    start_process("worker", "--config", config, env={"APP_SECRET": WHSEC})
    wait_for(lambda: [d.status for d in hub.store.reads.deliveries()] == ["succeeded"], timeout=30, interval=0.2)
    assert len(httpserver.log) == 1


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
