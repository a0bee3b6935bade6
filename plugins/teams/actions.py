"""`post_card`: POST a card to a Teams webhook and read the answer the way each kind of webhook gives it.

A Workflows webhook answers 202 Accepted (the flow posts the card afterwards). A legacy
connector answers 200 with the body `1`, and reports Teams' own refusal in a 200 too, as the text
"Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429
with ContextId ...": that status is read out of the text and treated as if it were the answer's.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from hub.plugin import ActionResult, AuthFailed, Connection, GiveUp, RetryLater, full_text_location
from plugins.teams.cards import fitted_payload, style_for

HEADERS = {"Content-Type": "application/json; charset=utf-8"}
WRAPPED_ERROR = re.compile(r"returned HTTP error (\d{3})")
RETRYABLE = frozenset({408, 425, 429})
BAD_CREDENTIALS = frozenset({401, 403})


def post_card(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    payload = fitted_payload(connection.settings["format"], params, style_for(params, event),
                             full_text_location(event))
    try:
        response = connection.http.post(data=payload, headers=HEADERS)
    except GiveUp as error:
        if error.status_code in BAD_CREDENTIALS:
            raise AuthFailed(f"{error.message} (the webhook URL is no longer accepted: create a new one and "
                             "set it in webhook_url, then resume the connection)",
                             status_code=error.status_code) from None
        raise
    if not 200 <= response.status_code < 300:
        raise GiveUp(f"the webhook answered {response.status_code}, not a success", status_code=response.status_code)
    wrapped = WRAPPED_ERROR.search(response.text[:2000])
    if wrapped:
        raise_wrapped(int(wrapped.group(1)), response.text[:500])
    return ActionResult(detail={"status": response.status_code})


def raise_wrapped(status: int, body: str) -> None:
    """A connector's refusal reported inside a 200: retried, paused or given up as the status says."""
    message = f"the connector answered 200 but Teams refused the card: {body}"
    if status in RETRYABLE or status >= 500:
        raise RetryLater(message, status_code=status)
    if status in BAD_CREDENTIALS:
        raise AuthFailed(message, status_code=status)
    raise GiveUp(message, status_code=status)
