"""The application factory."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from flask import Flask

from hub.admin.views import blueprint as admin_blueprint
from hub.backends import EmbeddedRedis, database_url, open_redis
from hub.config import load_config
from hub.console import init_console
from hub.delivery.job import RUNNER
from hub.delivery.queue import DeliveryQueue
from hub.delivery.runner import DeliveryRunner
from hub.errors import register_error_handlers
from hub.health import blueprint as health_blueprint
from hub.ingest.intake import IntakeLog, choose_accept_into
from hub.ingest.ratelimit import SourceLimiter
from hub.ingest.views import blueprint as ingest_blueprint
from hub.logs import redact_secrets
from hub.metrics import POOL as METRICS_POOL
from hub.metrics import blueprint as metrics_blueprint
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.routing.router import Router
from hub.runtime import EXTENSION, Hub
from hub.store import Store, StoreUnavailable

log = logging.getLogger("cxhub")

DEFAULTS: dict[str, Any] = {
    "CXHUB_CONFIG": None,
    "CXHUB_DATA_DIR": ".cxhub",
    "REDIS_URL": None,
    "DATABASE_URL": None,
    "CXHUB_ADMIN_TOKEN": None,
    "CXHUB_METRICS_TOKEN": None,
}


def settings_from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    return {key: environ[key] for key in DEFAULTS if environ.get(key)}


def create_app(settings: Mapping[str, Any] | None = None, *, plugins: Iterable[object] = (),
               discover_plugins: bool = True, environ: Mapping[str, str] | None = None,
               with_settings: bool = True) -> Flask:
    """Build the hub: settings (defaults, then the environment, then `settings`), plugins, config, backends.

    `environ` (default: os.environ) also resolves the config's `{$env: NAME}` references.
    `with_settings=False` builds a hub that can only read the store and the queues: no plugin
    setting is resolved (so no secret is needed), and it has no sources and no routes.
    Raises ConfigError when the config file is invalid and PluginError when a plugin is broken.
    """
    environ = os.environ if environ is None else environ
    app = Flask("hub")
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(settings_from_environment(environ))
    app.config.from_mapping(settings or {})
    if not app.config["CXHUB_CONFIG"]:
        raise ValueError("no config file: pass --config or set CXHUB_CONFIG")

    host = PluginHost(build_plugin_manager(plugins, discover=discover_plugins))
    config = load_config(app.config["CXHUB_CONFIG"], host, environ, with_settings=with_settings)
    redact_secrets(app, config, app.config["CXHUB_ADMIN_TOKEN"], app.config["CXHUB_METRICS_TOKEN"])
    data_dir = Path(app.config["CXHUB_DATA_DIR"])
    store = Store(database_url(app.config["DATABASE_URL"], data_dir))
    try:
        store.upgrade()
    except StoreUnavailable as error:  # start anyway: ingest answers 503 and deliveries wait until it is back
        log.warning("%s at start-up; the schema will be upgraded once it is back", error)
    embedded = None if app.config["REDIS_URL"] else EmbeddedRedis(data_dir)
    redis = embedded.client() if embedded else open_redis(app.config["REDIS_URL"])
    try:
        choice = choose_accept_into(config.hub.accept_into, redis)
        if choice.why:
            log.log(choice.level, choice.why)
        config = replace(config, hub=replace(config.hub, accept_into=choice.into))
        hub = Hub(config=config, plugins=host, store=store, redis=redis,
                  queue=DeliveryQueue(redis, config.hub.queue, config.connections,
                                      enriching_sources=config.enrichment),
                  router=Router(config.routes),
                  limiter=SourceLimiter(redis, config.hub.queue),
                  intake=IntakeLog(redis, config.hub.queue, dedupe_seconds=config.hub.dedupe_seconds),
                  embedded_redis=embedded)
        app.extensions[EXTENSION] = hub
        app.extensions[RUNNER] = DeliveryRunner(hub)
    except BaseException:  # a start-up that fails here leaves no redis-server behind
        store.dispose()
        if embedded:
            embedded.stop()
        raise

    app.register_blueprint(ingest_blueprint)
    app.register_blueprint(admin_blueprint)
    app.register_blueprint(health_blueprint)
    app.register_blueprint(metrics_blueprint)
    if config.console is not None:  # off until configured, like the admin API
        init_console(app, config.console)
    register_error_handlers(app)
    return app


def close_app(app: Flask) -> None:
    """Stop what `create_app` started: outbound sessions, database connections, Redis (embedded: its server)."""
    app.extensions[RUNNER].close()
    if (pool := app.extensions.get(METRICS_POOL)) is not None:
        pool.shutdown(wait=False)
    app.extensions[EXTENSION].close()
