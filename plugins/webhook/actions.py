"""`forward`: POST the canonical CloudEvent to the connection's URL, signed per Standard Webhooks."""

from __future__ import annotations

from typing import Any, Mapping

import orjson

from hub.plugin import ActionResult, Connection, ConnectionGone, Delivery, GiveUp, sign_standard_webhook


def forward(connection: Connection, event: Mapping[str, Any], delivery: Delivery) -> ActionResult:
    """The webhook-id is the delivery's idempotency key: the same on every retry, so receivers can dedupe.

    Each configured secret signs the body; during a rotation receivers accept either signature.
    A 410 Gone pauses the connection until an admin resumes it, rather than dead-lettering
    every delivery after it.
    """
    body = orjson.dumps(event)
    secrets = [secret.reveal() for secret in connection.settings["secret"]]
    headers = sign_standard_webhook(secrets, delivery.idempotency_key, body)
    headers["Content-Type"] = "application/cloudevents+json"
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    try:
        response = connection.http.post(data=body, headers=headers)
    except GiveUp as error:
        if error.status_code == 410:  # Standard Webhooks: the receiver wants nothing more from this sender
            raise ConnectionGone(f"the receiver answered 410 Gone: {error.message}", status_code=410) from None
        raise
    return ActionResult(detail={"status": response.status_code})
