"""A HubSpot connection on OAuth (refresh token grant), end to end: signed webhooks in, two real `cxhub worker`
processes, and stand-ins over real HTTP for HubSpot's token endpoint and its CRM v3 API.

The token endpoint is the core's stand-in (it checks the refresh as RFC 6749 section 6 says, which is
how HubSpot documents `POST /oauth/v1/token`: a form with grant_type=refresh_token, client_id,
client_secret and refresh_token), answered as HubSpot answers: `{token_type, refresh_token,
access_token, expires_in}`, or 400 `BAD_REFRESH_TOKEN` once the app is uninstalled. The API
stand-in accepts only an issued, unexpired bearer token. The workers are separate processes: what
they share (the token, the pace) they share only through Redis.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import orjson
import pytest
from werkzeug import Request, Response

import plugins.hubspot as hubspot
import plugins.webhook as webhook
from hub.testing import wait_for
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send
from tests.faults.test_fault_oauth_workers import succeeded
from tests.hub.outbound.oauth_standin import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, TokenEndpoint
from tests.plugins.crm_oauth import ADMIN, assert_hidden, cxhub, everything_shown, state

pytestmark = pytest.mark.faults
CONTACT = orjson.loads(fixture_bytes("hubspot/contact.json"))
CONTACT_PATH = "/crm/v3/objects/contacts/1246978"
TOKEN_PREFIX = "CKDZpunPLhICAQEYs-"  # the start of HubSpot's sample access token; the stand-in numbers the rest
ENV = {"APP_SECRET": WHSEC, "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET, "HUBSPOT_REFRESH_TOKEN": REFRESH_TOKEN}
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, TOKEN_PREFIX)
# HubSpot's error answers (status, message, correlationId, category), as its API reference documents them.
UNAUTHORIZED = {"status": "error", "message": "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
                "oauth-overview", "correlationId": "f2d1c7a0-3b8e-4c1d-9a57-6e0b2d4f8c13",
                "category": "INVALID_AUTHENTICATION"}
BAD_REFRESH_TOKEN = {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token",
                     "correlationId": "0b5e9d7c-2f41-4a86-b3c9-71d2e8a6f054"}
TEN_SECONDLY = {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT", "correlationId": "c6a0f1e2-8d3b-4e57-a914-5b2f7c0d9e68",
                "policyName": "TEN_SECONDLY_ROLLING"}


def config(api_url: str, token_url: str, extra: str = "") -> str:
    return "hub: {worker_threads: 2}\n" + APP_SOURCE + f"""
connections:
  hubspot:
    plugin: hubspot
    settings: {{api_url: "{api_url}"}}
    retry: {{max_attempts: 5, initial_delay: 0.5, max_delay: 5}}
    circuit_breaker: {{failure_threshold: 0}}
    oauth:
      grant: refresh_token
      token_url: "{token_url}"
      client_id: {CLIENT_ID}
      client_secret: {{$env: HUBSPOT_CLIENT_SECRET}}
      refresh_token: {{$env: HUBSPOT_REFRESH_TOKEN}}
{extra}routes:
  - name: nps
    actions:
      - connection: hubspot
        action: update_contact
        params:
          contact_id: "1246978"
          properties:
            last_nps_score: "{{{{ data.score.value }}}}"
            last_cx_response_id: "{{{{ data.link.id }}}}"
"""


class HubSpotTokens:
    """`POST /oauth/v1/token`: the core's RFC 6749 checks, then HubSpot's answer; each token's expiry kept."""

    def __init__(self, expires_in: int = 1800) -> None:
        self.expires_in, self.refusing = expires_in, False
        self.expiry: dict[str, float] = {}
        self.endpoint = TokenEndpoint("refresh_token", answer=self.answer)

    def install(self, httpserver) -> str:
        return self.endpoint.install(httpserver, "/oauth/v1/token")

    def answer(self, number: int) -> Response:
        if self.refusing:  # the app was uninstalled, or the refresh token deleted
            return Response(orjson.dumps(BAD_REFRESH_TOKEN), status=400, content_type="application/json;charset=utf-8")
        token = f"{TOKEN_PREFIX}{number:04d}"
        self.expiry[token] = time.time() + self.expires_in
        self.endpoint.issued.append(token)
        body = {"token_type": "bearer", "refresh_token": REFRESH_TOKEN, "access_token": token,
                "expires_in": self.expires_in}
        return Response(orjson.dumps(body), content_type="application/json;charset=utf-8")


