"""jira.assign_issue against a local Jira stand-in: the user search by email, then Assign issue, as documented."""

from __future__ import annotations

import copy

import orjson
import pytest

import plugins.jira as jira
import plugins.webhook as webhook
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send
from tests.plugins.jira.test_jira_actions import BASIC, CONNECTION, TOKEN, only_delivery, requests_to

USERS = orjson.loads(fixture_bytes("jira/user_search_response.json"))  # documented: Mia Krystof, Emma Richards
MIA, EMMA = USERS[0]["accountId"], USERS[1]["accountId"]
ASSIGNEE = "/rest/api/3/issue/CX-42/assignee"
SEARCH = "/rest/api/3/user/search"
ROUTE = """
routes:
  - name: assign
    actions:
      - connection: jira
        action: assign_issue
        params: {issue: CX-42, %s}
"""


def make(make_hub, httpserver, params: str):
    config = APP_SOURCE + CONNECTION % httpserver.url_for("/").rstrip("/") + ROUTE % params
    return make_hub(config, plugins=[webhook, jira], env={"APP_SECRET": WHSEC, "JIRA_TOKEN": TOKEN})


def search_answers(httpserver, users: list[dict], email: str = "mia@example.com") -> None:
    httpserver.expect_request(SEARCH, method="GET", query_string={"query": email, "maxResults": "50"},
                              headers={"Authorization": BASIC, "Accept": "application/json"}).respond_with_json(users)


def accept_assignment(httpserver) -> None:
    httpserver.expect_request(ASSIGNEE, method="PUT", headers={"Authorization": BASIC, "Accept": "application/json"}) \
        .respond_with_data("", status=204)


def users(*visible: tuple[int, str | None, bool]) -> list[dict]:
    """The documented users, with the `emailAddress` and `active` each test needs."""
    found = []
    for index, email, active in visible:
        user = {**copy.deepcopy(USERS[index]), "active": active}
        if email:
            user["emailAddress"] = email
        found.append(user)
    return found


def test_assign_by_email_searches_the_user_and_puts_its_account_id(make_hub, httpserver):
    hub = make(make_hub, httpserver, "email: mia@example.com")
    search_answers(httpserver, users((1, "emma@example.com", True), (0, "Mia@Example.com", True)))
    accept_assignment(httpserver)
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "succeeded", delivery.last_error
    [put] = requests_to(httpserver, ASSIGNEE, "PUT")
    assert put.headers["Content-Type"] == "application/json" and put.get_json() == {"accountId": MIA}
    assert orjson.loads(delivery.result) == {"external_id": "CX-42", "url": httpserver.url_for("/browse/CX-42"),
                                             "detail": {"account_id": MIA, "display_name": "Mia Krystof"}}


def test_an_email_hidden_by_privacy_settings_is_the_only_active_match(make_hub, httpserver):
    hub = make(make_hub, httpserver, "email: mia@example.com")
    search_answers(httpserver, users((0, None, True), (1, None, False)))
    accept_assignment(httpserver)
    send(hub, detractor())
    hub.drain()
    assert only_delivery(hub).status == "succeeded"
    assert [r.get_json() for r in requests_to(httpserver, ASSIGNEE, "PUT")] == [{"accountId": MIA}]


def test_assign_by_account_id_asks_no_search(make_hub, httpserver):
    hub = make(make_hub, httpserver, f"account_id: {EMMA}")
    accept_assignment(httpserver)
    send(hub, detractor())
    hub.drain()
    assert only_delivery(hub).status == "succeeded"
    assert requests_to(httpserver, SEARCH) == []
    assert [r.get_json() for r in requests_to(httpserver, ASSIGNEE, "PUT")] == [{"accountId": EMMA}]


@pytest.mark.parametrize("found, reason", [
    ([], "no active Jira user has the email mia@example.com"),
    ([(1, "emma@example.com", True)], "no active Jira user has the email mia@example.com"),
    ([(0, None, True), (1, None, True)], "2 Jira users match mia@example.com and hide their email"),
])
def test_no_user_or_several_give_up_with_the_reason_and_assign_nobody(make_hub, httpserver, found, reason):
    hub = make(make_hub, httpserver, "email: mia@example.com")
    search_answers(httpserver, users(*found))
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead" and delivery.attempts == 1
    assert delivery.last_error.startswith(reason), delivery.last_error
    assert requests_to(httpserver, ASSIGNEE) == []


@pytest.mark.parametrize("params", ["email: not-an-email", f"email: mia@example.com, account_id: {MIA}", "comment: x"])
def test_bad_assignees_are_refused_before_any_request(make_hub, httpserver, params):
    hub = make(make_hub, httpserver, params.replace("comment: x", 'email: "{{ data.text }}"'))
    send(hub, detractor(comment=""))
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead", delivery.last_error
    assert httpserver.log == []


def test_assigning_a_deleted_issue_dead_letters_with_the_reason(make_hub, httpserver):
    hub = make(make_hub, httpserver, f"account_id: {MIA}")
    httpserver.expect_request(ASSIGNEE, method="PUT").respond_with_json(
        {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}, status=404)
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead" and delivery.last_error.startswith("issue CX-42 was not found in Jira")
