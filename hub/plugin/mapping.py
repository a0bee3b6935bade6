"""Reading values out of vendor payloads by dotted path, and the conversions every source needs."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import urlsplit

from hub.plugin.errors import UnrecognizedPayload


def dig(payload: Any, path: str, default: Any = None) -> Any:
    """The value at dotted `path` (`form_response.hidden.email`, `answers.0.text`), or `default`."""
    value = payload
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return default
    return value


def require(payload: Any, path: str, what: str | None = None) -> Any:
    """Like `dig`, but a missing or null value means the payload is not one the plugin understands."""
    value = dig(payload, path)
    if value is None or value == "":
        raise UnrecognizedPayload(f"the payload has no {what or path!r}")
    return value


def require_id(payload: Any, path: str, what: str | None = None) -> str:
    """`require` then `as_id`: the id at `path` as a string, which a payload must have."""
    identifier = as_id(require(payload, path, what))
    assert identifier is not None  # require() refused None
    return identifier


def as_id(value: Any) -> str | None:
    """Ids become strings (so 64-bit ids keep every digit); None stays None."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    return str(value)


def as_text(value: Any) -> str | None:
    """A non-empty string, or None: vendor fields that should hold text sometimes hold anything."""
    return value if isinstance(value, str) and value.strip() else None


def as_list(value: Any) -> list[Any]:
    """A list, or an empty one: a vendor array that arrives as anything else holds nothing usable."""
    return value if isinstance(value, list) else []


def as_email(value: Any) -> str | None:
    """An email address, or None: a customer who typed "n/a" still sent a response worth keeping."""
    text = as_text(value)
    return text.strip() if text and "@" in text and " " not in text.strip() else None


def as_url(value: Any) -> str | None:
    """An absolute http(s) URL, or None."""
    text = as_text(value)
    return text if text and urlsplit(text).scheme in ("http", "https") and urlsplit(text).netloc else None


def parse_time(value: Any, what: str = "time") -> datetime:
    """An ISO 8601 string or Unix seconds, as an aware UTC datetime."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    raise UnrecognizedPayload(f"{what} {value!r} is not an ISO 8601 date-time or Unix timestamp")
