"""A Salesforce connection on OAuth's JWT bearer flow (Salesforce's server-to-server flow), end to end:
a signed webhook in, a real `cxhub worker` process, and stand-ins over real HTTP for the org's token
endpoint (`/services/oauth2/token`) and its REST API.

The token endpoint is the core's stand-in: it checks the form (grant_type
urn:ietf:params:oauth:grant-type:jwt-bearer and an `assertion`, nothing else: no client secret) and
verifies the assertion with the test certificate's public key (RS256; iss the connected app's consumer
key, sub the username, aud https://login.salesforce.com, exp within 3 minutes). It answers as Salesforce
does: `access_token`, `scope`, `instance_url`, `id`, `token_type`, `issued_at`, `signature`, and no
`expires_in`: the hub then keeps the token (an hour at most, DEFAULT_LIFETIME) until the org answers
401 INVALID_SESSION_ID, and renews it once there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time

import orjson
import pytest
from werkzeug import Request, Response

import plugins.salesforce as salesforce
import plugins.webhook as webhook
from hub.outbound.oauth import DEFAULT_LIFETIME
from hub.testing import wait_for
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send
from tests.faults.test_fault_oauth_workers import succeeded
from tests.hub.outbound.oauth_standin import CLIENT_ID, TokenEndpoint, oauth_error, rsa_key_pair
from tests.plugins.crm_oauth import ADMIN, assert_hidden, cxhub, everything_shown, state

pytestmark = pytest.mark.faults
PEM, PUBLIC_KEY = rsa_key_pair()  # the connected app's certificate holds the public key; the hub the private one
USERNAME = "integration@acme.example.com"
AUDIENCE = "https://login.salesforce.com"
ORG = "00D70000000IVNpEAO"
V = "/services/data/v62.0"
TOKEN_PREFIX = f"{ORG[:15]}!AQ4AQJwtBearerIssued"
ENV = {"APP_SECRET": WHSEC, "SALESFORCE_PRIVATE_KEY": PEM}
KEY_LINE = PEM.splitlines()[1]  # a line of the key's base64: it must show nowhere
SECRETS = (KEY_LINE, TOKEN_PREFIX)
CONTACT_FOUND = orjson.loads(fixture_bytes("salesforce/query_contact_200.json"))
CREATED = fixture_bytes("salesforce/create_case_201.json")
INVALID_SESSION = fixture_bytes("salesforce/error_invalid_session_401.json")
SOQL = "SELECT Id, AccountId FROM Contact WHERE Email = 'ann@example.com' ORDER BY LastModifiedDate DESC LIMIT 1"


def config(instance_url: str, token_url: str) -> str:
    return APP_SOURCE + f"""
connections:
  salesforce:
    plugin: salesforce
    settings: {{instance_url: "{instance_url}"}}
    retry: {{max_attempts: 4, initial_delay: 0.5, max_delay: 2}}
    circuit_breaker: {{failure_threshold: 0}}
    oauth:
      grant: jwt_bearer
      token_url: "{token_url}"
      client_id: {CLIENT_ID}
      private_key: {{$env: SALESFORCE_PRIVATE_KEY}}
      subject: {USERNAME}
      audience: {AUDIENCE}
routes:
  - name: detractor-cases
    actions:
      - connection: salesforce
        action: create_case
        params:
          subject: "{{{{ data.customer.name }}}} scored {{{{ data.score.value }}}}/{{{{ data.score.max }}}}"
          description: "{{{{ data.text }}}}"
          priority: High
          origin: Web
          fields: {{CX_Response_Id__c: "{{{{ data.link.id }}}}"}}
