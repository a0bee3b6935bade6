"""Checks of an `oauth:` block's token URL and private key, made when the config loads (not at the first delivery)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from marshmallow import ValidationError

from hub.plugin.settings import Secret

LOOPBACK_NAMES = ("localhost",)
MIN_RSA_BITS = 2048


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() in LOOPBACK_NAMES


def check_token_url(url: str) -> None:
    """RFC 6749 section 3.2: the token endpoint is reached over TLS (plain http only on this machine)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("token_url must be an https:// URL")
    if parts.username or parts.password:
        raise ValidationError("token_url must not carry a user or password: give client_id and client_secret")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValidationError("token_url must be https:// (credentials travel to it); plain http is only for "
                              "a token endpoint on this machine")
    if parts.fragment:
        raise ValidationError("token_url must not have a #fragment")


def pem_text(secret: Secret) -> bytes:
    """The key's PEM text; an environment variable often holds its line breaks written as `\\n`."""
    return secret.reveal().replace("\\n", "\n").encode()


def check_private_key(secret: Secret) -> None:
    """The JWT bearer assertion is signed RS256: the key must be an unencrypted PEM RSA private key."""
    try:
        key = load_pem_private_key(pem_text(secret), password=None)
    except (ValueError, TypeError):
        # The library's message is not quoted: it could describe the key's content.
        raise ValidationError(f"{secret!r} is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- "
                              "or -----BEGIN RSA PRIVATE KEY-----)") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValidationError(f"{secret!r} is not an RSA key: the JWT bearer assertion is signed RS256")
    if key.key_size < MIN_RSA_BITS:
        raise ValidationError(f"{secret!r} is a {key.key_size}-bit RSA key; use at least {MIN_RSA_BITS} bits")
