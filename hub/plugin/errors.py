"""Exceptions that tell the core what to do with a request or a delivery.

Ingest errors (raised while verifying or parsing an inbound request) carry the
HTTP status the hub answers with. Delivery errors (raised by actions) say
whether the core should try again later or give up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.plugin.types import Reply


class RequestRejected(Exception):
    """The inbound request is refused; nothing is stored or routed.

    `reply` is for vendors that read the refusal in their own format (Salesforce shows a SOAP
    fault as the delivery's failure reason): its body, content type and headers are sent
    instead of the hub's JSON error. The status stays the error's own.
    """

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, reply: Reply | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reply = reply


class MalformedBody(RequestRejected):
    """The body cannot be decoded (bad JSON, bad form encoding, bad XML, bad UTF-8)."""

    status = 400
    code = "malformed_body"


class InvalidSignature(RequestRejected):
    """The signature is missing, wrong, or its timestamp is outside the tolerance window."""

    status = 401
    code = "invalid_signature"


class UnsupportedMediaType(RequestRejected):
    """The request's content type is not one the source accepts."""

    status = 415
    code = "unsupported_media_type"


class UnrecognizedPayload(RequestRejected):
    """The body decodes but the plugin does not understand it.

    The core keeps such requests in quarantine so they can be replayed once the
    plugin is fixed.
    """

    status = 422
    code = "unrecognized_payload"


class MissingHeader(UnrecognizedPayload):
    """A header the plugin reads the payload's meaning from is missing (422, quarantined).

    `header` names it, so tools such as `cxhub normalize` can say how to give it.
    """

    def __init__(self, header: str, what: str | None = None, *, reply: Reply | None = None) -> None:
        super().__init__(f"the {header} header is missing" + (f": it gives the {what}" if what else ""), reply=reply)
        self.header = header


class DeliveryError(Exception):
    """An action failed; subclasses say whether to retry.

    `body` is the start of the error response's body when the HTTP client raised it, for
    plugins that read the vendor's error format (Salesforce's `[{"errorCode", "message"}]`).
    """

    def __init__(self, message: str, *, status_code: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body


class RetryLater(DeliveryError):
    """A transient failure (timeout, 429, 5xx): try again, after `after` seconds if given."""

    def __init__(
        self, message: str, *, status_code: int | None = None, after: float | None = None, body: str | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.after = after


class GiveUp(DeliveryError):
    """A permanent failure (4xx, bad parameters): retrying cannot help."""


class PauseConnection(DeliveryError):
    """The destination says to stop sending to it: the connection is paused until an admin resumes it.

    Raise it (or a subclass) when retrying is pointless for every delivery of the connection,
    not just this one: a receiver that answers 410 Gone, credentials that were revoked. The
    delivery is not dead-lettered: it waits, with the connection's other deliveries, until
    `cxhub connections resume NAME`. `message` is the reason the log, the hook and
    `cxhub connections` show.
    """


class ConnectionGone(PauseConnection):
    """The receiver answered 410 Gone: it no longer wants these deliveries."""


class AuthFailed(PauseConnection):
    """The destination refuses the connection's credentials, and getting new ones cannot cure it.

    Raise it for a 401 or 403 that means the credentials are wrong, revoked or lack a permission
    (for an OAuth connection the core has already refreshed the token once before it raises this
    itself), and the core raises it when a token endpoint refuses the grant (`invalid_grant`,
    `invalid_client`). The connection is paused like any PauseConnection: deliveries wait, spending
    no attempts, until an admin fixes the credentials and resumes it. `message` must say what was
    refused, never quote a credential.
    """


class Throttled(RetryLater):
    """The connection's shared pace has no room for a request now (rate limit, a vendor's Retry-After).

    Raised by the core's HTTP client, not by plugins: the delivery goes back to its queue for
    `after` seconds without spending an attempt. It is a RetryLater, so plugin code that treats
    every RetryLater alike stays right.
    """

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message, after=after)
