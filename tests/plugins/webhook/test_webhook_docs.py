"""docs/webhook.md and the README's signing example, run for real: the documented config and payload
give the documented event, and the shell snippet's request is accepted by a hub served over HTTP."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import orjson

import plugins.webhook as webhook
from hub.plugin import sign_standard_webhook
from tests.conftest import OTHER_WHSEC, WHSEC

ROOT = Path(__file__).parents[3]


def block(document: str, marker: str) -> str:
    """The fenced code block that follows `<!-- test: marker -->` in a Markdown file."""
    text = (ROOT / document).read_text("utf-8")
    found = re.search(rf"<!-- test: {re.escape(marker)} -->\n```\w*\n(.*?)```", text, re.S)
    assert found, f"{document} has no block marked {marker!r}"
    return found.group(1)


SOURCE_CONFIG = block("docs/webhook.md", "source config")


def test_the_documented_payload_becomes_the_documented_event(make_hub):
    hub = make_hub(SOURCE_CONFIG, plugins=[webhook], env={"APP_SECRET": WHSEC})
    body = block("docs/webhook.md", "payload").encode()
    response = hub.post("app", body, sign_standard_webhook(WHSEC, "msg_doc", body))
    assert response.status_code == 202, response.json
    [event_id] = response.json["accepted"]
    assert orjson.loads(hub.store.reads.event(event_id).body) == orjson.loads(block("docs/webhook.md", "event"))


def run_snippet(url: str) -> str:
    snippet = block("README.md", "standard webhooks curl")
    assert "http://127.0.0.1:8080/hooks/app" in snippet and f"secret={WHSEC}\n" in snippet
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", snippet.replace("http://127.0.0.1:8080", url)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_signing_example_is_accepted(make_hub):
    hub = make_hub(SOURCE_CONFIG, plugins=[webhook], env={"APP_SECRET": WHSEC})
    output = run_snippet(hub.serve())
    assert output.startswith("HTTP/1.1 202"), output
    [event] = hub.store.reads.events()
    assert (event.vendor_event_id, event.score_band) == ("dlv_1", "negative")


def test_the_readme_signing_example_is_refused_under_another_secret(make_hub):
    hub = make_hub(SOURCE_CONFIG, plugins=[webhook], env={"APP_SECRET": OTHER_WHSEC})
    output = run_snippet(hub.serve())
    assert output.startswith("HTTP/1.1 401"), output
    assert hub.store.reads.events() == []
