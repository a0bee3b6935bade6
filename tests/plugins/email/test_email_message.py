"""The message `send` builds and the parameters it accepts: no header injection, a stable Message-ID."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from hub.plugin import Delivery, ValidationError
from plugins.email.message import build_message, message_id
from plugins.email.settings import EmailConnectionSettings, SendParams, parse_addresses
from tests.conftest import fixture_bytes

SETTINGS = {"from": "CX Alerts <alerts@cx.example.com>"}
PARAMS = {"to": "Mary Smith <mary@example.net>", "subject": "Saying Hello", "text": "Hello."}


@pytest.mark.parametrize("field, value", [
    ("subject", "Hello\r\nBcc: attacker@evil.example"),
    ("subject", "Hello\nBcc: attacker@evil.example"),
    ("to", "mary@example.net\r\nBcc: attacker@evil.example"),
    ("cc", ["ok@example.net", "Ann\rLee <ann@example.com>"]),
    ("reply_to", "Ann\nBcc: x@evil.example <ann@example.com>"),
])
def test_a_line_break_in_a_header_value_is_refused(field, value):
    with pytest.raises(ValidationError, match="must be one line"):
        SendParams().load({**PARAMS, field: value})


@pytest.mark.parametrize("value", ["not an address", "ann@", "@example.com", "a b@example.com"])
def test_a_value_that_is_not_an_address_is_refused(value):
    with pytest.raises(ValidationError, match="is not an email address"):
        SendParams().load({**PARAMS, "to": value})


@pytest.mark.parametrize("value, name", [("Lee, Ann <ann@example.com>", "Lee, Ann"),
                                         ('Ann "The Boss" Lee <ann@example.com>', 'Ann "The Boss" Lee'),
                                         ('"Ann Lee" <ann@example.com>', "Ann Lee")])
def test_a_customer_name_with_a_comma_or_quotes_is_one_display_name(value, name):
    [address] = SendParams().load({**PARAMS, "reply_to": value})["reply_to"]
    assert (address.display_name, address.addr_spec) == (name, "ann@example.com")
    message = build_message(SETTINGS, SendParams().load({**PARAMS, "reply_to": value}),
                            Delivery(id="d1", attempt=1, route="r"))
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    [(parsed_name, parsed_address)] = [(a.display_name, a.addr_spec) for a in parsed["Reply-To"].addresses]
    assert (parsed_name, parsed_address) == (name, "ann@example.com")


def test_blank_addresses_are_skipped_but_a_mail_needs_a_recipient():
    loaded = SendParams().load({**PARAMS, "to": ["", "Mary Smith <mary@example.net>, bob@example.org"], "cc": ""})
    assert [address.addr_spec for address in loaded["to"]] == ["mary@example.net", "bob@example.org"]
    assert loaded["cc"] == []
    with pytest.raises(ValidationError, match="no recipient"):
        SendParams().load({**PARAMS, "to": ""})


def test_the_message_has_every_header_of_the_rfc_5322_example_and_the_same_id_on_a_retry():
    example = message_from_bytes(fixture_bytes("email/rfc5322_a_1_1.eml"), policy=policy.default)
    params = SendParams().load(PARAMS)
    first = build_message(SETTINGS, params, Delivery(id="dlv_01H8", attempt=1, route="alerts"))
    retry = build_message(SETTINGS, params, Delivery(id="dlv_01H8", attempt=2, route="alerts"))
    assert set(example.keys()) <= set(first.keys())
    assert first["Message-ID"] == retry["Message-ID"] == "<dlv_01H8@cx.example.com>"
    assert (first["To"], first["Subject"]) == (example["To"], example["Subject"])


def test_a_message_id_is_safe_whatever_the_key_and_domain():
    [sender] = parse_addresses("alerts@bücher.example", "from")
    assert message_id(Delivery(id="a b<c>@d", attempt=1, route="r"), sender) == "<a-b-c--d@xn--bcher-kva.example>"


SERVER = {"host": "smtp.example.com", "from": "alerts@cx.example.com"}


@pytest.mark.parametrize("settings, port", [({}, 587), ({"security": "tls"}, 465), ({"security": "none"}, 25),
                                            ({"port": 2525}, 2525)])
def test_the_port_follows_the_security_mode(settings, port):
    loaded = EmailConnectionSettings().load({**SERVER, **settings})
    assert loaded["port"] == port and loaded["from"] == "alerts@cx.example.com" and "from_" not in loaded


@pytest.mark.parametrize("settings, problem", [
    ({"username": "bot"}, "set both username and password"),
    ({"host": "smtp.example.com/path"}, "host must be a host name"),
    ({"from": "a@example.com, b@example.com"}, "exactly one sender"),
    ({"ca_file": "/nonexistent/ca.pem"}, "no such file"),
    ({"security": "ssl"}, "Must be one of"),
])
def test_bad_settings_are_refused_with_the_reason(settings, problem):
    with pytest.raises(ValidationError, match=problem):
        EmailConnectionSettings().load({**SERVER, **settings})


def test_a_partial_load_works_as_cxhub_plugins_check_does_it():
    assert EmailConnectionSettings().load({}, partial=True) == {"port": 587}  # no KeyError on missing keys
