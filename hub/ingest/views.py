"""`/hooks/<source>`: the HTTP face of the ingest pipeline."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import ClientDisconnected

from hub import instruments
from hub.errors import ApiError
from hub.ingest.service import Accepted, Rejected, ingest
from hub.plugin.request import InboundRequest
from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub, current_hub
from hub.store import StoreUnavailable

blueprint = Blueprint("ingest", __name__)
PATH_SAFE = "!$&'()*+,/:;=@%"  # what a URL path keeps unescaped (WHATWG path-segment set, and escapes)


@blueprint.after_request
def count_answer(response: Response) -> Response:
    """Count every answer by source (a name the config knows, else one fixed label) and status."""
    name = (request.view_args or {}).get("name", "")
    instruments.webhook_answered(instruments.bounded(name, current_hub().config.sources), response.status_code)
    return response


@blueprint.route("/hooks/<name>", methods=["POST", "GET", "HEAD", "PUT"])
def receive(name: str) -> Response | tuple[Response, int]:
    hub = current_hub()
    source = hub.config.sources.get(name)
    if source is None:
        raise ApiError(404, "unknown_source", f"no source named {name!r} is configured")
    _check_token(hub, name)
    _check_rate(hub, name)
    source_info = hub.plugins.plugins[source.plugin].info.source
    inbound = InboundRequest(
        method=request.method, path=request.path, body=_read_body(hub.config.hub.max_body_bytes),
        content_type=request.mimetype,
        headers={key.lower(): value for key, value in request.headers.items()},
        query={key: value for key, value in request.args.items()},
        url=_received_url(),
        body_to_keep=source_info.body_to_keep if source_info else None,
    )
    try:
        outcome = ingest(hub, source, inbound)
    except Rejected as error:
        if error.reply is not None:  # the vendor reads refusals in its own format (a SOAP fault)
            reply = error.reply
            return Response(reply.body, status=error.status, content_type=reply.content_type,
                            headers=dict(reply.headers))
        extra: dict[str, Any] = {"quarantine_id": error.quarantine_id} if error.quarantine_id else {}
        raise ApiError(error.status, error.code, error.message, **extra) from None
    except (StoreUnavailable, RedisUnavailable) as error:
        raise ApiError(503, "unavailable", f"{error}; nothing was lost, send the request again later") from None
    return _answer(outcome)


def _received_url() -> str:
    """The URL as this server received it: scheme, Host, the path as sent, the raw query string.

    Behind a reverse proxy this is not the URL the vendor called; plugins that sign the URL take
    that from a setting (HubSpot's `public_url`).
    """
    target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(target, str) and target.startswith("/"):  # the request target as sent (gunicorn, waitress)
        path = target.partition("?")[0]
    else:
        path = quote(request.root_path + request.path, safe=PATH_SAFE)
    query = request.query_string.decode("latin-1")
    return f"{request.scheme}://{request.host}{path}" + (f"?{query}" if query else "")


def _check_token(hub: Hub, name: str) -> None:
    """Answer 401 unless the request carries the source's `?token=` (when it has one), whatever its method.

    The comparison takes constant time, and no message quotes what was sent or expected.
    """
    expected = hub.config.source_tokens.get(name)
    if expected is None:
        return
    given = request.args.getlist("token")
    if not given:
        raise ApiError(401, "invalid_token", f"source {name!r} takes only requests whose URL carries its token "
                                             "as ?token=; this one carries none")
    if len(given) > 1 or not hmac.compare_digest(given[0].encode(), expected.reveal().encode()):
        raise ApiError(401, "invalid_token", f"the ?token= of this request is not the token of source {name!r}")


def _check_rate(hub: Hub, name: str) -> None:
    """Answer 429 with Retry-After when the source is over its configured rate."""
    rate = hub.config.rate_limits.get(name)
    if rate is None:
        return
    try:
        verdict = hub.limiter.hit(name, rate)
    except RedisUnavailable as error:
        raise ApiError(503, "unavailable", f"{error}; send the request again later") from None
    if not verdict.allowed:
        raise ApiError(429, "rate_limited", f"source {name!r} takes at most {rate}; retry after "
                       f"{verdict.retry_after}s", headers={"Retry-After": str(verdict.retry_after)})


def _read_body(limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` bytes, whether or not Content-Length announced it.

    A declared length over the limit is refused before a byte is read; without one, at most
    `limit + 1` bytes are read. A body that ends before its declared length (the connection was
    cut) is refused too: it is not the request the client meant to send.
    """
    too_large = ApiError(413, "body_too_large", f"the body is over the {limit}-byte limit of this hub")
    declared = request.content_length
    if (declared or 0) > limit:
        raise too_large
    try:
        body = _read_at_most(limit + 1)
    except ClientDisconnected:  # werkzeug's word for a stream that ended before its declared length
        body = b""
    if len(body) > limit:
        raise too_large
    if declared is not None and len(body) < declared:
        raise ApiError(400, "incomplete_body", f"the body ended before the {declared} bytes its Content-Length "
                       "declared")
    return body


def _read_at_most(size: int) -> bytes:
    """Up to `size` bytes of the body: a stream may return less than asked before its end."""
    chunks: list[bytes] = []
    left = size
    while left > 0 and (chunk := request.stream.read(left)):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _answer(outcome: Accepted) -> Response | tuple[Response, int]:
    """The plugin's reply if it asked for one; else 202 with new event ids, or 200 when nothing was new."""
    if outcome.reply is not None:
        reply = outcome.reply
        return Response(reply.body, status=reply.status, content_type=reply.content_type, headers=dict(reply.headers))
    if outcome.quarantined and not (outcome.accepted or outcome.duplicates):
        raise ApiError(422, "unrecognized_payload", "no element of this batch could be read; each is kept in "
                       "quarantine for replay", quarantined=outcome.quarantined)
    status = 202 if outcome.accepted else 200
    body: dict[str, Any] = {"accepted": outcome.accepted, "duplicates": outcome.duplicates}
    if outcome.quarantined:
        body["quarantined"] = outcome.quarantined
    return jsonify(body), status
