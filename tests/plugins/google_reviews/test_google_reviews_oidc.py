"""Pub/Sub push authenticated by its OIDC token: tokens signed here with a key whose JWK set a
pytest-httpserver stand-in for Google's certs endpoint publishes, sent over HTTP to the hub."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug import Response

import plugins.google_reviews as google_reviews
from hub.config import ConfigError, parse_config
from hub.pluginhost import PluginHost, build_plugin_manager
from plugins.google_reviews import oidc
from tests.conftest import fixture_bytes

ACCOUNT, LOCATION, ACCESS_TOKEN = "108219477364531127071", "4512076309871534571", "ya29.test-token"
AUDIENCE = "https://hub.example.com/hooks/google"
PUSHER = "cxhub-push@cx-example.iam.gserviceaccount.com"
CERTS = "/oauth2/v3/certs"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "a50f6e70ef4b548a5fd9142eecd1fb8f54dce9ee"
NOTIFICATION = fixture_bytes("google_reviews/pubsub_new_review.json")
REVIEW = json.loads(fixture_bytes("google_reviews/reviews_page.json"))["reviews"][0]


def jwks(*keys: tuple[str, rsa.RSAPrivateKey]) -> dict:
    return {"keys": [{**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}
                     for kid, key in keys]}


def id_token(key=KEY, kid: str = KID, algorithm: str = "RS256", **changes) -> str:
    """An ID token as Pub/Sub sends it; a change of None leaves that claim out."""
    now = int(time.time())
    claims = {"aud": AUDIENCE, "azp": "113774264463038321964", "email": PUSHER, "email_verified": True,
              "exp": now + 3600, "iat": now, "iss": "https://accounts.google.com", "sub": "113774264463038321964"}
    claims = {name: value for name, value in {**claims, **changes}.items() if value is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def unsigned_token() -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    claims = jwt.decode(id_token(), options={"verify_signature": False})
    return f"{part({'alg': 'none', 'kid': KID})}.{part(claims)}."


def hub_config(httpserver, oidc_settings: str) -> str:
    return f"""
sources:
  google:
    plugin: google_reviews
    settings:
      account_id: "{ACCOUNT}"
      location_id: "{LOCATION}"
      access_token: {{$env: GOOGLE_TOKEN}}
      api_url: "{httpserver.url_for("/")}"
{oidc_settings}
"""


OIDC_SETTINGS = f"""      audience: "{AUDIENCE}"
      service_account_email: {PUSHER}
