"""An event's customer identifiers, normalised, filtered and in priority order (no I/O).

The kinds: `email`; each system's own customer id under its namespace (the source's plugin,
`zendesk:8447388090494`); and ids the admin maps from event attributes
(`customers.identifiers`). Emails are normalised conservatively (see `normalize_email`):
a missed merge can be fixed with `cxhub customers merge`, a wrong one shows one customer's
history to whoever looks at another's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

import idna

from hub.config.model import CustomersConfig

EMAIL = "email"
MAX_VALUE = 512  # profile_identifiers.value
MAX_EMAIL = 320

# Values that name nobody: a form's placeholder, a tracking default, a test address. They are
# never used to resolve (compared trimmed and case-insensitively; see docs/customers.md).
BUILTIN_NEVER_MERGE = frozenset({
    "null", "nil", "none", "undefined", "unknown", "anonymous", "anon", "guest", "test", "n/a", "na", "nan",
    "not provided", "not available", "not set", "noemail", "no email", "no-email", "true", "false", "-1",
    "[object object]", "{}", "[]", "''", '""', "customer", "user", "visitor", "default", "example",
})
ZEROS_AND_PUNCTUATION = re.compile(r"^[\s0._:\-/#*]*$")  # "", "0", "000-000", "-", the nil UUID
BUILTIN_NEVER_MERGE_EMAILS = (
    "test@example.com", "test@example.org", "test@example.net", "test@test.com", "email@example.com",
    "user@example.com", "name@example.com", "example@example.com", "you@example.com", "someone@example.com",
    "noreply@*", "no-reply@*", "no_reply@*", "donotreply@*", "do-not-reply@*", "mailer-daemon@*", "postmaster@*",
    "null@*", "none@*", "unknown@*", "anonymous@*", "test@test.*", "*@localhost", "*@invalid", "*.invalid",
)


@dataclass(frozen=True, order=True)
class Identifier:
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def normalize_email(text: str) -> str | None:
    """The form an address is compared in, or None if it is not one.

    - surrounding whitespace is dropped, the text is NFC-normalised (a composed and a decomposed
      "é" are the same text);
    - the domain is case-insensitive by DNS: ASCII domains are lowercased, internationalised ones
      written as their A-label with IDNA 2008 and UTS #46 non-transitional mapping, so
      `Bücher.de` and `xn--bcher-kva.de` are one domain while `faß.de` stays apart from `fass.de`
      (transitional mapping and Python's IDNA 2003 codec would merge them);
    - in the local part only ASCII letters are lowercased. Non-ASCII letters are kept as sent:
      full Unicode case folding turns `ß` into `ss` and Turkish `İ` into two characters, which
      would merge mailboxes that are different. Dots and `+tags` are kept too: ignoring them is
      one provider's rule, not the address's.
    """
    text = unicodedata.normalize("NFC", text.strip())
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or len(text) > MAX_EMAIL or any(c.isspace() for c in text):
        return None
    domain = domain.rstrip(".")
    if domain.isascii():
        domain = domain.lower()
    else:
        try:
            domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            domain = domain.lower()  # not a valid IDN: still one spelling per domain as sent
    if not domain:
        return None
    local = "".join(c.lower() if c.isascii() else c for c in local)
    return f"{local}@{domain}"


class Rules:
    """`customers:` compiled: what an event's identifiers are, and which values never count."""

    def __init__(self, config: CustomersConfig, namespace_of: Callable[[str], str]) -> None:
        self.config = config
        self.namespace_of = namespace_of
        values = set(BUILTIN_NEVER_MERGE) if config.builtin_never_merge else set()
        self.never_values = values | {value.strip().lower() for value in config.never_merge_values}
        emails = [*(BUILTIN_NEVER_MERGE_EMAILS if config.builtin_never_merge else ()), *config.never_merge_emails]
        self.never_emails = tuple(normalize_email(pattern) or pattern.strip().lower() for pattern in emails)
        self.check_zeros = config.builtin_never_merge

    def blocked(self, value: str) -> bool:
        """A value that names nobody (never used to resolve)."""
        folded = value.strip().lower()
        return folded in self.never_values or (self.check_zeros and bool(ZEROS_AND_PUNCTUATION.match(folded)))

    def blocked_email(self, email: str) -> bool:
        local = email.rpartition("@")[0]
        return self.blocked(local) or any(_glob(pattern)(email) for pattern in self.never_emails)

    def identifiers(self, event: Mapping[str, Any]) -> list[Identifier]:
        """The event's usable identifiers, each once, highest priority first.

        Default priority: ids mapped from attributes (in config order), then the source's own
        customer id, then the email; `customers.priority` moves the kinds it names to the front.
        """
        data = event.get("data") or {}
        source = str(event.get("source", "")).rsplit("/", 1)[-1]
        found: list[Identifier] = []
        attributes = data.get("attributes") or {}
        for mapped in self.config.identifiers:
            if mapped.sources and source not in mapped.sources:
                continue
            self._add_id(found, mapped.namespace, _dig(attributes, mapped.attribute))
        customer = data.get("customer") or {}
        self._add_id(found, self.namespace_of(source), customer.get("id"))
        email = customer.get("email")
        if isinstance(email, str):
            normal = normalize_email(email)
            if normal is not None and not self.blocked_email(normal):
                found.append(Identifier(EMAIL, normal))
        unique = list(dict.fromkeys(found))
        order = {kind: position for position, kind in enumerate(self.config.priority)}
        return sorted(unique, key=lambda item: order.get(item.kind, len(order)))  # stable: default order kept

    def _add_id(self, found: list[Identifier], namespace: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return
        text = unicodedata.normalize("NFC", str(value).strip())
        if text and len(text) <= MAX_VALUE and not self.blocked(text):
            found.append(Identifier(namespace, text))


def namespaces_for(config: CustomersConfig, plugins_by_source: Mapping[str, str]) -> Callable[[str], str]:
    """The namespace of a source's customer ids: `customers.namespaces`, else its plugin's name.

    The generic `webhook` plugin stands for a different vendor in each source, so its sources
    are their own namespace; so is a source no longer configured (its plugin is unknown).
    """
    def namespace_of(source: str) -> str:
        if source in config.namespaces:
            return config.namespaces[source]
        plugin = plugins_by_source.get(source)
        return source if plugin in (None, "webhook") else plugin

    return namespace_of


def parse_identifier(text: str) -> Identifier | None:
    """`zendesk:123` or an email address as typed by an admin; None if it is neither."""
    text = text.strip()
    kind, colon, value = text.partition(":")
    if colon and value and re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", kind) and kind != EMAIL and "@" not in kind:
        return Identifier(kind, value.strip())
    if kind == EMAIL and colon:
        text = value
    email = normalize_email(text) if "@" in text else None
    return Identifier(EMAIL, email) if email else None


def _dig(value: Any, path: str) -> Any:
    if isinstance(value, Mapping) and path in value:
        return value[path]
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@lru_cache(maxsize=256)
def _glob(pattern: str) -> Callable[[str], bool]:
    if "*" not in pattern:
        return pattern.__eq__
    compiled = re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z")
    return lambda email: compiled.match(email) is not None
