"""The Slack source: one Request URL for the Events API and for interactivity, signed with the signing secret.

Signature: `X-Slack-Signature: v0=` + hex HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>`
with the app's signing secret; the timestamp must be within `tolerance_seconds` (default five
minutes) of now, against replays. Every request is checked, the `url_verification` challenge too.

JSON bodies are the Events API (`events.py`); form bodies with a `payload=` field are
interactivity (`interactivity.py`). Slack wants an answer within three seconds: nothing here
calls out, so the answer waits only for the event to be stored.
"""

from __future__ import annotations

import orjson

from hub.plugin import (
    EventDraft,
    InboundRequest,
    Parsed,
    Reply,
    Source,
    UnrecognizedPayload,
    check_timestamp,
    signed_message,
    verify_hmac,
)
from plugins.slack import interactivity
from plugins.slack.events import event_draft

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNED = "v0:{timestamp}:{body}"
FORM_TYPE = "application/x-www-form-urlencoded"


def verify(source: Source, request: InboundRequest) -> None:
    timestamp = request.header(TIMESTAMP_HEADER)
    check_timestamp(timestamp, tolerance=source.settings["tolerance_seconds"], header=TIMESTAMP_HEADER)
    assert timestamp is not None  # check_timestamp refused a missing one
    verify_hmac([secret.reveal() for secret in source.settings["signing_secret"]],
                signed_message(SIGNED, body=request.body, timestamp=timestamp),
                request.header(SIGNATURE_HEADER), header=SIGNATURE_HEADER, prefix="v0=")


def parse(source: Source, request: InboundRequest) -> Parsed | list[EventDraft]:
    if request.content_type == FORM_TYPE:
        return interactivity.parse(source, request)
    payload = request.json()
    kind = payload.get("type") if isinstance(payload, dict) else None
    if kind == "url_verification":
        challenge = payload.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            raise UnrecognizedPayload("a url_verification request needs a challenge string")
        return Parsed(reply=Reply(200, orjson.dumps({"challenge": challenge}), "application/json"))
    if kind == "app_rate_limited":
        return []  # Slack says it dropped events for a while: nothing to take in
    if kind != "event_callback":
        raise UnrecognizedPayload("expected a Slack Events API request (type url_verification or event_callback), "
                                  f"got type {kind!r}")
    event = payload.get("event")
    if not isinstance(event, dict):
        raise UnrecognizedPayload("an event_callback needs an event object")
    draft = event_draft(source, payload, event)
    return [draft] if draft else []
