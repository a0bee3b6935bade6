"""The hub's parts for one application, kept in `app.extensions["cxhub"]`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

from hub.config.model import HubConfig
from hub.delivery.queue import DeliveryQueue
from hub.ingest.intake import IntakeLog
from hub.ingest.ratelimit import SourceLimiter
from hub.pluginhost import PluginHost
from hub.routing.router import Router
from hub.store import Store

if TYPE_CHECKING:
    from redis import Redis

    from hub.backends import EmbeddedRedis

EXTENSION = "cxhub"


@dataclass
class Hub:
    config: HubConfig
    plugins: PluginHost
    store: Store
    redis: Redis
    queue: DeliveryQueue
    embedded_redis: EmbeddedRedis | None = None  # the redis-server this process may have to stop
    router: Router = field(init=False)
    limiter: SourceLimiter = field(init=False)
    intake: IntakeLog = field(init=False)

    def __post_init__(self) -> None:
        settings = self.config.hub
        self.router = Router(self.config.routes)
        self.limiter = SourceLimiter(self.redis, settings.queue)
        self.intake = IntakeLog(self.redis, settings.queue, dedupe_seconds=settings.dedupe_seconds)

    def close(self) -> None:
        """Let go of the database and Redis; stop the embedded redis-server if no other process uses it."""
        self.store.dispose()
        self.redis.connection_pool.disconnect()
        if self.embedded_redis is not None:
            self.embedded_redis.stop()


def current_hub() -> Hub:
    return current_app.extensions[EXTENSION]