"""


class SalesforceTokens:
    """`POST /services/oauth2/token`: the core's RFC 7523 checks, then Salesforce's answer (no expires_in)."""

    def __init__(self, instance_url: str) -> None:
        self.instance_url = instance_url
        self.refusing: str | None = None  # an error_description: the token endpoint answers invalid_grant
        self.endpoint = TokenEndpoint("jwt_bearer", public_key=PUBLIC_KEY, subject=USERNAME, audience=AUDIENCE,
                                      answer=self.answer)

    def install(self, httpserver) -> str:
        return self.endpoint.install(httpserver, "/services/oauth2/token")

    def answer(self, number: int) -> Response:
        if self.refusing:
            return oauth_error(400, "invalid_grant", self.refusing)
        token = f"{TOKEN_PREFIX}{number:04d}"
        self.endpoint.issued.append(token)
        issued_at = str(int(time.time() * 1000))
        user_id = "https://login.salesforce.com/id/00D70000000IVNpEAO/00570000001a2B3AAI"
        signature = base64.b64encode(hmac.new(b"consumer-secret", (user_id + issued_at).encode(),
                                              hashlib.sha256).digest()).decode()
        body = {"access_token": token, "scope": "api", "instance_url": self.instance_url, "id": user_id,
                "token_type": "Bearer", "issued_at": issued_at, "signature": signature}
        return Response(orjson.dumps(body), content_type="application/json;charset=UTF-8")


class RestApi:
    """The org's REST API: the Contact query and `POST /sobjects/Case`, for a live session's bearer token only."""

    def __init__(self, tokens: SalesforceTokens) -> None:
        self.tokens = tokens
        self.ended: set[str] = set()  # sessions the org ended (timed out, or revoked)
        self.cases: list[tuple[str, str]] = []  # (CX_Response_Id__c, token)
        self.refused = 0
        self.problems: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        with self.lock:
            if token not in self.tokens.endpoint.issued or token in self.ended:
                self.refused += 1
                return Response(INVALID_SESSION, status=401, content_type="application/json;charset=UTF-8",
                                headers={"WWW-Authenticate": 'Token realm="Salesforce", error="invalid_token"'})
            if request.path == f"{V}/query" and request.method == "GET" and request.args.get("q") == SOQL:
                return Response(orjson.dumps(CONTACT_FOUND), content_type="application/json;charset=UTF-8")
            body = request.get_json(silent=True)
            if request.path == f"{V}/sobjects/Case" and request.method == "POST" and isinstance(body, dict):
                self.cases.append((body["CX_Response_Id__c"], token))
                return Response(CREATED, status=201, content_type="application/json;charset=UTF-8")
            self.problems.append(f"{request.method} {request.full_path}")
            return Response('[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]',
                            status=404, content_type="application/json;charset=UTF-8")


@pytest.fixture
def org(make_hub, httpserver, start_process):
    instance_url = httpserver.url_for("/").rstrip("/")
    tokens = SalesforceTokens(instance_url)
    api = RestApi(tokens)
    token_url = tokens.install(httpserver)
    for path in (f"{V}/query", f"{V}/sobjects/Case"):
        httpserver.expect_request(path).respond_with_handler(api)
    hub = make_hub(config(instance_url, token_url), plugins=[webhook, salesforce], env=ENV)
    hub.app.config["CXHUB_ADMIN_TOKEN"] = ADMIN
    worker = start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"], env=ENV)
    return hub, tokens, api, worker


def send_many(hub, numbers) -> None:
    for number in numbers:
        assert send(hub, detractor(number), f"msg_{number}").status_code == 202


def test_create_case_goes_through_with_the_jwt_bearer_token(org):
    hub, tokens, api, worker = org
    send_many(hub, range(3))
    wait_for(lambda: succeeded(hub, 3), timeout=40, interval=0.2, what="the cases")
    assert tokens.endpoint.problems == [] and api.problems == []
    assert len(tokens.endpoint.requests) == 1  # one assertion, one token, for every delivery
    assert sorted(api.cases) == [(str(number), f"{TOKEN_PREFIX}0001") for number in range(3)]
    assert api.refused == 0
    assert_hidden([worker.log.read_text()], SECRETS)


def test_without_expires_in_the_token_is_kept_until_a_401_then_renewed_once(org):
    hub, tokens, api, worker = org
    send_many(hub, range(2))
    wait_for(lambda: succeeded(hub, 2), timeout=40, interval=0.2, what="the first cases")
    [(_, first)] = {(None, token) for _, token in api.cases}
    api.ended.add(first)  # the org's session timeout ends the session before the hub's hour is up
    send_many(hub, range(2, 5))
    wait_for(lambda: succeeded(hub, 5), timeout=40, interval=0.2, what="the cases after the session ended")
    assert len(tokens.endpoint.requests) == 2 and tokens.endpoint.problems == []  # renewed once, after the 401
    # Each request already sent with the ended session met a 401 (threads run side by side), and each was sent
    # again with the one renewed token.
    assert 1 <= api.refused <= 3
    assert sorted(response for response, _ in api.cases) == [str(number) for number in range(5)]
    assert {token for response, token in api.cases if int(response) >= 2} == {f"{TOKEN_PREFIX}0002"}
    assert all(row.attempts == 1 for row in hub.store.reads.deliveries(limit=1000))  # the renewal spent no attempt
    assert DEFAULT_LIFETIME <= 3600  # never kept past an hour without a renewal, whatever the org's timeout


def test_a_refused_assertion_pauses_the_connection_and_resuming_delivers_everything(org, start_process):
    hub, tokens, api, worker = org
    path = hub.app.config["CXHUB_CONFIG"]
    send_many(hub, range(2))
    wait_for(lambda: succeeded(hub, 2), timeout=40, interval=0.2, what="the first cases")

    # The admin revokes the connected app's approval: the session ends and no new assertion is accepted.
    api.ended.add(f"{TOKEN_PREFIX}0001")
    tokens.refusing = "user hasn't approved this consumer"
    send_many(hub, range(2, 5))
    wait_for(lambda: state(hub, "salesforce")["status"] == "paused", timeout=40, interval=0.2, what="the pause")
    time.sleep(1)  # let the worker look at the other deliveries: they must wait, not fail
    waiting = [row for row in hub.store.reads.deliveries(limit=1000) if row.status != "succeeded"]
    assert len(waiting) == 3 and {row.status for row in waiting} <= {"queued", "retrying"}  # nothing lost
    reason = state(hub, "salesforce")["reason"]
    assert reason.startswith("connection salesforce: the token endpoint localhost:")
    assert "refused the credentials (invalid_grant: user hasn't approved this consumer)" in reason
    listed = cxhub(start_process, path, "connections", env=ENV)
    [line] = [line for line in listed.splitlines() if line.startswith("salesforce ")]
    assert line.split()[:3] == ["salesforce", "salesforce", "paused"] and f"until resumed: {reason}" in line
    assertions = [form["assertion"][0] for form in tokens.endpoint.requests]  # each a credential for 3 minutes
    assert_hidden(everything_shown(hub, [worker.log.read_text()], listed), (*SECRETS, *assertions))

    tokens.refusing = None  # approved again
    assert "resumed salesforce" in cxhub(start_process, path, "connections", "resume", "salesforce",
                                         env=ENV).splitlines()
    wait_for(lambda: succeeded(hub, 5), timeout=60, interval=0.2, what="every waiting case created")
    assert sorted({response for response, _ in api.cases}) == [str(number) for number in range(5)]
    assert tokens.endpoint.problems == [] and api.problems == []
