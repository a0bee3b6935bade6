"""The Salesforce actions end to end: a real webhook in, an RQ job, and a REST API stand-in that checks each
request as Salesforce documents it (path and API version, bearer token, JSON body, the SOQL query)."""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
import pytest
from pytest_httpserver import HTTPServer

import plugins.salesforce as salesforce
import plugins.webhook as webhook
from hub.config import ConfigError, parse_config
from hub.operations import connection_states
from hub.plugin import AuthFailed, Connection, HttpClient
from hub.pluginhost import PluginHost, build_plugin_manager
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send
from tests.plugins.salesforce.conftest import CASE_ORG, CASES, CONTACT, CONTACT_ORG, post_soap, salesforce_hub

ACCESS_TOKEN = "00D70000000IVNp!AQ4AQFakeAccessTokenForTests"
BEARER = f"Bearer {ACCESS_TOKEN}"
V = "/services/data/v62.0"
CREATED = orjson.loads(fixture_bytes("salesforce/create_case_201.json"))
CONTACT_FOUND = orjson.loads(fixture_bytes("salesforce/query_contact_200.json"))
NO_CONTACT = orjson.loads(fixture_bytes("salesforce/query_none_200.json"))
UPSERTED = orjson.loads(fixture_bytes("salesforce/upsert_created_201.json"))
COMMENT = orjson.loads(fixture_bytes("salesforce/create_comment_201.json"))
INVALID_FIELD = fixture_bytes("salesforce/error_invalid_field_400.json")
INVALID_SESSION = fixture_bytes("salesforce/error_invalid_session_401.json")
SOQL = "SELECT Id, AccountId FROM Contact WHERE Email = 'ann@example.com' ORDER BY LastModifiedDate DESC LIMIT 1"


def connection(url: str, *, token: bool = True, version: str = "") -> str:
    settings = [f'instance_url: "{url}"', *(["access_token: {$env: SF_ACCESS_TOKEN}"] if token else []),
                *([f"api_version: {version}"] if version else [])]
    return f"""
connections:
  sf:
    plugin: salesforce
    settings: {{{", ".join(settings)}}}
    retry: {{max_attempts: 3, initial_delay: 0, max_delay: 0}}
    circuit_breaker: {{failure_threshold: 0}}
    timeout: 2
"""


CASE_ROUTE = """
routes:
  - name: detractor-cases
    when: {field: source, equals: /sources/app}
    actions:
      - connection: sf
        action: create_case
        params:
          subject: "{{ data.customer.name }} scored {{ data.score.value }}/{{ data.score.max }}"
          description: "{{ data.text }}"
          priority: High
          origin: Web
          fields: {NPS_Score__c: "{{ data.score.value }}"}%s
"""


def make(make_hub, httpserver: HTTPServer, routes: str, *, sources: str = APP_SOURCE, **kwargs) -> object:
    config = sources + connection(httpserver.url_for("/").rstrip("/"), **kwargs) + routes
    return salesforce_hub(make_hub, config, env={"SF_ACCESS_TOKEN": ACCESS_TOKEN})


def salesforce_source(org: str) -> str:
    return f"""
sources:
  salesforce:
    plugin: salesforce
    token: {{$env: SF_SOURCE_TOKEN}}
    settings: {{organization_id: "{org}"}}
"""


def expect(httpserver: HTTPServer, path: str, method: str, *, auth: str | None = BEARER, **kwargs):
    headers = {"Accept": "application/json", **({"Authorization": auth} if auth else {})}
    return httpserver.expect_request(path, method=method, headers=headers, **kwargs)


def requests_to(httpserver: HTTPServer, path: str) -> list:
    return [request for request, _ in httpserver.log if request.path == path]


