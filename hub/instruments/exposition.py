"""The text a scrape gets: this process's counters, or with PROMETHEUS_MULTIPROC_DIR those of every
process on the machine that shares the directory; and a token-checked server for `cxhub worker`.

A worker on a machine of its own has no web process beside it to sum its counters, so it
serves them itself (`cxhub worker --metrics-port`). The state every process shares (queue
depths, dead letters, breakers) is read from Redis and the database by the web `/metrics`
only, so it is never reported twice.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess

log = logging.getLogger("cxhub.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR) or None


def counters_text() -> bytes:
    """The counters and histograms in Prometheus's text format (summed over processes in multiprocess mode)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def token_matches(header: str | None, expected: str) -> bool:
    """`Authorization: Bearer <expected>`, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode())


def metrics_app(token: str) -> Callable[..., Iterable[bytes]]:
    """A WSGI app answering GET /metrics with the counters to requests that carry the token."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: the metrics are at /metrics\n"]
        if not token_matches(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"send Authorization: Bearer <metrics token>\n"]
        body = counters_text()
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the signature wsgiref gives
        """Scrapes are not worth a log line each."""


def serve_metrics(host: str, port: int, token: str) -> WSGIServer:
    """Serve `metrics_app` on host:port from a daemon thread; the caller may `shutdown()` it."""
    server = make_server(host, port, metrics_app(token), handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="cxhub-metrics", daemon=True).start()
    log.info("metrics at http://%s:%d/metrics", host, server.server_port)
    return server
