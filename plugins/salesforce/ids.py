"""Salesforce record ids: 15 case-sensitive characters, or 18 with a case-insensitive checksum.

An id's 15-character form is case-sensitive (`00Dn00000008y2t` and `00DN00000008Y2T` are two
orgs). The 18-character form adds three characters that encode which of the 15 are upper
case, so that tools comparing ids without case still tell them apart. Two ids name the same
record when their 15-character forms are equal, compared with case; an 18-character id whose
suffix does not match its first 15 characters is no id at all.
"""

from __future__ import annotations

import re

ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def checksum(id15: str) -> str:
    """The three characters Salesforce appends to a 15-character id."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << position for position, char in enumerate(id15[start:start + 5]) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def short_form(value: str) -> str | None:
    """The 15-character form of an id, or None when `value` is not a well-formed 15- or 18-character id."""
    if not ID.match(value):
        return None
    if len(value) == 18 and value[15:].upper() != checksum(value[:15]):
        return None
    return value[:15]


def long_form(value: str) -> str | None:
    """The 18-character form of an id (links and event subjects use it), or None when not an id."""
    short = short_form(value)
    return short + checksum(short) if short else None
