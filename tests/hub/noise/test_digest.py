"""Digests end to end: detractors over real HTTP, collected in the store, one Slack post (or email) per window.

Time is moved by giving the flush a moment (`run_noise_pass(hub, moment)`), never by sleeping.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import orjson
import pytest
from jinja2 import Environment
from sqlalchemy import update

import plugins.email as email_plugin
import plugins.slack as slack
import plugins.teams as teams
import plugins.webhook as webhook
from hub.noise.digest import flush_due_digests
from hub.noise.schedule import run_noise_pass
from hub.operations import redeliver
from hub.store.tables import deliveries
from tests.conftest import APP_SOURCE, WHSEC
from tests.hub.noise.conftest import SLACK, SLACK_PATH, detractor, later, post
from tests.plugins.email.conftest import ca, smtp_server  # noqa: F401 - the real SMTP server's fixtures

ROUTE = """
routes:
  - name: detractors
    when: {field: data.score.band, equals: negative}
    actions:
      - connection: slack
        action: post_message
        digest: {every: 1h, max_items: %d}
        params:
          channel: "#cx"
          text: "{{ digest.count }} detractors this hour:\\n{%% for e in digest.events %%}• {{ e.data.customer.email }}: {{ e.data.text | truncate(20) }}\\n{%% endfor %%}{%% if digest.more %%}…and {{ digest.more }} more{%% endif %%}"
"""


def line(number: int) -> str:
    """One event's line as the template writes it (Jinja's own `truncate` cuts the comment at a word)."""
    text = Environment().from_string("{{ text | truncate(20) }}").render(text=f"Problem number {number} with the export.")
    return f"• customer{number}@example.com: {text}\n"


@pytest.fixture
def slack_hub(make_hub, httpserver):
    def build(max_items: int = 50):
        return make_hub(APP_SOURCE + SLACK + ROUTE % max_items, plugins=[webhook, slack],
                        env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    return build


def expect_post(httpserver, text: str, *, status: int = 200) -> None:
    """The incoming webhook, as Slack documents it: a JSON body with the fallback text and the blocks."""
    httpserver.expect_ordered_request(SLACK_PATH, method="POST", headers={"Content-Type": "application/json"}, json={
        "text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}).respond_with_data(
        "ok" if status == 200 else "rollup_error", status=status)


def send_detractors(hub, count: int) -> str:
    base = hub.serve()
    for number in range(1, count + 1):
        assert post(base, detractor(number), f"msg_{number}").status_code == 202
    return base


def test_seven_detractors_make_one_slack_message_after_the_window(slack_hub, httpserver):
    hub = slack_hub()
    send_detractors(hub, 7)
    hub.drain()
    collected = hub.store.reads.deliveries(status="collecting", limit=100)
    assert len(collected) == 7 and not httpserver.log  # nothing sent while the window is open
    assert run_noise_pass(hub.hub, later(minutes=59)).digests == 0  # not closed yet

    expected = "7 detractors this hour:\n" + "".join(line(number) for number in range(1, 8))
    expect_post(httpserver, expected)
    assert run_noise_pass(hub.hub, later(hours=1, seconds=1)).digests == 1
    hub.drain()
    httpserver.check_assertions()
    assert len(httpserver.log) == 1

    [digest] = [row for row in hub.store.reads.deliveries(limit=100) if row.is_digest]
    assert digest.status == "succeeded" and digest.attempts == 1
    members = hub.store.reads.deliveries(status="digested", limit=100)
    assert {row.digest_id for row in members} == {digest.id} and len(members) == 7
    # the window is over and empty: later passes send nothing
    assert run_noise_pass(hub.hub, later(hours=5)).digests == 0
    hub.drain()
    assert len(httpserver.log) == 1


def test_max_items_are_listed_and_the_rest_counted(slack_hub, httpserver):
    hub = slack_hub(max_items=3)
    send_detractors(hub, 7)
    expect_post(httpserver, "7 detractors this hour:\n" + "".join(line(n) for n in range(1, 4)) + "…and 4 more")
    run_noise_pass(hub.hub, later(hours=2))
    hub.drain()
    httpserver.check_assertions()


def test_events_after_the_digest_open_the_next_window(slack_hub, httpserver):
    hub = slack_hub()
    base = send_detractors(hub, 2)
    expect_post(httpserver, "2 detractors this hour:\n" + line(1) + line(2))
    run_noise_pass(hub.hub, later(hours=1, seconds=1))
    hub.drain()
    assert post(base, detractor(3), "msg_3").status_code == 202
    assert run_noise_pass(hub.hub, later(minutes=30)).digests == 0  # the window it opened is still open
    expect_post(httpserver, "1 detractors this hour:\n" + line(3))
    assert run_noise_pass(hub.hub, later(hours=1, seconds=5)).digests == 1
    hub.drain()
    httpserver.check_assertions()
    assert len(httpserver.log) == 2


def test_a_failed_digest_is_retried_then_dead_lettered_and_redelivered_whole(slack_hub, httpserver):
    hub = slack_hub()
    send_detractors(hub, 2)
    text = "2 detractors this hour:\n" + line(1) + line(2)
    for _ in range(3):  # max_attempts: 3, all refused
        expect_post(httpserver, text, status=500)
    run_noise_pass(hub.hub, later(hours=2))
    hub.drain()
    [digest] = [row for row in hub.store.reads.deliveries(limit=100) if row.is_digest]
    assert digest.status == "dead" and digest.attempts == 3
    expect_post(httpserver, text)
    assert redeliver(hub.hub, [digest.id]) == [digest.id]
    hub.drain()
    httpserver.check_assertions()
    assert hub.store.reads.delivery(digest.id).status == "succeeded"


def test_two_workers_flushing_at_once_make_one_digest(slack_hub, make_hub, httpserver):
    """Two hubs on one Redis and one database, as two worker processes are: both flush the same window at once."""
    first = slack_hub()
    second = make_hub(APP_SOURCE + SLACK + ROUTE % 50, plugins=[webhook, slack],
                      env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    send_detractors(first, 7)
    moment, start = later(hours=2), threading.Barrier(2)
    made: list[list] = [[], []]

    def flush(index: int, hub) -> None:
        start.wait()
        made[index] = flush_due_digests(hub.hub, moment)  # no lock: the store alone must keep it to one

    threads = [threading.Thread(target=flush, args=(index, hub)) for index, hub in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(len(found) for found in made) == [0, 1]
    expect_post(httpserver, "7 detractors this hour:\n" + "".join(line(number) for number in range(1, 8)))
    first.drain()
    second.drain()
    httpserver.check_assertions()
    assert len(httpserver.log) == 1


def test_a_digest_by_email(make_hub, smtp_server):  # noqa: F811 - the imported fixture
    server = smtp_server(security="none")
    config = APP_SOURCE + f"""
