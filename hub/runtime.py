"""The hub's parts for one application, kept in `app.extensions["cxhub"]`.

`Hub` only holds the parts; `hub.app.create_app` builds them. It sits below ingest and
delivery, which take it as their context, so it names their classes for the type checker only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from flask import current_app

from hub.config.model import HubConfig
from hub.pluginhost import PluginHost
from hub.store import Store, now

if TYPE_CHECKING:
    from redis import Redis

    from hub.delivery.queue import DeliveryQueue
    from hub.ingest.intake import IntakeLog
    from hub.ingest.ratelimit import SourceLimiter
    from hub.routing.router import Router
    from hub.backends import EmbeddedRedis

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
    embedded_redis: EmbeddedRedis | None = None  # the redis-server this process may have to stop
    # The time quiet hours, budgets and digest windows are judged by (tests move it; the store stamps rows itself).
    clock: Callable[[], datetime] = now

    def close(self) -> None:
        """Let go of the database and Redis; stop the embedded redis-server if no other process uses it."""
        self.store.dispose()
        self.redis.connection_pool.disconnect()
        if self.embedded_redis is not None:
            self.embedded_redis.stop()


def current_hub() -> Hub:
    hub: Hub = current_app.extensions[EXTENSION]
    return hub
