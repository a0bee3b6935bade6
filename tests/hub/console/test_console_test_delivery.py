"""A test delivery from the connections page: a marked test event through the normal delivery path,
received by a stand-in exactly as the action sends it; refused without the role, the CSRF token or valid
parameters; held like any delivery while the connection is paused."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

import plugins.webhook as webhook
import plugins.zendesk as zendesk
from hub.operations import pause_connection, resume_connection
from hub.plugin import verify_standard_webhook
from hub.testing import wait_for
from hub.store.tables import deliveries, events
from tests.conftest import APP_SOURCE, WHSEC
from tests.hub.console.conftest import ENV, console_section, sign_in, token_of
from tests.plugins.zendesk.test_zendesk_actions import BASIC, CONNECTION, CREATE_ROUTE, TICKETS, TOKEN, created_answer

PAGE = "/console/connections/out/test"


def count(hub, table) -> int:
    with hub.store.database.engine.connect() as db:
        return db.execute(select(func.count()).select_from(table)).scalar_one()


def send_test(client, page: str = PAGE, **form):
    data = {"csrf_token": token_of(client, page), "action": "forward", "type": "cx.review.created", "params": "{}",
            **form}
    return client.post(page, data=data)


def test_an_operator_sends_a_test_event_that_the_destination_receives_signed(console_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST",
                              headers={"Content-Type": "application/cloudevents+json"}).respond_with_data("ok")
    client = console_hub.client
    sign_in(client, "otto")
    assert 'href="/console/connections/out/test"' in client.get("/console/connections").get_data(as_text=True)
    form = client.get(PAGE).get_data(as_text=True)
    assert "Parameters prefilled from route <b>everything</b>" in form
    sent = send_test(client, email="ann@example.com")
    assert sent.status_code == 302
    [row] = console_hub.store.reads.events()
    assert sent.headers["Location"].startswith(f"/console/events/{row.id}#delivery-")
    assert row.source == "cxhub-console" and count(console_hub, deliveries) == 1
    assert httpserver.log == []  # queued, not sent from the web process
    console_hub.drain()
    [(request, _)] = httpserver.log
    event = orjson.loads(request.get_data())
    assert event == orjson.loads(row.body)
    assert event["source"] == "/sources/cxhub-console" and event["type"] == "cx.review.created"
    assert event["data"]["text"].startswith("This is a test delivery sent from the cxhub console by otto.")
    assert event["data"]["attributes"] == {"cxhub_test": "true", "sent_by": "otto"}
    assert event["data"]["customer"]["email"] == "ann@example.com"
    [delivery] = console_hub.store.reads.deliveries()
    assert (delivery.route, delivery.status, delivery.attempts) == ("(console test)", "succeeded", 1)
    assert request.headers["webhook-id"] == delivery.id
    verify_standard_webhook([WHSEC], request.get_data(), {k.lower(): v for k, v in request.headers.items()})
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Test delivery queued to out.forward" in page
    assert f'id="delivery-{delivery.id}"' in page and "HTTP" not in page.split('id="test-event"')[0]
    assert 'id="test-event"' in page and 'id="replay"' not in page  # a test event is never replayed
    assert "#1 " in page.split(f'id="delivery-{delivery.id}"', 1)[1]  # its attempt, on the timeline


def test_the_action_parameters_are_rendered_against_the_test_event(make_hub, httpserver):
    config = (APP_SOURCE + CONNECTION % httpserver.url_for("/").rstrip("/") + CREATE_ROUTE % "text"
              + console_section())
    hub = make_hub(config, plugins=[webhook, zendesk], env={**ENV, "ZD_TOKEN": TOKEN})
    httpserver.expect_request(TICKETS, method="POST", headers={
        "Authorization": BASIC, "Accept": "application/json", "Content-Type": "application/json"},
    ).respond_with_response(created_answer())
    client = hub.client
    sign_in(client, "otto")
    page = "/console/connections/zendesk/test?action=create_ticket"
    form = client.get(page).get_data(as_text=True)
    assert "Parameters prefilled from route <b>detractors</b>" in form
    assert "{{ data.customer.name }} scored" in form  # the route's templates, to edit
    params = {"subject": "Console test by {{ data.attributes.sent_by }}", "comment": "{{ data.text }}",
              "tags": ["cxhub-test"]}
    sent = send_test(client, page, action="create_ticket", type="cx.ticket.created", email="ann@example.com",
                     params=orjson.dumps(params).decode())
    assert sent.status_code == 302
    hub.drain()
    [(request, _)] = httpserver.log
    [delivery] = hub.store.reads.deliveries()
    assert request.headers["Idempotency-Key"] == delivery.id
    assert request.get_json() == {"ticket": {
        "subject": "Console test by otto",
        "comment": {"body": "This is a test delivery sent from the cxhub console by otto. "
                            "Nothing happened in any system.", "public": True},
        "requester": {"email": "ann@example.com", "name": "cxhub test"},
        "tags": ["cxhub-test"],
    }}
    assert delivery.status == "succeeded" and orjson.loads(delivery.result)["external_id"] == "3"


@pytest.mark.parametrize("params, why", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"a": ' * 40 + "1" + "}" * 40, "nest deeper"),
])
def test_bad_parameters_are_refused_and_nothing_is_stored(console_hub, params, why):
    client = console_hub.client
    sign_in(client, "otto")
    refused = send_test(client, params=params)
    assert refused.status_code == 400 and why in refused.get_data(as_text=True)
    assert count(console_hub, events) == 0 and count(console_hub, deliveries) == 0


def test_parameters_the_action_refuses_are_refused_before_anything_is_sent(make_hub, httpserver):
    config = (APP_SOURCE + CONNECTION % httpserver.url_for("/").rstrip("/") + CREATE_ROUTE % "text"
              + console_section())
    hub = make_hub(config, plugins=[webhook, zendesk], env={**ENV, "ZD_TOKEN": TOKEN})
    client = hub.client
    sign_in(client, "otto")
    page = "/console/connections/zendesk/test?action=create_ticket"
    for params, why in (({"subject": "{{ data.text | nosuchfilter }}"}, "do not render"),
                        ({"subject": "x", "comment": "y", "priority": "whenever"}, "invalid parameters")):
        refused = send_test(client, page, action="create_ticket", params=orjson.dumps(params).decode())
        assert refused.status_code == 400 and why in refused.get_data(as_text=True)
    assert count(hub, events) == 0 and httpserver.log == []
    unknown = send_test(client, page, action="delete_everything")
    assert unknown.status_code == 400 and "has no action" in unknown.get_data(as_text=True)
    assert client.get("/console/connections/nope/test").status_code == 404


def test_a_viewer_may_not_and_a_form_without_its_token_is_refused(console_hub):
    client = console_hub.client
    sign_in(client, "vera")
    assert client.get(PAGE).status_code == 403
    with_token = client.post(PAGE, data={"csrf_token": token_of(client), "action": "forward", "params": "{}"})
    assert with_token.status_code == 403 and "needs operator" in with_token.get_data(as_text=True)
    assert 'href="/console/connections/out/test"' not in client.get("/console/connections").get_data(as_text=True)
    operator = console_hub.app.test_client()
    sign_in(operator, "otto")
    refused = operator.post(PAGE, data={"action": "forward", "type": "cx.review.created", "params": "{}"})
    assert refused.status_code == 403 and "could not be checked" in refused.get_data(as_text=True)
    assert count(console_hub, events) == 0


def test_a_paused_connection_holds_the_test_delivery_like_any_other(console_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("ok")
    pause_connection(console_hub.hub, "out", "maintenance")
    client = console_hub.client
    sign_in(client, "otto")
    assert "This connection is paused" in client.get(PAGE).get_data(as_text=True)
    assert send_test(client).status_code == 302
    console_hub.drain()
    [delivery] = console_hub.store.reads.deliveries()
    assert httpserver.log == [] and delivery.attempts == 0 and delivery.status in ("queued", "retrying")
    resume_connection(console_hub.hub, "out")
    wait_for(lambda: console_hub.drain() > 0, what="the test delivery once resumed")  # workers re-read within 1 s
    assert len(httpserver.log) == 1 and console_hub.store.reads.delivery(delivery.id).status == "succeeded"


def test_no_configured_source_may_take_the_test_events_source_name(make_hub):
    config = APP_SOURCE.replace("  app:", "  cxhub-console:", 1)
    assert "cxhub-console:" in config
    with pytest.raises(Exception, match="source of the console's test deliveries"):
        make_hub(config, plugins=[webhook], env={"APP_SECRET": WHSEC})
