"""Calls to Slack's Web API with the bot token, and what its answers mean for the delivery.

The Web API answers most errors with HTTP 200 and `{"ok": false, "error": "<code>"}`; the shared
client already retries transport errors, 429 (after its Retry-After) and 5xx. On top of it:
codes saying the token no longer works pause the connection (AuthFailed) (every delivery would fail the same
way until an admin fixes it), transient codes are retried, and every other code gives up with
the code as the reason (`channel_not_found`, `message_not_found`, `is_archived`, ...).
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import AuthFailed, Connection, GiveUp, RetryLater

TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})
CREDENTIAL_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
                               "missing_scope"})


def call(connection: Connection, method: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
    """POST `body` as JSON to the Web API `method` with the bot token; the answer of a call that worked."""
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    token = connection.settings["bot_token"]
    if token is None:
        raise GiveUp(f"{method} needs a bot_token: an incoming webhook can only post new messages")
    try:
        response = connection.http.post(method, json=dict(body), headers={"Authorization": f"Bearer {token.reveal()}"})
    except GiveUp as refused:
        if refused.status_code in (401, 403):
            raise _paused(method, f"HTTP {refused.status_code}", refused.status_code) from None
        raise
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise GiveUp(f"{method}: Slack answered {response.status_code} without a JSON object")
    if answer.get("ok") is True:
        return answer
    error = str(answer.get("error") or "unknown_error")
    if error in CREDENTIAL_ERRORS:
        raise _paused(method, error, response.status_code)
    if error in TRANSIENT_ERRORS:
        raise RetryLater(f"{method}: {error}", status_code=response.status_code)
    raise GiveUp(f"{method}: {error}", status_code=response.status_code)


def _paused(method: str, reason: str, status_code: int) -> AuthFailed:
    return AuthFailed(f"Slack refused the connection's bot token ({method}: {reason}); fix the token, then "
                      "resume the connection", status_code=status_code)
