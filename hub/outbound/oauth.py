"""One token request to a connection's OAuth 2.0 token endpoint, made with Authlib, its answer mapped to a decision.

Why Authlib (its requests client): it implements all three grants a connection uses, the
client credentials and refresh token grants of RFC 6749 (sections 4.4 and 6, with client
authentication by HTTP Basic or in the form body, section 2.3.1) and the JWT bearer assertion
grant of RFC 7523 (the assertion built and signed RS256 by its JOSE library), and it reads
token and error answers (section 5.1, 5.2) the same way for each. requests-oauthlib has no
assertion grant, so Salesforce's server-to-server flow would mean signing JWTs by hand.

Authlib only makes the request here. Keeping the token for every thread and worker process,
refreshing it before it expires and once on a 401, is `hub.outbound.tokens`' job (through
Redis): Authlib's sessions keep their token in one process's memory.

An endpoint that is down (no connection, timeout, 408, 429, 5xx, `temporarily_unavailable`)
means RetryLater; one that refuses the grant (`invalid_grant`, `invalid_client`, any other 4xx,
also when its JSON error is the vendor's own rather than OAuth's, as HubSpot's `BAD_REFRESH_TOKEN`)
means AuthFailed, which pauses the connection until an admin fixes the credentials.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import AssertionSession, OAuth2Session
from joserfc.jwk import RSAKey

from hub.config.model import OAuthConfig
from hub.config.oauth_keys import pem_text
from hub.plugin.errors import AuthFailed, RetryLater
from hub.plugin.http import RETRYABLE_STATUSES, retry_after_seconds

DEFAULT_LIFETIME = 3600.0  # a token answer without expires_in (Salesforce's): a 401 renews it sooner if need be
ASSERTION_SECONDS = 180  # exp of a JWT bearer assertion: Salesforce accepts at most 3 minutes
MAX_DESCRIPTION = 200


@dataclass(frozen=True)
class Token:
    """An access token and how many seconds it lasts. The values never print."""

    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str | None = field(default=None, repr=False)  # a rotated refresh token, when the answer had one


def request_token(config: OAuthConfig, *, refresh_token: str | None, timeout: float, connection: str) -> Token:
    """Ask the token endpoint for a new access token; RetryLater when it is down, AuthFailed when it refuses."""
    statuses: list[tuple[int, str | None]] = []
    session = _session(config, timeout)  # an Authlib session (Authlib has no type information)
    session.hooks["response"].append(lambda response, *args, **kwargs: statuses.append(
        (response.status_code, response.headers.get("Retry-After"))))
    host = urlsplit(config.token_url).netloc
    try:
        if isinstance(session, AssertionSession):
            answer = session.refresh_token()
        elif config.grant == "refresh_token":
            answer = session.refresh_token(config.token_url, refresh_token=refresh_token)
        else:
            answer = session.fetch_token(config.token_url, grant_type="client_credentials")
    except requests.Timeout:
        raise RetryLater(f"the token endpoint {host} timed out after {timeout}s") from None
    except requests.TooManyRedirects:
        raise AuthFailed(f"connection {connection}: the token endpoint {host} answered with a redirect; "
                         "check oauth.token_url, then resume the connection") from None
    except requests.ConnectionError as error:
        raise RetryLater(f"the token endpoint {host} failed to connect: {type(error).__name__}") from None
    except requests.HTTPError:  # an error answer that is not OAuth's JSON
        status, after = statuses[-1] if statuses else (0, None)
        raise _refused(connection, host, status, after, None, None) from None
    except AuthlibBaseError as error:  # an OAuth error answer (RFC 6749 section 5.2)
        status, after = statuses[-1] if statuses else (400, None)
        raise _refused(connection, host, status, after, error.error, _described(error.description, config)) from None
    except ValueError:
        raise AuthFailed(f"connection {connection}: the token endpoint {host} answered with something that is not a "
                         "token (not a JSON object); check oauth.token_url, then resume the connection") from None
    finally:
        session.close()
    status, after = statuses[-1] if statuses else (200, None)
    if status >= 400:  # a JSON error answer in the vendor's own words, not OAuth's (HubSpot's BAD_REFRESH_TOKEN)
        code, description = _vendor_error(answer)
        raise _refused(connection, host, status, after, code, _described(description, config))
    return _token(answer, connection, host, refresh_token)


def _vendor_error(answer: Any) -> tuple[str | None, str | None]:
    """The code and message of an error object without OAuth's `error` key: HubSpot answers a refused refresh
    400 `{"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token", ...}`."""
    if not isinstance(answer, dict):
        return None, None
    code = answer.get("status") or answer.get("errorCode") or answer.get("code")
    message = answer.get("message") or answer.get("error_description")
    code_text = str(code)[:60] if isinstance(code, (str, int)) and not isinstance(code, bool) else None
    if code_text is not None and not (code_text.isascii() and code_text.replace("_", "").replace("-", "").isalnum()):
        code_text = None
    return code_text, str(message) if isinstance(message, str) else None


def _session(config: OAuthConfig, timeout: float) -> Any:
    """An Authlib session for the grant; like the connection's own client, it reads no ~/.netrc and follows no redirect."""
    settings: dict[str, Any] = {
        "trust_env": False, "max_redirects": 0,
        "proxies": requests.utils.get_environ_proxies(config.token_url),
        "verify": os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True,
    }
    if config.grant == "jwt_bearer":
        assert config.private_key is not None  # the schema requires it for this grant
        return AssertionSession(token_endpoint=config.token_url, issuer=config.client_id, subject=config.subject,
                                audience=config.audience, scope=config.scope, default_timeout=timeout,
                                key=RSAKey.import_key(pem_text(config.private_key)), alg="RS256", expires_in=ASSERTION_SECONDS,
                                **settings)
    secret = config.client_secret.reveal() if config.client_secret else None
    method = config.client_auth if secret is not None else "none"  # a public client sends only its client_id
    return OAuth2Session(client_id=config.client_id, client_secret=secret, token_endpoint_auth_method=method,
                         scope=config.scope, default_timeout=timeout, **settings)


