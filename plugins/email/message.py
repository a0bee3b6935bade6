"""The email a delivery sends: text and HTML alternatives, and a Message-ID that a retry repeats.

The Message-ID is made of the delivery's idempotency key and the sender's domain, so the copy
a retry sends after a lost answer (the server took the message but the connection dropped) is
recognisably the same message to the recipient's mail system and to whoever reads both.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Mapping

from hub.plugin import Delivery, fit_text
from plugins.email.settings import parse_addresses

SUBJECT_LIMIT = 998 - len("Subject: ")  # RFC 5322's line limit, before folding
UNSAFE_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9.\-_]")


def message_id(delivery: Delivery, sender: Address) -> str:
    """`<key@sender-domain>`: stable across retries and replays of the delivery."""
    try:
        domain = sender.domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "cxhub.invalid"
    key = UNSAFE_ID_CHARACTERS.sub("-", delivery.idempotency_key)
    return f"<{key}@{UNSAFE_ID_CHARACTERS.sub('-', domain) or 'cxhub.invalid'}>"


def build_message(settings: Mapping[str, Any], params: Mapping[str, Any], delivery: Delivery) -> EmailMessage:
    [sender] = parse_addresses(settings["from"], "from")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = params["to"]
    if params["cc"]:
        message["Cc"] = params["cc"]
    if params["reply_to"]:
        message["Reply-To"] = params["reply_to"]
    message["Subject"] = fit_text(params["subject"], SUBJECT_LIMIT, short=True)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(delivery, sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies are not sent back to it
    message.set_content(params["text"])
    if params["html"]:
        message.add_alternative(params["html"], subtype="html")
    return message


def recipients(params: Mapping[str, Any]) -> list[str]:
    """The envelope's recipients: To and Cc (Reply-To only tells a reader where to answer)."""
    return list(dict.fromkeys(address.addr_spec for address in [*params["to"], *params["cc"]]))
