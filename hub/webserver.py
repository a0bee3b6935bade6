"""The embedded HTTP server (`cxhub serve`): waitress, with limits chosen so a slow client costs a socket.

Waitress reads every request in one I/O thread and hands it to a worker thread only once
it has arrived whole, so a client that trickles its request or sends nothing holds a socket
and a few kilobytes, never a thread. What remains to bound is how many sockets it may hold,
how long an idle one stays, and how much a request may declare:

- CONNECTION_LIMIT connections at once (past it, new ones wait in the listen backlog), watched
  with poll(), because select() cannot watch a socket numbered above 1024;
- IDLE_SECONDS: a connection that sends nothing for that long is closed;
- a declared `Content-Length` over `hub.max_body_bytes` is answered 413 as soon as the headers
  are read, before a byte of the body; a chunked body is cut off at the same limit;
- headers are at most HEADER_BYTES.

Waitress's own error answers (413, 400 for malformed HTTP, 431) carry the hub's JSON error body.
"""

from __future__ import annotations

import resource
from typing import Any, Callable, cast

import orjson
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

CONNECTION_LIMIT = 4096
IDLE_SECONDS = 30
CLEANUP_SECONDS = 5  # how often idle connections are looked for
HEADER_BYTES = 64 * 1024
BACKLOG = 2048
FILES_KEPT_FOR_THE_HUB = 128  # file descriptors left over for the database, Redis, logs and spooled bodies

ERROR_CODES = {400: "bad_request", 413: "body_too_large", 431: "headers_too_large", 501: "not_implemented"}


class JsonErrorTask(ErrorTask):
    """Waitress's error answer with the hub's body: `{"error": {"code": ..., "message": ...}}`."""

    def execute(self) -> None:
        error: Any = cast(Any, self.request).error  # the parser's error: code, reason, body
        limit = self.channel.adj.max_request_body_size - 1
        message = (f"the body is over the {limit}-byte limit of this hub" if error.code == 413
                   else f"{error.reason}: {error.body}")
        body = orjson.dumps({"error": {"code": ERROR_CODES.get(error.code, "server_error"), "message": message}})
        self.status = f"{error.code} {error.reason}"
        cast("list[tuple[str, str]]", self.response_headers).append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class HubChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def server_settings(max_body_bytes: int, threads: int, **overrides: Any) -> dict[str, Any]:
    """Waitress's adjustments for the hub; `overrides` (for tests) replace any of them."""
    return {
        "threads": threads,
        "connection_limit": connection_limit(),
        "channel_timeout": IDLE_SECONDS,
        "cleanup_interval": CLEANUP_SECONDS,
        # waitress refuses a body of max_request_body_size bytes or more; the hub takes max_body_bytes
        "max_request_body_size": max_body_bytes + 1,
        "max_request_header_size": HEADER_BYTES,
        "backlog": BACKLOG,
        "asyncore_use_poll": True,
        "ident": "cxhub",
        **overrides,
    }


def connection_limit() -> int:
    """CONNECTION_LIMIT, or fewer if the process may not open that many files even at its hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTION_LIMIT + FILES_KEPT_FOR_THE_HUB
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    return CONNECTION_LIMIT if soft == resource.RLIM_INFINITY else max(1, min(CONNECTION_LIMIT,
                                                                             soft - FILES_KEPT_FOR_THE_HUB))


class EmbeddedServer:
    """A waitress server bound and listening at construction; `run()` serves until `close()`."""

    def __init__(self, app: Callable[..., Any], *, host: str, port: int, max_body_bytes: int, threads: int,
                 **overrides: Any) -> None:
        self.sockets: dict[int, Any] = {}
        self.settings = server_settings(max_body_bytes, threads, host=host, port=port, **overrides)
        self.server: Any = create_server(app, map=self.sockets, **self.settings)  # one TcpWSGIServer here
        for dispatcher in self.sockets.values():
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.channel_class = HubChannel

    @property
    def port(self) -> int:
        return self.server.effective_port

    def run(self) -> None:
        self.server.run()

    def close(self) -> None:
        """Stop accepting, drop every connection, and stop the worker threads."""
        self.server.task_dispatcher.shutdown(timeout=5)
        for dispatcher in list(self.sockets.values()):
            dispatcher.close()