connections:
  mail:
    plugin: email
    settings: {{host: 127.0.0.1, port: {server.port}, security: none, from: "CX <cx@example.com>", timeout: 5}}
routes:
  - name: daily
    actions:
      - connection: mail
        action: send
        digest: {{at: "09:00"}}
        params:
          to: "CX Team <cx-team@example.com>"
          subject: "{{{{ digest.count }}}} detractors since yesterday"
          text: "{{% for e in digest.events %}}{{{{ e.data.customer.name }}}}: {{{{ e.data.text }}}}\\n{{% endfor %}}"
          html: "<ul>{{% for e in digest.events %}}<li>{{{{ e.data.text }}}}</li>{{% endfor %}}</ul>"
"""
    hub = make_hub(config, plugins=[webhook, email_plugin], env={"APP_SECRET": WHSEC})
    send_detractors(hub, 2)
    assert post(hub.serve(), detractor(3, "<script>alert(1)</script>"), "msg_3").status_code == 202
    run_noise_pass(hub.hub, later(days=1, seconds=1))  # the next 09:00 (UTC) has passed, whenever the test runs
    hub.drain()
    [message] = server.recorder.messages()
    assert message["Subject"] == "3 detractors since yesterday"
    assert message.get_body(("plain",)).get_content() == (
        "Customer 1: Problem number 1 with the export.\nCustomer 2: Problem number 2 with the export.\n"
        "Customer 3: <script>alert(1)</script>\n")
    html = message.get_body(("html",)).get_content()
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>" in html and "<script>" not in html


def test_retention_keeps_collected_events_until_their_digest_is_done(slack_hub, httpserver):
    hub = slack_hub()
    send_detractors(hub, 2)
    assert hub.store.retention.prune(later(days=400))["events"] == 0  # collecting: waiting for their digest
    httpserver.expect_request(SLACK_PATH, method="POST").respond_with_data("rollup_error", status=500)
    run_noise_pass(hub.hub, later(hours=2))
    # the digest is made; until it is finished its events stay
    assert hub.store.retention.prune(later(days=400))["events"] == 0
    hub.drain()  # three attempts, all refused: dead, so finished
    counts = hub.store.retention.prune(later(days=400))
    assert counts["events"] == 2 and counts["deliveries"] == 3


def test_a_shadow_digest_records_what_a_digest_of_each_event_would_say(make_hub, httpserver):
    route = ROUTE.replace("  - name: detractors\n", "  - name: detractors\n    shadow: true\n") % 50
    hub = make_hub(APP_SOURCE + SLACK + route, plugins=[webhook, slack],
                   env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    send_detractors(hub, 1)
    [shadow] = hub.store.reads.deliveries()
    assert shadow.status == "shadow" and shadow.last_error is None
    assert orjson.loads(shadow.result)["params"]["text"] == "1 detractors this hour:\n" + line(1)
    assert run_noise_pass(hub.hub, later(hours=2)).digests == 0 and not httpserver.log


def test_a_teams_digest_is_one_adaptive_card(make_hub, httpserver):
    path, query = "/powerautomate/automations/direct/workflows/0a1b2c/triggers/manual/paths/invoke", \
        "api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3tS1gnature"
    config = APP_SOURCE + """
