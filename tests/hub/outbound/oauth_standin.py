"""A token endpoint stand-in that checks each token request as RFC 6749 and RFC 7523 say it is made.

It answers as the spec's examples do (section 5.1: `access_token`, `token_type`, `expires_in`;
section 5.2: `{"error": ...}` with status 400 or 401). Any request it finds wrong is answered
`invalid_request` and kept in `problems`, which a test asserts is empty.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs, quote_plus

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug import Request, Response

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ID = "cxhub-client-7f3a"
CLIENT_SECRET = "client-secret-9d2e4b7c1a"
REFRESH_TOKEN = "refresh-token-5c8f0e2d6b"


def rsa_key_pair() -> tuple[str, Any]:
    """A fresh 2048-bit key: its PEM (what the admin puts in the environment) and its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


@dataclass
class TokenEndpoint:
    """Register with `install(httpserver, path)`; `answer` (optional) decides each answer after the checks."""

    grant: str  # client_credentials, refresh_token or jwt_bearer
    client_auth: str = "client_secret_post"
    scope: str | None = None
    expires_in: int | None = 3600
    refresh_token: str = REFRESH_TOKEN
    rotate_to: str | None = None  # answer the first refresh with this new refresh token
    public_key: Any = None
    subject: str | None = None
    audience: str | None = None
    answer: Callable[[int], Response | None] | None = None  # given the request's number (1-based)
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, httpserver: Any, path: str = "/oauth/token") -> str:
        httpserver.expect_request(path).respond_with_handler(self.handle)
        return httpserver.url_for(path)

    def handle(self, request: Request) -> Response:
        with self.lock:
            form = parse_qs(request.get_data(as_text=True), keep_blank_values=True, strict_parsing=False)
            self.requests.append(form)
            number = len(self.requests)
            problem = self.check(request, form)
            if problem:
                self.problems.append(problem)
                return _json(400, {"error": "invalid_request", "error_description": problem})
            if self.answer is not None and (custom := self.answer(number)) is not None:
                return custom
            token = f"access-{self.grant}-{number}"
            self.issued.append(token)
            body: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            if self.grant == "refresh_token" and self.rotate_to and form["refresh_token"] == [self.refresh_token]:
                body["refresh_token"] = self.refresh_token = self.rotate_to
            return _json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def check(self, request: Request, form: dict[str, list[str]]) -> str | None:
        if request.method != "POST":
            return f"the token request must be a POST, not {request.method}"
        if request.mimetype != "application/x-www-form-urlencoded":
            return f"the token request must be form-encoded, not {request.mimetype}"
        if any(len(values) != 1 for values in form.values()):
            return "parameters must not repeat (RFC 6749 section 3.2)"
        params = {name: values[0] for name, values in form.items()}
        expected_grant = JWT_BEARER if self.grant == "jwt_bearer" else self.grant
        if params.get("grant_type") != expected_grant:
            return f"grant_type must be {expected_grant}, got {params.get('grant_type')!r}"
        if self.scope is not None and params.get("scope") != self.scope:
            return f"scope must be {self.scope!r}, got {params.get('scope')!r}"
        if self.grant == "jwt_bearer":
            return self.check_assertion(request, params)
        problem = self.check_client_auth(request, params)
        if problem:
            return problem
        if self.grant == "refresh_token":
            if params.get("refresh_token") != self.refresh_token:
                return "refresh_token is not the current one"
            allowed = {"grant_type", "refresh_token", "scope", "client_id", "client_secret"}
        else:
            allowed = {"grant_type", "scope", "client_id", "client_secret"}
        return f"unexpected parameters {sorted(set(params) - allowed)}" if set(params) - allowed else None

    def check_client_auth(self, request: Request, params: dict[str, str]) -> str | None:
        """RFC 6749 section 2.3.1: Basic with the form-encoded id and secret, or both in the body, never both ways."""
        header = request.headers.get("Authorization")
        if self.client_auth == "client_secret_basic":
            pair = f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}".encode()
            if header != "Basic " + base64.b64encode(pair).decode():
                return "client_secret_basic: the Authorization header is not Basic base64(id:secret)"
            if "client_secret" in params:
                return "client_secret_basic: the secret must not also be in the body"
            return None
        if header is not None:
            return "client_secret_post: no Authorization header expected"
        if (params.get("client_id"), params.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return "client_secret_post: client_id and client_secret must be in the body"
        return None

    def check_assertion(self, request: Request, params: dict[str, str]) -> str | None:
        """RFC 7523 section 3 and Salesforce's JWT bearer flow: an RS256 JWT with iss, sub, aud and a near exp."""
        if request.headers.get("Authorization") is not None or "client_secret" in params:
            return "the JWT bearer grant sends no client secret"
        if set(params) - {"grant_type", "assertion", "scope"}:
            return f"unexpected parameters {sorted(set(params) - {'grant_type', 'assertion', 'scope'})}"
        try:
            header = jwt.get_unverified_header(params.get("assertion", ""))
            claims = jwt.decode(params["assertion"], self.public_key, algorithms=["RS256"], audience=self.audience,
                                issuer=CLIENT_ID, options={"require": ["iss", "sub", "aud", "exp"]})
        except (jwt.PyJWTError, KeyError) as error:
            return f"the assertion does not verify: {error}"
        if header.get("alg") != "RS256":
            return f"the assertion must be signed RS256, not {header.get('alg')}"
        if claims["sub"] != self.subject:
            return f"sub must be {self.subject!r}"
        if not 0 < claims["exp"] - time.time() <= 180 + 5:
            return "exp must be within 3 minutes (Salesforce)"
        return None


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def oauth_error(status: int, error: str, description: str) -> Response:
    return _json(status, {"error": error, "error_description": description})
