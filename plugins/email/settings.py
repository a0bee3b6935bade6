"""Settings of an SMTP connection and parameters of `send`, refusing anything that could forge a header."""

from __future__ import annotations

import os
import re
from email.headerregistry import Address
from email.utils import getaddresses
from typing import Any, Mapping

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields
from marshmallow import post_load, validate, validates_schema

SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
LINE_BREAKS = ("\r", "\n")
ONE_NAMED_ADDRESS = re.compile(r"^(?P<name>[^<>]*)<(?P<address>[^<>\s]+)>\s*$")


def one_line(value: str, what: str) -> str:
    """A header value must be one line: a CR or LF would end the header and start another (Bcc:, ...)."""
    if any(mark in value for mark in LINE_BREAKS) or "\x00" in value:
        raise ValidationError(f"{what} must be one line: it contains a line break or NUL, which could add headers")
    return value


def parse_addresses(value: str, what: str) -> list[Address]:
    """`Ann Lee <ann@example.com>, bob@example.com` as addresses; an empty value is no address."""
    one_line(value, what)
    if not value.strip():
        return []
    addresses = []
    for name, addr_spec in _pairs(value):
        local, at, domain = addr_spec.rpartition("@")
        if not (at and local and domain) or any(char.isspace() or char in "<>,;\"" for char in addr_spec):
            raise ValidationError(f"{what}: {addr_spec or name!r} is not an email address")
        try:
            addresses.append(Address(display_name=name, addr_spec=addr_spec))
        except (ValueError, IndexError, TypeError) as error:
            raise ValidationError(f"{what}: {addr_spec!r} is not an email address ({error})") from None
    return addresses


def _pairs(value: str) -> list[tuple[str, str]]:
    """(name, address) pairs. `Name <address>` is one address whatever the name holds: a template's
    `{{ data.customer.name }} <...>` must work for "Lee, Ann" and for names with quotes too."""
    single = ONE_NAMED_ADDRESS.match(value)
    if single and "@" not in single["name"]:
        return [(single["name"].strip().strip('"').strip(), single["address"])]
    return getaddresses([value])


class Addresses(fields.Field[list[Address]]):
    """One string or a list of strings, each holding one or more addresses; blank ones are skipped."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> list[Address]:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise ValidationError("give an address, or a list of addresses, as strings")
        return [address for item in items for address in parse_addresses(item, attr or "address")]


class HeaderText(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        return one_line(super()._deserialize(value, attr, data, **kwargs), attr or "header")


class EmailConnectionSettings(SettingsSchema):
    host = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9.\-:\[\]]+$",
                                                                 error="host must be a host name or IP address"),
                         metadata={"doc": "the SMTP server: mail is sent to this host only"})
    port = fields.Integer(load_default=None, validate=validate.Range(min=1, max=65535),
                          metadata={"doc": "default: 587 with starttls, 465 with tls, 25 with none"})
    security = fields.String(load_default="starttls", validate=validate.OneOf(tuple(SECURITY_PORTS)),
                             metadata={"doc": "starttls, tls (implicit TLS) or none"})
    username = fields.String(load_default=None)
    password = SecretField(load_default=None)
    from_ = HeaderText(required=True, data_key="from", metadata={"doc": "the sender, `Name <address>` or address"})
    timeout = fields.Float(load_default=30.0, validate=validate.Range(min=0.1, max=300),
                           metadata={"doc": "seconds for connecting and for each SMTP command"})
    ca_file = fields.String(load_default=None, metadata={"doc": "PEM file of a private CA to trust"})

    @validates_schema
    def consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("username") is None) != (data.get("password") is None):
            raise ValidationError("set both username and password, or neither")
        if data.get("username") is not None and data.get("security") == "none":
            raise ValidationError("security none would send the password in the clear: use starttls or tls")
        if data.get("ca_file") and not os.path.isfile(data["ca_file"]):
            raise ValidationError({"ca_file": [f"no such file: {data['ca_file']}"]})
        if "from_" in data and len(parse_addresses(data["from_"], "from")) != 1:
            raise ValidationError({"from": ["give exactly one sender address"]})

    @post_load
    def resolved(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Keyed `from` as written, with the port the security mode implies when none is given."""
        settings = {key: value for key, value in data.items() if key != "from_"}
        if "from_" in data:  # absent only in a partial load (`cxhub plugins --check`)
            settings["from"] = data["from_"]
        return {**settings, "port": data.get("port") or SECURITY_PORTS[data.get("security", "starttls")]}


class SendParams(SettingsSchema):
    to = Addresses(required=True, metadata={"doc": "recipients; blank values are skipped"})
    cc = Addresses(load_default=list)
    reply_to = Addresses(load_default=list)
    subject = HeaderText(required=True, validate=validate.Length(min=1))
    text = fields.String(required=True, metadata={"doc": "the plain-text body"})
    html = fields.String(load_default=None, metadata={"doc": "the HTML alternative; every value it inserts is HTML-escaped"})

    @validates_schema
    def has_recipients(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("to"):
            raise ValidationError({"to": ["no recipient: every address rendered blank"]})
