"""once_per: one Jira issue per customer per window, later complaints as comments, under concurrency.

Real HTTP in (signed webhooks), real RQ workers, a Jira stand-in checking each request as Jira
Cloud's REST v3 documents it (POST /rest/api/3/issue, POST /rest/api/3/issue/{key}/comment).
"""

from __future__ import annotations

import base64
import threading

import orjson
import pytest
import requests
from sqlalchemy import update
from werkzeug import Request, Response

import plugins.jira as jira
import plugins.webhook as webhook
from hub.config import ConfigError
from hub.delivery.once import key_hash
from hub.store.tables import once_keys
from hub.testing import sign_standard_webhook, wait_for
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes

TOKEN = "jira-api-token-123"
BASIC = "Basic " + base64.b64encode(f"cx-bot@example.com:{TOKEN}".encode()).decode()
CREATED = orjson.loads(fixture_bytes("jira/create_issue_response_201.json"))  # ED-24
CONFIG = APP_SOURCE + """
connections:
  jira:
    plugin: jira
    settings: {base_url: "%s", email: cx-bot@example.com, api_token: {$env: JIRA_TOKEN}}
    retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
routes:
  - name: complaints
    actions:
      - connection: jira
        action: create_issue
        params: {project: CX, summary: "{{ data.customer.email }} is unhappy", description: "{{ data.text }}"}
        once_per: {key: "{{ data.customer.email }}", within: 7d}
        otherwise:
          action: add_comment
          params: {issue: "{{ first.result.external_id }}", comment: "Another complaint: {{ data.text }}"}
"""


class Jira:
    """Create issue and Add comment, as documented; `hold` keeps the create answer back until it is set."""

    def __init__(self) -> None:
        self.created: list[dict] = []
        self.comments: list[dict] = []
        self.hold: threading.Event | None = None
        self.fail_creates = 0

    def create(self, request: Request) -> Response:
        assert request.headers["Authorization"] == BASIC and request.headers["Accept"] == "application/json"
        body = orjson.loads(request.data)
        assert set(body) == {"fields"} and body["fields"]["project"] == {"key": "CX"}
        if self.hold is not None:
            self.hold.wait(20)
        if self.fail_creates:
            self.fail_creates -= 1
            return Response(orjson.dumps({"errorMessages": ["no"], "errors": {"project": "nope"}}), 400,
                            content_type="application/json")
        self.created.append(body)
        key = CREATED["key"] if len(self.created) == 1 else f"ED-{24 + len(self.created) - 1}"
        return Response(orjson.dumps({**CREATED, "key": key}), 201, content_type="application/json")

    def comment(self, request: Request) -> Response:
        assert request.headers["Authorization"] == BASIC
        body = orjson.loads(request.data)
        assert body["body"]["type"] == "doc" and body["properties"][0]["key"] == "cxhub-delivery"
        self.comments.append({"path": request.path, **body})
        return Response(orjson.dumps({"id": str(10000 + len(self.comments))}), 201, content_type="application/json")


@pytest.fixture
def jira_server(httpserver):
    stand_in = Jira()
    httpserver.expect_request("/rest/api/3/issue", method="POST").respond_with_handler(stand_in.create)
    for key in ("ED-24", "ED-25"):
        httpserver.expect_request(f"/rest/api/3/issue/{key}/comment", method="POST").respond_with_handler(
            stand_in.comment)
    return stand_in


def make(make_hub, httpserver):
    return make_hub(CONFIG % httpserver.url_for("/").rstrip("/"), plugins=[webhook, jira],
                    env={"APP_SECRET": WHSEC, "JIRA_TOKEN": TOKEN})


def post(base_url: str, payload: dict, msg_id: str) -> requests.Response:
    body = orjson.dumps(payload)
    return requests.post(f"{base_url}/hooks/app", data=body, timeout=10,
                         headers={"Content-Type": "application/json", **sign_standard_webhook(WHSEC, msg_id, body)})


def comment_text(comment: dict) -> str:
    return comment["body"]["content"][0]["content"][0]["text"]


def test_a_second_complaint_of_the_same_customer_becomes_a_comment_on_the_first_issue(make_hub, httpserver,
                                                                                     jira_server):
    hub = make(make_hub, httpserver)
    base = hub.serve()
    assert post(base, detractor(1, "Export fails"), "m1").status_code == 202
    hub.drain()
    assert post(base, detractor(2, "Still failing"), "m2").status_code == 202
    hub.drain()
    assert len(jira_server.created) == 1
    [comment] = jira_server.comments
    assert comment["path"] == "/rest/api/3/issue/ED-24/comment"
    assert comment_text(comment) == "Another complaint: Still failing"
    first, second = sorted(hub.store.reads.deliveries(), key=lambda row: row.created_at)
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert orjson.loads(first.result)["once"] == {"ran": "first", "action": "create_issue", "holder": first.id}
    ran = orjson.loads(second.result)["once"]
    assert ran["ran"] == "otherwise" and ran["action"] == "add_comment" and ran["holder"] == first.id
    # the key is stored hashed, never as the customer's email
    [row] = hub.store.once.held_by(first.id)
    assert row.key_hash == key_hash("jira.create_issue", "ann@example.com") and "ann" not in row.key_hash


def test_another_customer_gets_an_issue_of_their_own_and_an_empty_key_limits_nothing(make_hub, httpserver,
                                                                                  jira_server):
    hub = make(make_hub, httpserver)
    other = detractor(3)
    other["customer"] = {"email": "bo@example.com", "name": "Bo"}
    anonymous = detractor(4)
    anonymous["customer"] = {}
    for number, payload in enumerate((detractor(1), other, anonymous, {**anonymous, "response": {
            **anonymous["response"], "id": 5}})):
        assert post(hub.serve(), payload, f"m{number}").status_code == 202
    hub.drain()
    assert len(jira_server.created) == 4 and jira_server.comments == []