def test_create_case_finds_the_contact_by_email_and_links_the_case(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "")
    expect(httpserver, f"{V}/query", "GET").respond_with_json(CONTACT_FOUND)
    expect(httpserver, f"{V}/sobjects/Case", "POST").respond_with_json(CREATED, status=201)
    send(hub, detractor())
    hub.drain()
    [query] = requests_to(httpserver, f"{V}/query")
    assert parse_qs(query.query_string.decode()) == {"q": [SOQL]}
    assert b"Email+%3D+%27ann%40example.com%27" in query.query_string  # spaces as +, as the Query resource documents
    [created] = requests_to(httpserver, f"{V}/sobjects/Case")
    assert created.headers["Content-Type"] == "application/json"
    assert created.get_json() == {"Subject": "Ann Lee scored 2/10", "Description": "The export keeps failing.",
                                  "Priority": "High", "Origin": "Web", "ContactId": "0037000000xicp7AAA",
                                  "AccountId": "001n000000KABYLAA5", "NPS_Score__c": "2"}
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded", delivery.last_error
    assert orjson.loads(delivery.result) == {"external_id": "5007000000OFL6AAAX",
                                             "url": httpserver.url_for("/5007000000OFL6AAAX"),
                                             "detail": {"contact_id": "0037000000xicp7AAA"}}


def test_a_case_for_an_unknown_email_carries_the_web_email_and_name(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "")
    expect(httpserver, f"{V}/query", "GET").respond_with_json(NO_CONTACT)
    expect(httpserver, f"{V}/sobjects/Case", "POST").respond_with_json(CREATED, status=201)
    send(hub, detractor())
    hub.drain()
    [created] = requests_to(httpserver, f"{V}/sobjects/Case")
    body = created.get_json()
    assert "ContactId" not in body
    assert (body["SuppliedEmail"], body["SuppliedName"]) == ("ann@example.com", "Ann Lee")


def test_a_quote_in_the_email_cannot_break_out_of_the_soql_string(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "\n          contact_email: \"o'brien'OR'1'='1@example.com\"")
    expect(httpserver, f"{V}/query", "GET").respond_with_json(NO_CONTACT)
    expect(httpserver, f"{V}/sobjects/Case", "POST").respond_with_json(CREATED, status=201)
    send(hub, detractor())
    hub.drain()
    [query] = requests_to(httpserver, f"{V}/query")
    assert parse_qs(query.query_string.decode())["q"] == [
        "SELECT Id, AccountId FROM Contact WHERE Email = 'o\\'brien\\'OR\\'1\\'=\\'1@example.com' ORDER BY "
        "LastModifiedDate DESC LIMIT 1"]


def test_soql_strings_escape_quotes_backslashes_and_line_breaks():
    from plugins.salesforce.api import soql_string

    assert soql_string("a'b\\c\nd") == "'a\\'b\\\\c\\nd'"


def test_with_a_delivery_id_field_the_case_is_upserted_so_a_retry_makes_no_second_case(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "\n          delivery_id_field: CxHub_Delivery__c")
    expect(httpserver, f"{V}/query", "GET").respond_with_json(CONTACT_FOUND)
    send(hub, detractor())
    [delivery] = hub.store.reads.deliveries()
    path = f"{V}/sobjects/Case/CxHub_Delivery__c/{delivery.id}"
    headers = {"Authorization": BEARER}
    httpserver.expect_oneshot_request(path, "PATCH", headers=headers).respond_with_data("", status=503)  # answer lost
    expect(httpserver, path, "PATCH").respond_with_json({**CREATED, "created": False})  # the retry finds it made
    hub.drain()
    assert [request.path for request, _ in httpserver.log if request.method == "PATCH"] == [path, path]
    assert [request.path for request, _ in httpserver.log if request.method == "POST"] == []
    delivery = hub.store.reads.delivery(delivery.id)
    assert delivery.status == "succeeded"
    assert orjson.loads(delivery.result)["detail"] == {"contact_id": "0037000000xicp7AAA", "created": False}


def test_the_pinned_api_version_is_in_every_path(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "", version="v58.0")
    httpserver.expect_request("/services/data/v58.0/query", method="GET").respond_with_json(NO_CONTACT)
    httpserver.expect_request("/services/data/v58.0/sobjects/Case", method="POST").respond_with_json(CREATED,
                                                                                                   status=201)
    send(hub, detractor())
    hub.drain()
    assert {request.path for request, _ in httpserver.log} == {"/services/data/v58.0/query",
                                                              "/services/data/v58.0/sobjects/Case"}


