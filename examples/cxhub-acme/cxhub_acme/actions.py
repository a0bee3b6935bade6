"""`add_note`: POST a note to the Acme API, with the delivery's idempotency key."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionResult, Connection, Delivery


def add_note(connection: Connection, params: Mapping[str, Any], delivery: Delivery) -> ActionResult:
    response = connection.http.post(
        "v1/notes", json={"body": params["body"]},
        headers={"Authorization": f"Bearer {connection.settings['token'].reveal()}",
                 "Idempotency-Key": delivery.idempotency_key},
    )
    return ActionResult(external_id=str(response.json()["id"]))