class ContactsApi:
    """`PATCH /crm/v3/objects/contacts/{id}`: a JSON `properties` body and an issued, unexpired bearer token."""

    def __init__(self, tokens: HubSpotTokens, *, hold: float = 0.2) -> None:
        self.tokens, self.hold = tokens, hold
        self.refusing = False  # every token refused: the app lost its access
        self.arrivals: list[tuple[float, str, str]] = []  # (time, the event's response id, token)
        self.refused = 0
        self.problems: list[str] = []
        self.answer_first: Response | None = None
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        moment = time.time()
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        body = request.get_json(silent=True)
        if request.mimetype != "application/json" or not isinstance(body, dict) or set(body) != {"properties"}:
            self.problems.append(f"not a JSON properties body: {request.get_data()[:200]!r}")
            return Response(status=400)
        with self.lock:
            self.arrivals.append((moment, body["properties"]["last_cx_response_id"], token))
            if self.answer_first is not None:
                answer, self.answer_first = self.answer_first, None
                return answer
            if self.refusing or not moment < self.tokens.expiry.get(token, 0):
                self.refused += 1
                return Response(orjson.dumps(UNAUTHORIZED), status=401, content_type="application/json;charset=utf-8")
        time.sleep(self.hold)  # an API that takes its time, so both workers get work
        return Response(orjson.dumps(CONTACT), content_type="application/json;charset=utf-8")

    def delivered(self) -> set[str]:
        """The response ids of the events whose update HubSpot accepted."""
        return {response for _, response, token in self.arrivals if token in self.tokens.expiry}


def start(make_hub, httpserver, start_process, *, expires_in: int = 1800, extra: str = "", workers: int = 2,
          hold: float = 0.2):
    tokens = HubSpotTokens(expires_in)
    api = ContactsApi(tokens, hold=hold)
    token_url = tokens.install(httpserver)
    httpserver.expect_request(CONTACT_PATH, method="PATCH").respond_with_handler(api)
    hub = make_hub(config(httpserver.url_for("/").rstrip("/"), token_url, extra), plugins=[webhook, hubspot], env=ENV)
    hub.app.config["CXHUB_ADMIN_TOKEN"] = ADMIN
    processes = [start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"], env=ENV)
                 for _ in range(workers)]
    return hub, tokens, api, processes


def send_many(hub, numbers) -> None:
    for number in numbers:
        assert send(hub, detractor(number), f"msg_{number}").status_code == 202


def test_a_token_that_expires_mid_run_is_refreshed_once_for_both_workers(make_hub, httpserver, start_process):
    hub, tokens, api, workers = start(make_hub, httpserver, start_process, expires_in=3)
    send_many(hub, range(4))
    wait_for(lambda: succeeded(hub, 4), timeout=40, interval=0.2, what="the first deliveries")
    tokens.expires_in = 1800  # the next token lasts HubSpot's half hour
    first = f"{TOKEN_PREFIX}0001"
    wait_for(lambda: time.time() > tokens.expiry[first], timeout=10, what="the first token expiring")

    send_many(hub, range(4, 12))
    wait_for(lambda: succeeded(hub, 12), timeout=60, interval=0.2, what="the deliveries after the expiry")

    assert len(tokens.endpoint.requests) == 2 and tokens.endpoint.problems == []  # one refresh, for both workers
    assert api.refused == 0 and api.problems == []  # refreshed before it expired, not after a 401
    assert api.delivered() == {str(number) for number in range(12)}
    late = {response for _, response, token in api.arrivals if token == f"{TOKEN_PREFIX}0002"}
    assert late == {str(number) for number in range(4, 12)}
    logs = [worker.log.read_text() for worker in workers]
    assert all("hubspot.update_contact (route nps): succeeded" in log for log in logs), "both workers delivered"
    assert_hidden(logs, SECRETS)


