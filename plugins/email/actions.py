"""`send`: one email per delivery, built from the rendered parameters and sent over SMTP."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionResult, Connection, Delivery
from plugins.email import transport
from plugins.email.message import build_message, recipients


def send(connection: Connection, params: Mapping[str, Any], delivery: Delivery) -> ActionResult:
    message = build_message(connection.settings, params, delivery)
    refused = transport.send(connection.settings, message, recipients(params))
    detail: dict[str, Any] = {"recipients": len(recipients(params)) - len(refused)}
    if refused:
        detail["refused"] = refused
    return ActionResult(external_id=str(message["Message-ID"]), detail=detail)