def test_a_connection_needs_exactly_one_of_access_token_and_oauth():
    host = PluginHost(build_plugin_manager([salesforce, webhook], discover=False))
    env = {"APP_SECRET": WHSEC, "SF_ACCESS_TOKEN": ACCESS_TOKEN}
    with pytest.raises(ConfigError) as caught:
        parse_config(APP_SOURCE + connection("https://acme.my.salesforce.com", token=False) + CASE_ROUTE % "",
                     "cxhub.yaml", host, env)
    assert "connections.sf.settings: give settings.access_token or an oauth: block (the connection has no " \
           "credentials)" in str(caught.value)


UPDATE_ROUTE = """
routes:
  - name: contact-nps
    actions:
      - connection: sf
        action: update_record
        params:
          object: Contact
          %s
          fields: {Last_Seen_By_CX__c: "{{ event.time }}", CX_Attention__c: true}
"""


def test_update_record_by_id_patches_the_record_of_an_outbound_message(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE_ROUTE % 'id: "{{ data.link.id }}"', sources=salesforce_source(CONTACT_ORG))
    path = f"{V}/sobjects/Contact/003n000000NOtUbAAL"
    expect(httpserver, path, "PATCH").respond_with_data("", status=204)
    post_soap(hub, CONTACT)
    hub.drain()
    [patched] = requests_to(httpserver, path)
    assert patched.get_json() == {"Last_Seen_By_CX__c": "2017-11-03T17:24:20Z", "CX_Attention__c": True}
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded", delivery.last_error
    assert orjson.loads(delivery.result)["external_id"] == "003n000000NOtUbAAL"


def test_update_record_by_external_id_upserts_on_the_encoded_value(make_hub, httpserver):
    route = 'external_id_field: External_Id__c\n          external_id: "{{ data.attributes.External_Id__c }}/x y"'
    hub = make(make_hub, httpserver, UPDATE_ROUTE % route, sources=salesforce_source(CONTACT_ORG))
    # the stand-in's server decodes %2F before matching; the raw URI shows what was sent
    expect(httpserver, f"{V}/sobjects/Contact/External_Id__c/G-208230/x y", "PATCH").respond_with_json(
        UPSERTED, status=201)
    post_soap(hub, CONTACT)
    hub.drain()
    [request] = [request for request, _ in httpserver.log]
    assert request.environ["RAW_URI"] == f"{V}/sobjects/Contact/External_Id__c/G-208230%2Fx%20y"  # one segment
    assert request.get_json() == {"Last_Seen_By_CX__c": "2017-11-03T17:24:20Z", "CX_Attention__c": True}
    [delivery] = hub.store.reads.deliveries()
    assert orjson.loads(delivery.result) == {"external_id": "00190000001pPvHAAU",
                                             "url": httpserver.url_for("/00190000001pPvHAAU"),
                                             "detail": {"created": True}}


COMMENT_ROUTE = """
routes:
  - name: case-comments
    when: {field: type, equals: cx.ticket.updated}
    actions:
      - connection: sf
        action: add_comment
        params:
          case_id: "{{ data.link.id }}"
          comment: "cxhub saw this case change to {{ data.attributes.Status }}: {{ data.text }}"
"""


def test_add_comment_posts_a_case_comment(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE, sources=salesforce_source(CASE_ORG))
    expect(httpserver, f"{V}/sobjects/CaseComment", "POST").respond_with_json(COMMENT, status=201)
    post_soap(hub, CASES)
    hub.drain()
    [posted] = requests_to(httpserver, f"{V}/sobjects/CaseComment")
    assert posted.get_json() == {"ParentId": "5007000000OFL5FAAX", "IsPublished": False,
                                 "CommentBody": "cxhub saw this case change to Escalated: Invoices show the wrong VAT rate."}
    [delivery] = hub.store.reads.deliveries()
    assert orjson.loads(delivery.result)["external_id"] == "00a7000000Ab1CdAAJ"


def test_a_long_comment_is_cut_to_4000_bytes(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE.replace("{{ data.text }}", "{{ data.text * 300 }}é"),
               sources=salesforce_source(CASE_ORG))
    expect(httpserver, f"{V}/sobjects/CaseComment", "POST").respond_with_json(COMMENT, status=201)
    post_soap(hub, CASES)
    hub.drain()
    [posted] = requests_to(httpserver, f"{V}/sobjects/CaseComment")
    body = posted.get_json()["CommentBody"]
    assert 3_900 < len(body.encode()) <= 4_000 and "truncated" in body