connections:
  teams:
    plugin: teams
    settings: {webhook_url: {$env: TEAMS_WEBHOOK_URL}}
    timezone: Europe/Paris
routes:
  - name: detractors
    actions:
      - connection: teams
        action: post_card
        digest: {every: 15m}
        params:
          title: "{{ digest.count }} detractors"
          text: "{% for e in digest.events %}{{ e.data.customer.name }}; {% endfor %}"
          facts: [{name: Since, value: "{{ digest.window.start[:10] }}"}]
"""
    hub = make_hub(config, plugins=[webhook, teams], env={"APP_SECRET": WHSEC,
                                                           "TEAMS_WEBHOOK_URL": httpserver.url_for(path) + "?" + query})
    send_detractors(hub, 3)
    today = min(row.created_at for row in hub.store.reads.deliveries(status="collecting")).date().isoformat()
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
            "body": [{"type": "TextBlock", "text": "3 detractors", "weight": "Bolder", "size": "Medium", "wrap": True},
                     {"type": "TextBlock", "text": "Customer 1; Customer 2; Customer 3; ", "wrap": True},
                     {"type": "FactSet", "facts": [{"title": "Since", "value": today}]}]}
    httpserver.expect_oneshot_request(path, method="POST", query_string=query, json={
        "type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                            "contentUrl": None, "content": card}]}).respond_with_data("", status=202)
    run_noise_pass(hub.hub, later(minutes=16))
    hub.drain()
    httpserver.check_assertions()


def test_an_event_stamped_before_a_digest_but_stored_after_it_waits_for_the_next_window(slack_hub, httpserver):
    """The race of a slow take-in with a flush: its event missed the digest, and is not sent alone at once."""
    hub = slack_hub()
    base = send_detractors(hub, 1)
    httpserver.expect_request(SLACK_PATH, method="POST").respond_with_data("ok")
    run_noise_pass(hub.hub, later(hours=2))
    [made] = hub.store.reads.deliveries(status="digested")
    assert post(base, detractor(2), "msg_2").status_code == 202
    [late] = hub.store.reads.deliveries(status="collecting")
    with hub.store.database.connect(write=True) as db:  # as if stamped a second before the digest was made
        db.execute(update(deliveries).where(deliveries.c.id == late.id)
                   .values(created_at=made.updated_at - timedelta(seconds=1)))
    assert run_noise_pass(hub.hub, made.updated_at + timedelta(minutes=10)).digests == 0
    assert run_noise_pass(hub.hub, made.updated_at + timedelta(hours=1, seconds=1)).digests == 1
