"""An `otherwise` delivery links its event to the first event's case in the transaction that stores its result.

Route `detractors` opens a case and the Jira issue; route `followups` (no case of its own) runs
the same create_issue under the same once_per key, so a later message of the customer becomes a
comment on the first issue and must be linked to the detractor's case. The worker is made to
die right after the attempts are stored (a lifecycle hook that raises, the first thing after the
store): the link is there, because it was written with the result.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import orjson
import pluggy
import pytest

from werkzeug import Request, Response

import plugins.jira as jira
import plugins.webhook as webhook
from hub.store import FinishedAttempt, now
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

TOKEN = "jira-api-token-123"
BASIC = "Basic " + base64.b64encode(f"cx-bot@example.com:{TOKEN}".encode()).decode()
CONFIG = APP_SOURCE + """
connections:
  jira:
    plugin: jira
    settings: {base_url: "%s", email: cx-bot@example.com, api_token: {$env: JIRA_TOKEN}}
    retry: {max_attempts: 1, initial_delay: 0, max_delay: 0}
routes:
  - name: detractors
    when: {field: data.text, contains: "export"}
    case: {owner: "cx-team@example.com", sla: {first_response: 24h, close: 72h}}
    actions:
      - connection: jira
        action: create_issue
        params: {project: CX, summary: "{{ data.customer.email }}"}
        once_per: {key: "{{ data.customer.email }}", within: 7d}
        otherwise: {action: add_comment, params: {issue: "{{ first.result.external_id }}", comment: "{{ data.text }}"}}
  - name: followups
    when: {field: data.text, contains: "again"}
    actions:
      - connection: jira
        action: create_issue
        params: {project: CX, summary: "{{ data.customer.email }}"}
        once_per: {key: "{{ data.customer.email }}", within: 7d}
        otherwise: {action: add_comment, params: {issue: "{{ first.result.external_id }}", comment: "{{ data.text }}"}}
"""


class WorkerDies(BaseException):
    """Stands for the process dying: not an Exception, so the hub's own handlers do not catch it."""


class DieAfterStoring:
    """Raises from the first lifecycle hook, which runs right after the attempts are stored."""

    @pluggy.HookimplMarker("cxhub")
    def cxhub_delivery_succeeded(self, delivery, result):
        if delivery["route"] == "followups":
            raise WorkerDies()


@pytest.fixture
def hub(make_hub, httpserver):
    created = orjson.loads(fixture_bytes("jira/create_issue_response_201.json"))
    httpserver.expect_request("/rest/api/3/issue", method="POST", headers={"Authorization": BASIC}).respond_with_data(
        orjson.dumps(created), status=201, content_type="application/json")

    def comment(request: Request) -> Response:
        assert request.headers["Authorization"] == BASIC and orjson.loads(request.data)["body"]["type"] == "doc"
        return Response(orjson.dumps({"id": "10001"}), 201, content_type="application/json")

    httpserver.expect_request(f"/rest/api/3/issue/{created['key']}/comment", method="POST").respond_with_handler(
        comment)
    return make_hub(CONFIG % httpserver.url_for("/").rstrip("/"), plugins=[webhook, jira],
                    env={"APP_SECRET": WHSEC, "JIRA_TOKEN": TOKEN})


def test_a_later_complaint_is_linked_to_the_first_case_even_when_the_worker_dies_after_storing(hub):
    assert send(hub, detractor(1, "The export keeps failing."), "m1").status_code == 202
    hub.drain()
    [case] = hub.store.cases.list()
    assert hub.store.cases.linked_events(case.id) == []
    hub.hub.plugins.pm.register(DieAfterStoring(), name="dies")
    accepted = send(hub, detractor(2, "Failing again today."), "m2").json["accepted"]
    hub.drain()  # the job dies (RQ records it failed) right after the attempt was stored
    [later] = [row for row in hub.store.reads.deliveries() if row.route == "followups"]
    assert later.status == "succeeded" and orjson.loads(later.result)["once"]["ran"] == "otherwise"
    assert [(row.event_id, row.why) for row in hub.store.cases.linked_events(case.id)] == [(accepted[0], "once_per")]
    assert hub.store.cases.of_event(accepted[0]).id == case.id
    assert len(hub.store.cases.list()) == 1  # the follow-up route has no case: of its own



def test_storing_the_attempt_is_what_links_it(hub):
    """The worker's one store call for a finished attempt links the event: nothing after it has to run."""
    assert send(hub, detractor(1, "The export keeps failing."), "m1").status_code == 202
    hub.drain()
    [case] = hub.store.cases.list()
    [first] = hub.store.reads.deliveries()
    later_event = send(hub, detractor(2, "Failing again today."), "m2").json["accepted"][0]
    [later] = [row for row in hub.store.reads.deliveries() if row.route == "followups"]
    [claimed] = hub.store.deliveries.claim([later.id], timedelta(minutes=1))
    done = FinishedAttempt(claimed.id, {"number": 1, "started_at": now(), "duration_ms": 5.0, "status_code": 201,
                                        "error": None, "outcome": "succeeded"}, "succeeded",
                           result={"once": {"ran": "otherwise", "first_event_id": first.event_id}},
                           event_id=later_event, case_of=first.event_id)
    hub.store.deliveries.finish_attempts([done])
    hub.store.deliveries.finish_attempts([done])  # a repeat links once
    assert [(row.event_id, row.why) for row in hub.store.cases.linked_events(case.id)] == [(later_event, "once_per")]
    # an event whose first opened no case links nothing
    stray = FinishedAttempt(claimed.id, done.attempt, "succeeded", event_id=later_event, case_of="no-such-event")
    hub.store.deliveries.finish_attempts([stray])
    assert len(hub.store.cases.linked_events(case.id)) == 1
