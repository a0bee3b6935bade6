"""examples/cxhub-acme, a plugin distribution of its own, found by cxhub through its entry point alone."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.conftest import WHSEC, pip_install, run

EXAMPLE = Path(__file__).parents[1] / "examples" / "cxhub-acme"

# Runs inside the venv: builds a hub with entry-point discovery only (no plugin passed in), sends an
# event through the built-in webhook source and drains the queue; the acme action must reach the stand-in.
SCRIPT = textwrap.dedent("""
    import sys, orjson
    from pathlib import Path
    from hub.testing import build_test_hub, sign_standard_webhook
    directory, redis_url, database_url, api_url, whsec = sys.argv[1:]
    config = '''
    sources:
      app:
        plugin: webhook
        settings:
          secret: {$env: WHSEC}
          mapping: {object_id: id, score: stars, text: text, customer_email: email}
          score_scale: {type: rating, min: 1, max: 5}
    connections:
      acme:
        plugin: acme
        settings: {base_url: "%s", token: {$env: ACME_TOKEN}}
    routes:
      - name: unhappy
        when: {field: data.score.band, equals: negative}
        actions:
          - {connection: acme, action: add_note, params: {body: "{{ data.customer.email }}: {{ data.text }}"}}
    ''' % api_url
    hub = build_test_hub(config, Path(directory), redis_url=redis_url, database_url=database_url,
                         discover=True, env={"WHSEC": whsec, "ACME_TOKEN": "acme-token"})
    body = orjson.dumps({"id": 7, "stars": 1, "text": "Never again.", "email": "bo@example.com"})
    assert hub.post("app", body, sign_standard_webhook(whsec, "msg_1", body)).status_code == 202
    hub.drain()
    print([(d.connection, d.action, d.status) for d in hub.store.reads.deliveries()])
    hub.close()
""")


def test_example_plugin_is_listed_and_used_by_a_route(plugin_venv, tmp_path, httpserver, cxhub_redis_url,
                                                    cxhub_database_url):
    pip_install(plugin_venv, EXAMPLE)
    listed = run([plugin_venv, "-m", "hub.cli", "plugins"])
    assert any(line.split() == ["acme", "0.1.0", "yes", "add_note", "-"] for line in listed.stdout.splitlines())
    checked = run([plugin_venv, "-m", "hub.cli", "plugins", "--check"])
    assert "acme" in checked.stdout

    httpserver.expect_request("/v1/notes", method="POST", headers={"Authorization": "Bearer acme-token"},
                              json={"body": "bo@example.com: Never again."}).respond_with_json({"id": 99})
    used = run([plugin_venv, "-c", SCRIPT, tmp_path, cxhub_redis_url, cxhub_database_url, httpserver.url_for("/"),
                WHSEC])
    assert used.stdout.strip() == "[('acme', 'add_note', 'succeeded')]"
    assert len(httpserver.log) == 1