def test_refused_credentials_pause_the_connection_and_spend_no_retries(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "")
    expect(httpserver, f"{V}/query", "GET").respond_with_data(INVALID_SESSION, status=401,
                                                             content_type="application/json")
    send(hub, detractor(1001), msg_id="m1")
    send(hub, detractor(1002), msg_id="m2")
    hub.drain()
    assert len(requests_to(httpserver, f"{V}/query")) == 1  # the second delivery waits with the connection
    deliveries = hub.store.reads.deliveries()
    assert "dead" not in {delivery.status for delivery in deliveries}
    [state] = [state for state in connection_states(hub.hub) if state["connection"] == "sf"]
    assert state["status"] == "paused"
    assert "Salesforce refused the connection's credentials (401): INVALID_SESSION_ID: Session expired or invalid" \
        in state["reason"]
    assert ACCESS_TOKEN not in str(deliveries) + str(state)


def test_a_400_with_salesforces_errors_dead_letters_with_their_message(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "")
    expect(httpserver, f"{V}/query", "GET").respond_with_json(NO_CONTACT)
    expect(httpserver, f"{V}/sobjects/Case", "POST").respond_with_data(INVALID_FIELD, status=400,
                                                                       content_type="application/json")
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead" and delivery.attempts == 1
    assert delivery.last_error == ("Salesforce refused the new case (400): INVALID_FIELD: The Id field should not be "
                                   "specified in the sobject data.")


def test_a_503_is_retried(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "")
    expect(httpserver, f"{V}/query", "GET").respond_with_json(NO_CONTACT)
    httpserver.expect_oneshot_request(f"{V}/sobjects/Case", "POST").respond_with_data("Service Unavailable",
                                                                                     status=503)
    expect(httpserver, f"{V}/sobjects/Case", "POST").respond_with_json(CREATED, status=201)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded"
    assert [(a.status_code, a.outcome) for a in hub.store.reads.attempts(delivery.id)] == [
        (503, "retry"), (None, "succeeded")]


def test_the_daily_api_limit_is_retried_later_not_dead_lettered(make_hub, httpserver):
    hub = make(make_hub, httpserver, CASE_ROUTE % "")
    limit = b'[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]'
    expect(httpserver, f"{V}/query", "GET").respond_with_data(limit, status=403, content_type="application/json")
    send(hub, detractor())
    hub.drain(run_scheduled=False)
    [delivery] = hub.store.reads.deliveries()
    [attempt] = hub.store.reads.attempts(delivery.id)
    assert (attempt.status_code, attempt.outcome) == (403, "retry")
    assert delivery.status != "dead"


@pytest.mark.parametrize("params, problem", [
    ({"object": "Contact", "fields": {"A__c": 1}}, "give either id, or external_id_field and external_id"),
    ({"object": "Contact; DROP", "id": "003n000000NOtUbAAL", "fields": {"A__c": 1}}, "an API name"),
    ({"object": "Contact", "id": "../../limits", "fields": {"A__c": 1}}, "15 or 18 letters and digits"),
    ({"object": "Contact", "id": "003n000000NOtUbAAL", "fields": {}}, "Shorter than minimum length 1"),
])
def test_update_record_parameters_are_checked(params, problem):
    from hub.plugin import ValidationError
    from plugins.salesforce.settings import UpdateRecordParams

    with pytest.raises(ValidationError, match=problem.replace("(", r"\(")):
        UpdateRecordParams().load(params)


def test_invalid_session_id_is_auth_failed(make_hub, httpserver):
    """AuthFailed, not a plain PauseConnection: the hook, the log and the console read it as bad credentials."""
    from plugins.salesforce.api import call

    expect(httpserver, f"{V}/sobjects/Case", "POST").respond_with_data(INVALID_SESSION, status=401,
                                                                       content_type="application/json")
    hub = make(make_hub, httpserver, CASE_ROUTE % "")
    connection = Connection("sf", "salesforce", hub.hub.config.connections["sf"].settings,
                            HttpClient(httpserver.url_for("/")))
    with pytest.raises(AuthFailed, match="INVALID_SESSION_ID: Session expired or invalid") as caught:
        call(connection, "POST", "sobjects/Case", what="the new case", json={"Subject": "x"})
    assert caught.value.status_code == 401 and ACCESS_TOKEN not in caught.value.message
