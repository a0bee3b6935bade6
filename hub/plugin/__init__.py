"""The public API for cxhub plugins: everything a plugin imports comes from here."""

from hub.plugin.errors import (
    DeliveryError,
    GiveUp,
    InvalidSignature,
    MalformedBody,
    RequestRejected,
    RetryLater,
    UnrecognizedPayload,
    UnsupportedMediaType,
)
from hub.plugin.hookspecs import hookimpl
from hub.plugin.http import HttpClient, paginate
from hub.plugin.request import InboundRequest
from hub.plugin.score import Score, score_band
from hub.plugin.settings import Secret, SecretField, SettingsSchema, active_secrets
from hub.plugin.signatures import (
    check_timestamp,
    hmac_signature,
    sign_standard_webhook,
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
    Link,
    Parsed,
    PluginInfo,
    Reply,
    Source,
    SourceInfo,
)

__all__ = [
    "EVENT_TYPES",
    "ActionInfo",
    "ActionResult",
    "Connection",
    "ConnectionInfo",
    "Customer",
    "Delivery",
    "DeliveryError",
    "EventDraft",
    "GiveUp",
    "HttpClient",
    "paginate",
    "InboundRequest",
    "InvalidSignature",
    "Link",
    "MalformedBody",
    "Parsed",
    "PluginInfo",
    "Reply",
    "RequestRejected",
    "RetryLater",
    "Score",
    "Secret",
    "SecretField",
    "SettingsSchema",
    "Source",
    "SourceInfo",
    "UnrecognizedPayload",
    "UnsupportedMediaType",
    "active_secrets",
    "check_timestamp",
    "fit_text",
    "full_text_location",
    "hmac_signature",
    "hookimpl",
    "score_band",
    "sign_standard_webhook",
    "text_length",
    "verify_hmac",
    "verify_standard_webhook",
]