"""


@pytest.fixture(autouse=True)
def fresh_key_cache(monkeypatch):
    monkeypatch.setattr(oidc, "_KEY_SETS", {})


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request(CERTS).respond_with_json(jwks((KID, KEY)))
    httpserver.expect_request(f"/v4/{REVIEW['name']}").respond_with_json(REVIEW)
    settings = OIDC_SETTINGS + f'      certs_url: "{httpserver.url_for(CERTS)}"\n'
    return make_hub(hub_config(httpserver, settings), plugins=[google_reviews], env={"GOOGLE_TOKEN": ACCESS_TOKEN})


def push(hub, token: str | None, body: bytes = NOTIFICATION):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return hub.post("google", body, headers=headers)


def hits(httpserver, path: str) -> int:
    return sum(1 for request, _ in httpserver.log if request.path.startswith(path))


def test_a_push_with_a_valid_oidc_token_is_accepted_without_a_source_token(hub, httpserver):
    response = requests.post(f"{hub.serve()}/hooks/google", data=NOTIFICATION, timeout=10,
                             headers={"Content-Type": "application/json", "Authorization": f"Bearer {id_token()}"})
    assert response.status_code == 202, response.text
    [event] = hub.store.reads.events()
    assert (event.type, event.subject) == ("cx.review.created", REVIEW["reviewId"])


@pytest.mark.parametrize("issuer", ["accounts.google.com", "https://accounts.google.com"])
def test_both_spellings_of_googles_issuer_are_accepted(hub, issuer):
    assert push(hub, id_token(iss=issuer)).status_code == 202


@pytest.mark.parametrize("spelling", [("messageId", "publishTime"), ("message_id", "publish_time")])
def test_a_push_envelope_in_either_spelling_is_read(hub, spelling):
    envelope = json.loads(NOTIFICATION)
    for name in ("messageId", "publishTime", "message_id", "publish_time"):
        if name not in spelling:
            del envelope["message"][name]
    assert push(hub, id_token(), json.dumps(envelope).encode()).status_code == 202
    assert len(hub.store.reads.events()) == 1


NOW = int(time.time())
BAD_TOKENS = {
    "wrong-audience": (lambda: id_token(aud="https://elsewhere.example.com/push"), "not for this source's audience"),
    "no-audience": (lambda: id_token(aud=None), "has no aud claim"),
    "wrong-email": (lambda: id_token(email="someone@cx-example.iam.gserviceaccount.com"),
                    "not of this source's service_account_email"),
    "no-email": (lambda: id_token(email=None), "not of this source's service_account_email"),
    "email-not-verified": (lambda: id_token(email_verified=False), "does not say its email is verified"),
    "email-verified-as-text": (lambda: id_token(email_verified="true"), "does not say its email is verified"),
    "expired": (lambda: id_token(iat=NOW - 7200, exp=NOW - 3600), "has expired"),
    "no-expiry": (lambda: id_token(exp=None), "has no exp claim"),
    "issued-in-the-future": (lambda: id_token(iat=NOW + 3600, exp=NOW + 7200), "issued in the future"),
    "wrong-issuer": (lambda: id_token(iss="https://issuer.example.com"), "not issued by accounts.google.com"),
    "unknown-kid": (lambda: id_token(kid="a-key-google-never-published"), "signed by a key Google does not publish"),
    "no-kid": (lambda: jwt.encode({"aud": AUDIENCE}, KEY, algorithm="RS256"), "names no signing key"),
    "other-key": (lambda: id_token(key=OTHER_KEY), "signature does not verify"),
    "hs256": (lambda: id_token(key="a-shared-secret-of-32-bytes-or-more!", algorithm="HS256"),
              "must be signed with RS256"),
    "rs512": (lambda: id_token(algorithm="RS512"), "must be signed with RS256"),
    "alg-none": (unsigned_token, "must be signed with RS256"),
    "not-a-jwt": (lambda: "ya29.an-access-token-not-an-id-token", "is not a JWT"),
    "tampered": (lambda: id_token()[:-6] + "AAAAAA", "signature does not verify"),
}


@pytest.mark.parametrize(("make_token", "reason"), BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_push_without_a_valid_oidc_token_is_refused_with_401_and_nothing_stored(hub, httpserver, make_token, reason):
    token = make_token()
    response = push(hub, token)
    assert response.status_code == 401, response.json
    assert response.json["error"]["code"] == "invalid_signature"
    assert reason in response.json["error"]["message"]
    assert token not in response.get_data(as_text=True)
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []
    assert hits(httpserver, "/v4/") == 0  # the review is not fetched for a stranger


@pytest.mark.parametrize(("authorization", "reason"), [(None, "carries no Authorization header"),
                                                       ("Basic dXNlcjpwYXNz", "is not 'Bearer <OIDC token>'"),
                                                       ("Bearer ", "is not 'Bearer <OIDC token>'")])
def test_a_push_without_a_bearer_token_is_refused_with_401(hub, authorization, reason):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = hub.post("google", NOTIFICATION, headers=headers)
    assert response.status_code == 401 and reason in response.json["error"]["message"]
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


def test_googles_keys_are_fetched_once_for_many_pushes(hub, httpserver):
    statuses = [push(hub, id_token()).status_code for _ in range(3)]
    assert statuses == [202, 200, 200]  # the same notification again is a duplicate
    assert push(hub, id_token(kid="made-up")).status_code == 401  # within the refetch gap: no second fetch
    assert hits(httpserver, CERTS) == 1


@pytest.mark.parametrize("answer", [{"status": 500, "response_data": "backend error"},
                                    {"status": 200, "response_data": '{"keys": []}'},
                                    {"status": 200, "response_data": "<html>"}])
def test_keys_that_cannot_be_fetched_answer_503_and_store_nothing(make_hub, httpserver, answer):
    httpserver.expect_request("/broken-certs").respond_with_data(content_type="application/json", **answer)
    settings = OIDC_SETTINGS + f'      certs_url: "{httpserver.url_for("/broken-certs")}"\n'
    hub = make_hub(hub_config(httpserver, settings), plugins=[google_reviews], env={"GOOGLE_TOKEN": ACCESS_TOKEN})
    response = push(hub, id_token())
    assert response.status_code == 503 and response.json["error"]["code"] == "signing_keys_unavailable"
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []  # unchecked: never replayed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_unknown_key_fetches_the_keys_again_at_most_once_per_gap_and_kept_keys_expire(httpserver):
    published = [jwks((KID, KEY))]
    httpserver.expect_request("/rotating").respond_with_handler(
        lambda request: Response(json.dumps(published[-1]), content_type="application/json"))
    clock = Clock()
    keys = oidc.GoogleKeys(httpserver.url_for("/rotating"), clock=clock)
    assert keys.key(KID).key_id == KID
    published.append(jwks((KID, KEY), ("new", OTHER_KEY)))  # Google rotates its keys
    clock.now += oidc.REFETCH_GAP_SECONDS - 1
    with pytest.raises(oidc.InvalidSignature):
        keys.key("new")  # too soon after the last fetch
    assert hits(httpserver, "/rotating") == 1
    clock.now += 1
    assert keys.key("new").key_id == "new"
    assert keys.key(KID).key_id == KID
    assert hits(httpserver, "/rotating") == 2
    published.append(jwks(("new", OTHER_KEY)))  # the old key is withdrawn
    clock.now += oidc.KEEP_SECONDS
    with pytest.raises(oidc.InvalidSignature):
        keys.key(KID)
    assert hits(httpserver, "/rotating") == 3


def test_keys_that_failed_to_fetch_are_tried_again_only_after_the_gap(httpserver):
    answers = [Response("backend error", status=500)]
    httpserver.expect_request("/flaky").respond_with_handler(lambda request: answers[-1])
    clock = Clock()
    keys = oidc.GoogleKeys(httpserver.url_for("/flaky"), clock=clock)
    with pytest.raises(oidc.KeysUnavailable, match="could not be fetched: GET to .* answered 500"):
        keys.key(KID)
    answers.append(Response(json.dumps(jwks((KID, KEY))), content_type="application/json"))
    clock.now += oidc.REFETCH_GAP_SECONDS - 1
    with pytest.raises(oidc.KeysUnavailable, match="tried again at most every 60 s"):
        keys.key(KID)
    assert hits(httpserver, "/flaky") == 1
    clock.now += 1
    assert keys.key(KID).key_id == KID
    answers.append(Response("backend error", status=503))
    clock.now += oidc.KEEP_SECONDS  # stale keys are not used past KEEP_SECONDS, even when a fetch fails
    with pytest.raises(oidc.KeysUnavailable):
        keys.key(KID)
    with pytest.raises(oidc.KeysUnavailable):
        keys.key(KID)
    assert hits(httpserver, "/flaky") == 3


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([google_reviews], discover=False))


def config_problems(host, httpserver, settings: str) -> list[str]:
    try:
        parse_config(hub_config(httpserver, settings), "cxhub.yaml", host, {"GOOGLE_TOKEN": ACCESS_TOKEN})
    except ConfigError as error:
        return [str(problem) for problem in error.problems]
    return []


@pytest.mark.parametrize(("settings", "expected"), [
    (f'      audience: "{AUDIENCE}"\n', "settings.service_account_email: audience is set, so service_account_email"),
    (f"      service_account_email: {PUSHER}\n", "settings.audience: service_account_email is set, so audience"),
    ("", "sources.google.token: this source checks no signature, so it needs a token"),
])
def test_check_config_wants_both_oidc_settings_or_a_source_token(host, httpserver, settings, expected):
    problems = config_problems(host, httpserver, settings)
    assert any(expected in problem for problem in problems), problems


def test_a_source_with_both_oidc_settings_needs_no_source_token(host, httpserver):
    assert config_problems(host, httpserver, OIDC_SETTINGS) == []
