"""teams.post_card to a Workflows webhook and to a legacy connector, against a local stand-in over real HTTP."""

from __future__ import annotations

import orjson
import pytest

import plugins.teams as teams
import plugins.webhook as webhook
from plugins.teams.cards import PAYLOAD_LIMIT
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

CONNECTION = """
connections:
  teams:
    plugin: teams
    settings: {webhook_url: {$env: TEAMS_WEBHOOK_URL}, format: %s}
    retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
"""
ROUTE = """
routes:
  - name: alerts
    actions:
      - connection: teams
        action: post_card
        params:
          title: "New detractor: {{ data.score.value }}/{{ data.score.max }}"
          text: "**{{ data.customer.name }}** said: {{ data.text }}"
          facts:
            - {name: Customer, value: "{{ data.customer.email }}"}
            - {name: Score, value: "{{ data.score.value }}"}
          link_url: "{{ data.link.url }}"
          link_title: View response
"""
# A Workflows URL carries its credential in the query (sig=...): the whole URL is the secret.
WORKFLOW_PATH = "/powerautomate/automations/direct/workflows/0a1b2c/triggers/manual/paths/invoke"
WORKFLOW_QUERY = "api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3tS1gnature"
CONNECTOR_PATH = "/webhookb2/1111-2222@3333-4444/IncomingWebhook/5555aaaa/6666-7777"

EXPECTED_CARD = {
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "type": "AdaptiveCard",
    "version": "1.4",
    "body": [
        {"type": "Container", "style": "attention", "items": [
            {"type": "TextBlock", "text": "New detractor: 2/10", "weight": "Bolder", "size": "Medium", "wrap": True}]},
        {"type": "TextBlock", "text": "**Ann Lee** said: The export keeps failing.", "wrap": True},
        {"type": "FactSet", "facts": [{"title": "Customer", "value": "ann@example.com"},
                                      {"title": "Score", "value": "2"}]},
    ],
    "actions": [{"type": "Action.OpenUrl", "title": "View response", "url": "https://surveys.example.com/r/1001"}],
}
EXPECTED_MESSAGE_CARD = {
    "@type": "MessageCard",
    "@context": "https://schema.org/extensions",
    "summary": "New detractor: 2/10",
    "title": "New detractor: 2/10",
    "text": "**Ann Lee** said: The export keeps failing.",
    "themeColor": "C62828",
    "sections": [{"facts": [{"name": "Customer", "value": "ann@example.com"}, {"name": "Score", "value": "2"}]}],
    "potentialAction": [{"@type": "OpenUri", "name": "View response",
                         "targets": [{"os": "default", "uri": "https://surveys.example.com/r/1001"}]}],
}


def teams_hub(make_hub, url: str, card_format: str = "adaptive_card", route: str = ROUTE, hub_config: str = ""):
    return make_hub(hub_config + APP_SOURCE + CONNECTION % card_format + route, plugins=[webhook, teams],
                    env={"APP_SECRET": WHSEC, "TEAMS_WEBHOOK_URL": url})


@pytest.fixture
def workflow_hub(make_hub, httpserver):
    return teams_hub(make_hub, httpserver.url_for(WORKFLOW_PATH) + "?" + WORKFLOW_QUERY)


def only_delivery(hub):
    [delivery] = hub.store.reads.deliveries()
    return delivery, hub.store.reads.attempts(delivery.id)