def _refused(connection: str, host: str, status: int, after: str | None, error: str | None,
             description: str | None) -> RetryLater | AuthFailed:
    what = f"{error}: {description}" if error and description else error or f"status {status}"
    if status in RETRYABLE_STATUSES or status >= 500 or error == "temporarily_unavailable":
        return RetryLater(f"the token endpoint {host} answered {status} ({what})", status_code=status or None,
                          after=retry_after_seconds(after))
    return AuthFailed(f"connection {connection}: the token endpoint {host} refused the credentials ({what}); fix "
                      f"them, then resume the connection", status_code=status or None)


def _described(description: str | None, config: OAuthConfig) -> str | None:
    """The endpoint's error_description, cut short, with any of the connection's secrets blanked out."""
    if not description:
        return None
    text = str(description)[:MAX_DESCRIPTION]
    for secret in (config.client_secret, config.refresh_token):
        if secret is not None and secret.reveal():
            text = text.replace(secret.reveal(), "********")
    return "".join(character if character.isprintable() else " " for character in text)


def _token(answer: Any, connection: str, host: str, refresh_token: str | None) -> Token:
    access = answer.get("access_token") if isinstance(answer, dict) else None
    kind = str(answer.get("token_type") or "bearer") if isinstance(answer, dict) else ""
    if not isinstance(access, str) or not access or not access.isascii() or not access.isprintable():
        raise AuthFailed(f"connection {connection}: the token endpoint {host} answered without a usable access_token")
    if kind.lower() != "bearer":
        raise AuthFailed(f"connection {connection}: the token endpoint {host} gave a {kind[:40]!r} token; cxhub "
                         "sends bearer tokens only (RFC 6750)")
    try:
        lifetime = float(answer["expires_in"]) if answer.get("expires_in") is not None else DEFAULT_LIFETIME
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    rotated = answer.get("refresh_token")
    return Token(access, max(1.0, lifetime),
                 rotated if isinstance(rotated, str) and rotated and rotated != refresh_token else None)
