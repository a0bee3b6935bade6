"""GET /healthz and GET /readyz, for load balancers and orchestrators.

`/healthz` says the process answers. `/readyz` says whether it can do its work: the config is
loaded, and Redis and the database answer. Neither needs a token, so neither says more than
which part is down: no URLs, hosts or error messages, which can carry credentials.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from hub.runtime import Hub, current_hub

blueprint = Blueprint("health", __name__)
CHECK_SECONDS = 2.0  # how long /readyz waits for each part before calling it down
PROBES = "cxhub.health"


class Probe:
    """Runs one check in a thread of its own, waiting at most CHECK_SECONDS for it.

    A check that hangs (a database behind a dropped link) keeps its thread until the driver
    gives up; probes meanwhile share that pending check instead of starting more threads.
    """

    def __init__(self, check: Callable[[], object]) -> None:
        self.check = check
        self.lock = threading.Lock()
        self.pending: Future[object] | None = None

    def __call__(self) -> str:
        with self.lock:
            if self.pending is None or self.pending.done():
                self.pending = Future()
                threading.Thread(target=self._run, args=(self.pending,), name="cxhub-readyz", daemon=True).start()
            pending = self.pending
        try:
            pending.result(timeout=CHECK_SECONDS)
        except FutureTimeout:
            return f"down: no answer within {CHECK_SECONDS:g}s"
        except Exception as error:  # the class only: its message may name a host or a password
            return f"down: {type(error).__name__}"
        return "ok"

    def _run(self, future: Future[object]) -> None:
        try:
            future.set_result(self.check())
        except BaseException as error:
            future.set_exception(error)


def _probes(hub: Hub) -> dict[str, Probe]:
    def database() -> None:
        with hub.store.database.engine.connect() as db:
            db.execute(text("SELECT 1"))

    return {"redis": Probe(hub.redis.ping), "database": Probe(database)}


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    probes = current_app.extensions.get(PROBES)
    if probes is None:
        probes = current_app.extensions[PROBES] = _probes(current_hub())
    checks = {"config": "ok", **{name: probe() for name, probe in probes.items()}}
    ready = all(outcome == "ok" for outcome in checks.values())
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503
