"""The hub's parts for one application, kept in `app.extensions["cxhub"]`.

`Hub` only holds the parts; `hub.app.create_app` builds them. It sits below ingest and
delivery, which take it as their context, so it names their classes for the type checker only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from hub.config.model import HubConfig
from hub.pluginhost import PluginHost
from hub.store import Store

if TYPE_CHECKING:
    from redis import Redis

    from hub.delivery.queue import DeliveryQueue
    from hub.ingest.intake import IntakeLog
    from hub.ingest.ratelimit import SourceLimiter
    from hub.routing.router import Router

EXTENSION = "cxhub"


@dataclass
class Hub:
    config: HubConfig
    plugins: PluginHost
    store: Store
    redis: Redis
    queue: DeliveryQueue
    router: Router
    limiter: SourceLimiter
    intake: IntakeLog


def current_hub() -> Hub:
    hub: Hub = current_app.extensions[EXTENSION]
    return hub
