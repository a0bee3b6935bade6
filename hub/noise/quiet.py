"""Quiet hours: a connection that people read waits until morning (`connections.<name>.quiet_hours`)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from hub.runtime import Hub
from hub.timeofday import local_text


class Quiet(NamedTuple):
    """A connection in its quiet hours: until when (UTC), and why, as the console and CLI say it."""

    until: datetime
    reason: str


def quiet_now(hub: Hub, connection: str, moment: datetime) -> Quiet | None:
    """Whether deliveries to `connection` wait at `moment`, and until when; None when they may go."""
    config = hub.config.connections.get(connection)
    if config is None or config.quiet_hours is None:
        return None
    until = config.quiet_hours.until(moment)
    if until is None:
        return None
    return Quiet(until, f"quiet hours of connection {connection} ({config.quiet_hours.describe()}): held until "
                        f"{local_text(until, config.quiet_hours.zone)}")
