"""The public API for cxhub plugins: everything a plugin imports comes from here.

Plugins import `hub.plugin` itself, never its submodules (an import-linter contract in
setup.cfg holds them to it), so the submodules can be rearranged without breaking a plugin.
`fields` and `ValidationError` are marshmallow's, for settings schemas.
"""

from marshmallow import ValidationError, fields

from hub.plugin.errors import (
    AuthFailed,
    ConnectionGone,
    DeliveryError,
    GiveUp,
    InvalidSignature,
    MalformedBody,
    MissingHeader,
    PauseConnection,
    RequestRejected,
    RetryLater,
    UnrecognizedPayload,
    UnsupportedMediaType,
)
from hub.plugin.hookspecs import hookimpl
from hub.plugin.http import HttpClient, paginate
from hub.plugin.polling import content_digest, poll_window
from hub.plugin.mapping import as_email, as_id, as_list, as_text, as_url, dig, parse_time, require, require_id
from hub.plugin.request import InboundRequest
from hub.plugin.score import SCORE_TYPES, Score, score_band
from hub.plugin.settings import Secret, SecretField, SecretList, SettingsSchema, active_secrets
from hub.plugin.signatures import (
    check_timestamp,
    hmac_signature,
    sign_standard_webhook,
    signed_message,
    signed_parts,
    verify_hmac,
    verify_standard_webhook,
)
from hub.plugin.text import fit_text, full_text_location, text_length
from hub.plugin.types import (
    EVENT_TYPES,
    ActionInfo,
    ActionResult,
    Connection,
    ConnectionInfo,
    Customer,
    Delivery,
    EventDraft,
    FoundEvent,
    Link,
    Parsed,
    PluginInfo,
    PollResult,
    RateLimit,
    Rejection,
    Reply,
    Source,
    SourceInfo,
)

__all__ = [
    "EVENT_TYPES",
    "SCORE_TYPES",
    "ActionInfo",
    "ActionResult",
    "AuthFailed",
    "Connection",
    "ConnectionGone",
    "ConnectionInfo",
    "Customer",
    "Delivery",
    "DeliveryError",
    "EventDraft",
    "FoundEvent",
    "GiveUp",
    "HttpClient",
    "paginate",
    "InboundRequest",
    "InvalidSignature",
    "Link",
    "MalformedBody",
    "MissingHeader",
    "Parsed",
    "PauseConnection",
    "PluginInfo",
    "PollResult",
    "RateLimit",
    "Rejection",
    "Reply",
    "RequestRejected",
    "RetryLater",
    "Score",
    "Secret",
    "SecretField",
    "SecretList",
    "SettingsSchema",
    "Source",
    "SourceInfo",
    "UnrecognizedPayload",
    "UnsupportedMediaType",
    "ValidationError",
    "active_secrets",
    "as_email",
    "as_id",
    "as_list",
    "as_text",
    "as_url",
    "check_timestamp",
    "content_digest",
    "dig",
    "fields",
    "fit_text",
    "full_text_location",
    "hmac_signature",
    "hookimpl",
    "parse_time",
    "poll_window",
    "require",
    "require_id",
    "score_band",
    "sign_standard_webhook",
    "text_length",
    "signed_message",
    "signed_parts",
    "verify_hmac",
    "verify_standard_webhook",
]