def test_a_workflows_webhook_gets_an_adaptive_card_in_a_message_attachment(workflow_hub, httpserver):
    httpserver.expect_request(WORKFLOW_PATH, method="POST", query_string=WORKFLOW_QUERY,
                              headers={"Content-Type": "application/json; charset=utf-8"}).respond_with_data(
        "", status=202)
    send(workflow_hub, detractor())
    workflow_hub.drain()
    delivery, _ = only_delivery(workflow_hub)
    assert delivery.status == "succeeded", delivery.last_error
    [(request, _)] = httpserver.log
    sent = orjson.loads(request.get_data())
    assert sent == {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": EXPECTED_CARD}]}
    # The envelope is the documented one, key for key.
    documented = orjson.loads(fixture_bytes("teams/workflows_request.json"))
    assert sent.keys() == documented.keys() and sent["type"] == documented["type"]
    [attachment], [documented_attachment] = sent["attachments"], documented["attachments"]
    assert attachment.keys() == documented_attachment.keys()
    assert attachment["contentType"] == documented_attachment["contentType"]
    assert {key: attachment["content"][key] for key in ("$schema", "type")} == {
        key: documented_attachment["content"][key] for key in ("$schema", "type")}


def test_a_legacy_connector_gets_a_message_card_and_answers_1(make_hub, httpserver):
    hub = teams_hub(make_hub, httpserver.url_for(CONNECTOR_PATH), "message_card")
    httpserver.expect_request(CONNECTOR_PATH, method="POST").respond_with_data(
        fixture_bytes("teams/connector_response_ok.txt"), content_type="text/plain; charset=utf-8")
    send(hub, detractor())
    hub.drain()
    delivery, _ = only_delivery(hub)
    assert delivery.status == "succeeded", delivery.last_error
    [(request, _)] = httpserver.log
    sent = orjson.loads(request.get_data())
    assert sent == EXPECTED_MESSAGE_CARD
    documented = orjson.loads(fixture_bytes("teams/message_card_request.json"))
    assert set(sent) <= set(documented) | {"title", "text"}  # title and text: MessageCard fields the sample leaves out
    assert sent["sections"][0]["facts"][0].keys() == documented["sections"][0]["facts"][0].keys()
    assert sent["potentialAction"][0].keys() == documented["potentialAction"][0].keys()
    assert sent["potentialAction"][0]["targets"][0].keys() == documented["potentialAction"][0]["targets"][0].keys()


def test_a_legacy_connector_takes_the_adaptive_card_envelope_too(make_hub, httpserver):
    hub = teams_hub(make_hub, httpserver.url_for(CONNECTOR_PATH))
    httpserver.expect_request(CONNECTOR_PATH, method="POST").respond_with_data("1")
    send(hub, detractor())
    hub.drain()
    assert only_delivery(hub)[0].status == "succeeded"
    assert orjson.loads(httpserver.log[0][0].get_data())["attachments"][0]["content"] == EXPECTED_CARD


@pytest.mark.parametrize("fixture, attempts", [("teams/connector_response_429.txt", 2),  # retried to max_attempts
                                               ("teams/connector_response_413.txt", 1)])  # given up at once
def test_a_connector_error_wrapped_in_a_200_is_read_from_the_text(make_hub, httpserver, fixture, attempts):
    hub = teams_hub(make_hub, httpserver.url_for(CONNECTOR_PATH))
    body = fixture_bytes(fixture)
    httpserver.expect_request(CONNECTOR_PATH).respond_with_data(body, status=200)
    send(hub, detractor())
    hub.drain()
    delivery, attempt_log = only_delivery(hub)
    assert delivery.status == "dead" and len(attempt_log) == attempts
    assert "Teams refused the card" in delivery.last_error and body.decode()[:60] in delivery.last_error


def test_a_429_waits_for_retry_after_then_succeeds(workflow_hub, httpserver):
    httpserver.expect_oneshot_request(WORKFLOW_PATH).respond_with_data("", status=429, headers={"Retry-After": "30"})
    httpserver.expect_request(WORKFLOW_PATH).respond_with_data("", status=202)
    send(workflow_hub, detractor())
    workflow_hub.drain(run_scheduled=False)
    delivery, _ = only_delivery(workflow_hub)
    assert delivery.status == "retrying"
    assert 29 <= (delivery.next_attempt_at - delivery.updated_at).total_seconds() <= 31
    workflow_hub.end_backoff("teams")  # the 30 seconds have passed (every worker of the connection waited them)
    workflow_hub.drain(run_scheduled=True)
    assert workflow_hub.store.reads.delivery(delivery.id).status == "succeeded"


@pytest.mark.parametrize("status", [400, 404, 413])
def test_other_4xx_give_up_and_never_quote_the_url(workflow_hub, httpserver, status):
    httpserver.expect_request(WORKFLOW_PATH).respond_with_data("BadRequest: The input body is invalid", status=status)
    send(workflow_hub, detractor())
    workflow_hub.drain()
    delivery, attempt_log = only_delivery(workflow_hub)
    assert delivery.status == "dead" and len(attempt_log) == 1
    assert "The input body is invalid" in delivery.last_error
    assert "s3cr3t" not in delivery.last_error and "0a1b2c" not in delivery.last_error


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_pause_the_connection_with_the_reason(workflow_hub, httpserver, status):
    httpserver.expect_request(WORKFLOW_PATH).respond_with_data("DirectApiAuthorizationRequired", status=status)
    send(workflow_hub, detractor(response_id=1), msg_id="msg_1")
    send(workflow_hub, detractor(response_id=2), msg_id="msg_2")
    workflow_hub.drain()
    assert len(httpserver.log) == 1  # the second delivery was not sent: it waits for the resume
    deliveries = workflow_hub.store.reads.deliveries()
    assert sorted(d.status for d in deliveries) == ["queued", "retrying"]  # none dead
    [tried] = [d for d in deliveries if d.attempts == 1]
    [attempt] = workflow_hub.store.reads.attempts(tried.id)
    assert (attempt.outcome, attempt.status_code) == ("paused", status)
    assert "the webhook URL is no longer accepted" in tried.last_error and "s3cr3t" not in tried.last_error


def test_a_megabyte_review_is_cut_to_fit_teams_with_a_link_to_the_full_text(make_hub, httpserver):
    route = ROUTE.replace('value: "{{ data.customer.email }}"', 'value: "{{ data.text }}"')
    route = route.replace('"New detractor: {{ data.score.value }}/{{ data.score.max }}"', '"{{ data.text }}"')
    hub = teams_hub(make_hub, httpserver.url_for(WORKFLOW_PATH), route=route,
                    hub_config="hub: {max_body_bytes: 2097152}\n")
    httpserver.expect_request(WORKFLOW_PATH).respond_with_data("", status=202)
    review = "Refunds take weeks — \"never\" again! 😀 " * 26_000  # about 1 MB, quotes and emoji that JSON grows
    assert send(hub, detractor(comment=review)).status_code == 202
    hub.drain()
    assert only_delivery(hub)[0].status == "succeeded"
    [(request, _)] = httpserver.log
    assert len(request.get_data()) <= PAYLOAD_LIMIT
    heading, text, facts = orjson.loads(request.get_data())["attachments"][0]["content"]["body"]
    assert text["text"].startswith("**Ann Lee** said: Refunds take weeks")
    assert text["text"].endswith("… [truncated; full text: https://surveys.example.com/r/1001]")
    assert facts["facts"][0]["value"].endswith("… [truncated; full text: https://surveys.example.com/r/1001]")
    assert heading["items"][0]["text"].endswith("…") and len(heading["items"][0]["text"]) <= 200


def test_an_event_without_a_link_gets_a_card_without_a_button():
    from plugins.teams.settings import PostCardParams

    assert PostCardParams().load({"text": "hello", "link_url": ""})["link_url"] is None


@pytest.mark.parametrize("url", ["not a url", "ftp://example.webhook.office.com/webhookb2/x", "https:///nohost"])
def test_a_webhook_url_that_is_not_a_url_is_refused_when_the_config_loads_without_quoting_it(url):
    from hub.plugin import ValidationError
    from hub.plugin.settings import EnvValue
    from plugins.teams.settings import TeamsConnectionSettings

    with pytest.raises(ValidationError) as refused:
        TeamsConnectionSettings().load({"webhook_url": EnvValue("TEAMS_WEBHOOK_URL", url)})
    assert refused.value.messages == {"webhook_url": ["Secret($TEAMS_WEBHOOK_URL) is not an https:// URL"]}


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_refused_webhook_url_is_auth_failed(make_hub, httpserver, wrapped):
    """AuthFailed, not a plain PauseConnection: the hook, the log and the console read it as bad credentials."""
    from hub.plugin import AuthFailed, Connection, HttpClient
    from plugins.teams.actions import post_card
    from plugins.teams.settings import PostCardParams

    if wrapped:  # a legacy connector reports Teams' refusal inside a 200
        httpserver.expect_request(CONNECTOR_PATH).respond_with_data(
            "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 401 with "
            "ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef.0", status=200)
    else:
        httpserver.expect_request(CONNECTOR_PATH).respond_with_data("DirectApiAuthorizationRequired", status=403)
    hub = teams_hub(make_hub, httpserver.url_for(CONNECTOR_PATH))
    send(hub, detractor())
    [row] = hub.store.reads.events()
    connection = Connection("teams", "teams", {"format": "adaptive_card"},
                            HttpClient(httpserver.url_for(CONNECTOR_PATH)))
    with pytest.raises(AuthFailed) as caught:
        post_card(connection, PostCardParams().load({"title": "t", "text": "x"}), orjson.loads(row.body))
    assert caught.value.status_code == (401 if wrapped else 403)