@pytest.mark.parametrize("revocation", ["refresh token refused", "new tokens refused"])
def test_revoked_credentials_pause_the_connection_and_resuming_delivers_everything(make_hub, httpserver,
                                                                                   start_process, revocation):
    hub, tokens, api, workers = start(make_hub, httpserver, start_process, workers=1, hold=0.0)
    path = hub.app.config["CXHUB_CONFIG"]
    send_many(hub, range(3))
    wait_for(lambda: succeeded(hub, 3), timeout=40, interval=0.2, what="the first deliveries")

    # The app is uninstalled: HubSpot refuses its token, and then either the refresh (BAD_REFRESH_TOKEN)
    # or, where it still issues tokens, every new one too.
    api.refusing = True
    tokens.refusing = revocation == "refresh token refused"
    send_many(hub, range(3, 7))
    wait_for(lambda: state(hub, "hubspot")["status"] == "paused", timeout=40, interval=0.2, what="the pause")
    time.sleep(1)  # let the worker look at the other deliveries: they must wait, not fail
    rows = hub.store.reads.deliveries(limit=1000)
    waiting = [row for row in rows if row.status != "succeeded"]
    assert len(waiting) == 4 and {row.status for row in waiting} <= {"queued", "retrying"}  # nothing lost
    assert sorted(row.attempts for row in waiting) == [0, 0, 0, 1]  # only the one that met the refusal spent one

    reason = state(hub, "hubspot")["reason"]
    if revocation == "refresh token refused":
        assert reason.startswith("connection hubspot: the token endpoint localhost:")
        assert "refused the credentials (BAD_REFRESH_TOKEN: missing or unknown refresh token)" in reason
        assert len(tokens.endpoint.requests) == 2  # the first token, then the one refresh the 401 asked for
    else:
        assert "answered 401 to a newly renewed access token" in reason and "INVALID_AUTHENTICATION" in reason
        assert len(tokens.endpoint.requests) == 2
    listed = cxhub(start_process, path, "connections", env=ENV)
    [line] = [line for line in listed.splitlines() if line.startswith("hubspot ")]
    assert line.split()[:3] == ["hubspot", "hubspot", "paused"] and f"until resumed: {reason}" in line
    assert_hidden(everything_shown(hub, [worker.log.read_text() for worker in workers], listed), SECRETS)

    # The admin reinstalls the app (HubSpot accepts the credentials again) and resumes the connection.
    api.refusing = tokens.refusing = False
    assert "resumed hubspot" in cxhub(start_process, path, "connections", "resume", "hubspot", env=ENV).splitlines()
    wait_for(lambda: succeeded(hub, 7), timeout=60, interval=0.2, what="every waiting delivery delivered")
    assert api.delivered() == {str(number) for number in range(7)}
    assert tokens.endpoint.problems == [] and api.problems == []
    [line] = [line for line in cxhub(start_process, path, "connections", env=ENV).splitlines()
              if line.startswith("hubspot ")]
    assert line.split()[:3] == ["hubspot", "hubspot", "ok"]


def test_the_rate_limit_holds_across_both_workers(make_hub, httpserver, start_process):
    """HubSpot's default is 100 requests per 10 s (ConnectionInfo.rate_limit); a small one shows it holding."""
    hub, tokens, api, _ = start(make_hub, httpserver, start_process, extra="    rate_limit: {requests: 3, per: 2s}\n",
                                hold=0.05)
    send_many(hub, range(9))
    wait_for(lambda: succeeded(hub, 9), timeout=60, interval=0.2, what="every delivery")
    moments = sorted(moment for moment, _, _ in api.arrivals)
    assert len(moments) == 9 and api.refused == 0  # none refused, none sent twice
    # Never a fourth request within the window (less a margin for the time a request takes to arrive).
    assert all(later - earlier > 2 - 0.25 for earlier, later in zip(moments, moments[3:])), moments
    assert all(row.attempts == 1 for row in hub.store.reads.deliveries(limit=1000))  # waiting spent no attempt
    assert len(tokens.endpoint.requests) == 1  # the token request is not an API request: it takes no room


def test_a_429_with_retry_after_slows_every_worker(make_hub, httpserver, start_process):
    hub, tokens, api, _ = start(make_hub, httpserver, start_process, hold=0.3)
    api.answer_first = Response(orjson.dumps(TEN_SECONDLY), status=429, headers={"Retry-After": "3"},
                                content_type="application/json;charset=utf-8")
    send_many(hub, range(10))
    wait_for(lambda: succeeded(hub, 10), timeout=60, interval=0.2, what="every delivery")
    (refused_at, refused, _), *rest = sorted(api.arrivals)
    # Requests already on their way when the 429 came may still arrive; none is sent after, until Retry-After.
    assert not [moment for moment, _, _ in rest if refused_at + 0.5 < moment < refused_at + 3 - 0.2], rest
    assert Counter(row.attempts for row in hub.store.reads.deliveries(limit=1000)) == {1: 9, 2: 1}
    assert api.delivered() == {str(number) for number in range(10)}
