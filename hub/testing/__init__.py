"""Test kit for cxhub and its plugins: isolated hubs on real backends, job draining, signers.

Use it through the pytest fixtures in `hub.testing.pytest_plugin` (loaded automatically
once cxhub is installed): `make_hub`, `cxhub_redis_url`, `cxhub_database_url`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import orjson
from flask import Flask
from flask.testing import FlaskClient
from rq.job import Job
from werkzeug.serving import BaseWSGIServer, make_server

from hub.alerting import metrics_pass
from hub.app import close_app, create_app
from hub.delivery.job import RUNNER
from hub.events.canonical import validate_event
from hub.ingest.consumer import IntakeConsumer
from hub.outbound.pace import backoff_key
from hub.plugin.signatures import hmac_signature, sign_standard_webhook
from hub.profiles.resolver import resolve_all
from hub.runtime import EXTENSION, Hub
from hub.webserver import EmbeddedServer
from hub.worker import WorkerThreads, make_worker

__all__ = ["TestHub", "assert_valid_event", "hmac_signature", "sign_standard_webhook", "wait_for"]


def assert_valid_event(event: Mapping[str, Any]) -> None:
    """Fail unless `event` follows the canonical CloudEvents schema."""
    validate_event(dict(event))


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, *,
             what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy and return its value; fail after `timeout` seconds, naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s")


class TestHub:
    """A hub application built from one config, for one test."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.hub: Hub = app.extensions[EXTENSION]
        self.client: FlaskClient = app.test_client()
        self._server: BaseWSGIServer | None = None
        self._embedded: EmbeddedServer | None = None
        self._workers: WorkerThreads | None = None

    @property
    def store(self) -> Any:
        return self.hub.store

    def post(self, source: str, body: bytes | str | Mapping[str, Any], headers: Mapping[str, str] | None = None,
             content_type: str = "application/json") -> Any:
        """POST to /hooks/<source> through Flask's test client (a dict body is sent as JSON)."""
        data = orjson.dumps(body) if isinstance(body, Mapping) else body
        return self.client.post(f"/hooks/{source}", data=data, headers=dict(headers or {}),
                                content_type=content_type)

    def drain(self, *, run_scheduled: bool = True, rounds: int = 20, metrics: bool = True,
              profiles: bool = True) -> int:
        """Take in what the intake log holds, then run queued jobs in this thread until none are left.

        Each round first folds newly stored responses into the metrics and evaluates the alert
        rules, as the worker's metrics thread would (so an alert's own deliveries run too);
        `metrics=False` skips that, for a test that evaluates the rules at a moment of its own.

        Returns how many jobs ran. With `run_scheduled`, retries waiting for their backoff run at
        once, as if time had passed. With `profiles`, the events stored are then attached to
        their customer profiles, as a worker's resolver thread does.
        """
        ran = 0
        with self.app.app_context():
            IntakeConsumer(self.hub, "cxhub-test").drain()
        for _ in range(rounds):
            if metrics:
                metrics_pass(self.hub)  # what the worker's metrics thread does: counts, then alert rules
            if run_scheduled:
                self._release_scheduled()
            if self.hub.queue.count() == 0:
                break
            worker = make_worker(self.app)
            with self.app.app_context():
                worker.work(burst=True, logging_level="WARNING")
            ran += worker.jobs_run
            if worker.jobs_run == 0:
                break  # what is left waits on a paused connection: more rounds would only let time pass
        if profiles:
            resolve_all(self.hub)
        return ran

    def end_backoff(self, connection: str) -> None:
        """Let a destination's Retry-After pass now: its connection sends again, as if the wait were over.

        A 429 or 503 with Retry-After holds back every worker of the connection until that moment
        (the pace in hub.outbound); `drain(run_scheduled=True)` lets retries run at once but the
        connection would still wait. This clears that moment and the worker's cached view of it.
        """
        self.hub.redis.delete(backoff_key(self.hub.config.hub.queue, connection))
        self.app.extensions[RUNNER].gate.read_at = float("-inf")

    def _release_scheduled(self) -> None:
        for queue in self.hub.queue.queues:
            registry = queue.scheduled_job_registry
            for job_id in registry.get_job_ids():
                job = Job.fetch(job_id, connection=self.hub.redis)
                registry.remove(job)
                queue.enqueue_job(job)

    def serve(self) -> str:
        """Serve the app over real HTTP on a free loopback port; return its base URL."""
        server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=server.serve_forever, name="cxhub-test-http", daemon=True).start()
        self._server = server
        return f"http://127.0.0.1:{server.server_port}"

    def serve_embedded(self, threads: int = 4, **overrides: Any) -> str:
        """Serve the app as `cxhub serve` does (waitress, the hub's limits) on a free loopback port.

        `overrides` replace any of the server's settings (see `hub.webserver.server_settings`).
        """
        server = EmbeddedServer(self.app, host="127.0.0.1", port=0, threads=threads,
                                max_body_bytes=self.hub.config.hub.max_body_bytes, **overrides)
        threading.Thread(target=server.run, name="cxhub-test-waitress", daemon=True).start()
        self._embedded = server
        return f"http://127.0.0.1:{server.port}"

    def start_workers(self, threads: int | None = None) -> None:
        """Run worker threads and the retry scheduler, as `cxhub worker` and embedded `cxhub serve` do."""
        self._workers = WorkerThreads(self.app, threads)
        self._workers.start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._embedded is not None:
            self._embedded.close()
        if self._workers is not None:
            self._workers.stop()
        close_app(self.app)


def build_test_hub(config: str | Mapping[str, Any], directory: Path, *, redis_url: str, database_url: str,
                   plugins: Iterable[object] = (), discover: bool = False,
                   env: Mapping[str, str] | None = None) -> TestHub:
    """Write `config` (YAML text, or a mapping) to `directory` and build a hub on the given backends."""
    path = directory / "cxhub.yaml"
    path.write_text(config if isinstance(config, str) else orjson.dumps(config).decode(), encoding="utf-8")
    settings = {"CXHUB_CONFIG": str(path), "CXHUB_DATA_DIR": str(directory / "data"),
                "REDIS_URL": redis_url, "DATABASE_URL": database_url}
    app = create_app(settings, plugins=plugins, discover_plugins=discover, environ=dict(env or {}))
    app.config["TESTING"] = True
    return TestHub(app)
