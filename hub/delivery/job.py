"""The RQ job: module-level and given only a delivery id, as RQ jobs should be."""

from __future__ import annotations

from flask import current_app

RUNNER = "cxhub.runner"


def deliver(delivery_id: str) -> None:
    """Run one delivery in the worker's application (the worker pushes its app context)."""
    current_app.extensions[RUNNER].run(delivery_id)