def test_two_events_in_the_same_second_on_two_hubs_open_one_issue_and_one_comment(make_hub, httpserver,
                                                                                 jira_server):
    """Two web processes with their own workers, one store and one Redis: the events arrive at once,
    and the second delivery is decided while the first is still waiting for Jira's answer."""
    hubs = [make(make_hub, httpserver), make(make_hub, httpserver)]
    bases = [hub.serve() for hub in hubs]
    jira_server.hold = threading.Event()
    for hub in hubs:
        hub.start_workers(2)
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def send(index: int) -> None:
        barrier.wait()
        answers.append(post(bases[index], detractor(10 + index, f"complaint {index}"), f"c{index}").status_code)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202, 202]
    store = hubs[0].store
    # the delivery that does not hold the key has been claimed and given back to wait (released: next_attempt_at)
    wait_for(lambda: any(row.status == "queued" and row.next_attempt_at is not None
                         for row in store.reads.deliveries()), timeout=20)
    assert jira_server.created == []  # the first is still waiting for Jira
    jira_server.hold.set()
    wait_for(lambda: [row.status for row in store.reads.deliveries()] == ["succeeded"] * 2, timeout=30)
    assert len(jira_server.created) == 1
    [comment] = jira_server.comments
    assert comment["path"] == "/rest/api/3/issue/ED-24/comment"
    assert comment_text(comment).startswith("Another complaint: complaint ")


def test_many_workers_racing_for_one_key_find_one_holder(make_hub, httpserver):
    hub = make(make_hub, httpserver)
    from datetime import timedelta

    from hub.store import now
    opened = now()
    holders: list[str] = []
    barrier = threading.Barrier(8)

    def claim(index: int) -> None:
        barrier.wait()
        row = hub.store.once.claim("jira.create_issue", "a" * 64, f"delivery-{index}", f"event-{index}", opened,
                                   opened + timedelta(days=7))
        holders.append(row.delivery_id)

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(holders) == 8 and len(set(holders)) == 1


def test_when_the_first_dead_letters_the_next_complaint_opens_the_issue_itself(make_hub, httpserver, jira_server):
    hub = make(make_hub, httpserver)
    base = hub.serve()
    jira_server.fail_creates = 1  # a 400: the first delivery is dead-lettered at once
    assert post(base, detractor(1), "m1").status_code == 202
    hub.drain()
    assert [row.status for row in hub.store.reads.deliveries()] == ["dead"]
    assert post(base, detractor(2), "m2").status_code == 202
    hub.drain()
    second = next(row for row in hub.store.reads.deliveries() if row.status == "succeeded")
    assert orjson.loads(second.result)["once"]["ran"] == "first" and len(jira_server.created) == 1
    assert jira_server.comments == []


def test_after_the_window_a_complaint_opens_a_new_issue(make_hub, httpserver, jira_server):
    hub = make(make_hub, httpserver)
    base = hub.serve()
    assert post(base, detractor(1), "m1").status_code == 202
    hub.drain()
    from hub.store import now
    with hub.store.database.connect(write=True) as db:  # the week has passed
        db.execute(update(once_keys).values(expires_at=now()))
    assert post(base, detractor(2), "m2").status_code == 202
    hub.drain()
    assert len(jira_server.created) == 2 and jira_server.comments == []


@pytest.mark.parametrize("action, expected", [
    ("""        once_per: {key: "{{ data.customer.email }}", within: 7d}
        otherwise: {action: add_coment, params: {issue: CX-1, comment: x}}
""", "cxhub.yaml:22: routes[0].actions[0].otherwise.action: connection 'jira' (jira) has no action 'add_coment' "
     "(known: add_comment, create_issue, transition_issue)"),
    ("""        once_per: {key: "{{ data.customer.email }}", within: 7 days}
""", "cxhub.yaml:21: routes[0].actions[0].once_per.within: '7 days' is not a duration; write it like 30s, 15m, 1h or 1d"),
    ("""        once_per: {key: "{{ data.customer.email }}", within: 30s}
""", "cxhub.yaml:21: routes[0].actions[0].once_per.within: within is between 1m and 366d"),
    ("""        otherwise: {action: add_comment, params: {issue: CX-1, comment: x}}
""", "cxhub.yaml:21: routes[0].actions[0].otherwise: otherwise applies only to an action with once_per"),
    ("""        once_per: {key: "{{ data.customer.email }}", within: 7d}
        otherwise: {action: add_comment, params: {issue: CX-1}}
""", "cxhub.yaml:22: routes[0].actions[0].otherwise.params.comment: missing required parameter"),
])
def test_check_config_reports_a_bad_once_per_or_otherwise_with_its_line(make_hub, httpserver, action, expected):
    config = APP_SOURCE + """
connections:
  jira:
    plugin: jira
    settings: {base_url: "http://127.0.0.1:1", email: cx-bot@example.com, api_token: {$env: JIRA_TOKEN}}
routes:
  - name: complaints
    actions:
      - connection: jira
        action: create_issue
        params: {project: CX, summary: s}
""" + action
    with pytest.raises(ConfigError) as raised:
        make_hub(config, plugins=[webhook, jira], env={"APP_SECRET": WHSEC, "JIRA_TOKEN": TOKEN})
    assert expected in str(raised.value)
