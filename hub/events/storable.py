"""What both backends can store: text without the code points PostgreSQL refuses, within column lengths.

SQLite keeps any string. PostgreSQL's `text` and `jsonb` refuse U+0000 (NUL), and no backend
can encode a lone surrogate (U+D800 to U+DFFF) as UTF-8. Both keep every other code point,
non-characters such as U+FFFE and U+FFFF included. PostgreSQL also refuses a value longer than
its `VARCHAR` column, where SQLite keeps it. An event is checked against both before anything is
stored, so the two backends take and refuse the same events.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

import orjson

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Event fields the store keeps in VARCHAR columns (hub/store/tables.py), with those columns'
# lengths; the event schema gives each the same maxLength (a test holds the three together).
BOUNDED_FIELDS: Mapping[tuple[str, ...], int] = {
    ("subject",): 512,
    ("data", "vendor_event_id"): 512,
    ("data", "link", "id"): 512,
    ("data", "customer", "id"): 512,
    ("data", "customer", "email"): 320,
}


def escape_unstorable(text: str) -> str:
    """`text` with NUL and lone surrogates written as `\\u0000` escapes: for text the hub writes itself."""
    return UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text) if UNSTORABLE.search(text) else text


def unstorable_field(event: Mapping[str, Any]) -> str | None:
    """Why `event` cannot be stored on every backend (naming the field), or None when it can.

    This runs for every event, so it asks orjson first (a few microseconds): its output shows a
    NUL as `\\u0000`, and it refuses lone surrogates. Only then are the strings walked, to name
    the field (a literal backslash-u-0000 typed by a customer also gets there, and passes).
    """
    try:
        suspicious = b"\\u0000" in orjson.dumps(event)
    except orjson.JSONEncodeError:  # a lone surrogate, or something that is not JSON at all
        suspicious = True
    if suspicious:
        for path, text in _strings(event, ()):
            found = UNSTORABLE.search(text)
            if found:
                kind = "NUL" if found.group() == "\x00" else "a lone surrogate"
                return f"{_dotted(path)} contains U+{ord(found.group()):04X} ({kind}), which a database cannot store"
    for path, limit in BOUNDED_FIELDS.items():
        value = _at(event, path)
        if isinstance(value, str) and len(value) > limit:
            return f"{_dotted(path)} is {len(value)} characters long, over the {limit} the store keeps"
    return None


def _strings(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string in a JSON-like value, keys included, with where it is."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield path + (key,), key
            yield from _strings(item, path + (str(key),))
    elif isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            yield from _strings(item, path + (str(position),))


def _at(event: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = event
    for part in path:  # events are plain dicts; isinstance against Mapping would cost microseconds
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _dotted(path: tuple[str, ...]) -> str:
    return escape_unstorable(".".join(path)) or "(root)"
