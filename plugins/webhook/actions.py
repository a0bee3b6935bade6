"""`forward`: POST the canonical CloudEvent to the connection's URL, signed per Standard Webhooks."""

from __future__ import annotations

from typing import Any, Mapping

import orjson

from hub.plugin import ActionResult, Connection, Delivery, sign_standard_webhook


def forward(connection: Connection, event: Mapping[str, Any], delivery: Delivery) -> ActionResult:
    """The webhook-id is the delivery's idempotency key: the same on every retry, so receivers can dedupe."""
    body = orjson.dumps(event)
    headers = sign_standard_webhook(connection.settings["secret"].reveal(), delivery.idempotency_key, body)
    headers["Content-Type"] = "application/cloudevents+json"
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    response = connection.http.post(data=body, headers=headers)
    return ActionResult(detail={"status": response.status_code})
