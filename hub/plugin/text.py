"""Fitting customer text into a destination's limits: cut it, say so, and say where the rest is.

A review can be a megabyte long; a Jira field takes 32,767 characters and a Slack section 3,000.
An action that sent it whole would be refused and dead-lettered, so actions cut what they send
to the documented limit instead, ending with a marker that points to the full text.

Lengths are counted in UTF-16 code units, as Java and JavaScript count characters: an emoji is
two. Where a service counts code points instead, the text fits all the more.
"""

from __future__ import annotations

from typing import Any, Mapping

TRUNCATED = "… [truncated]"
ELLIPSIS = "…"


def text_length(text: str) -> int:
    """The length in UTF-16 code units."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def fit_text(text: str, limit: int, *, full_text_at: str | None = None, short: bool = False) -> str:
    """`text` if it fits in `limit`; else its start and a marker, together within `limit`.

    The marker is `… [truncated; full text: <full_text_at>]`, or `… [truncated]` without a
    place; `short=True` gives a bare `…`, for titles. A place too long for the limit is left out.
    """
    if len(text) <= limit and text_length(text) <= limit:
        return text
    marker = ELLIPSIS if short else _marker(full_text_at, limit)
    if text_length(marker) >= limit:
        marker = ELLIPSIS
    return _head(text, limit - text_length(marker)).rstrip() + marker


def full_text_location(event: Mapping[str, Any]) -> str:
    """Where a reader finds an event's whole text: the vendor's page for it, else the event in cxhub."""
    data = event.get("data") or {}
    url = (data.get("link") or {}).get("url")
    return url if isinstance(url, str) and url else f"cxhub event {event.get('id')}"


def _marker(full_text_at: str | None, limit: int) -> str:
    if full_text_at and text_length(full_text_at) <= limit // 2:
        return f"{ELLIPSIS} [truncated; full text: {full_text_at}]"
    return TRUNCATED


def _head(text: str, units: int) -> str:
    """The longest start of `text` of at most `units` UTF-16 code units (never half a character)."""
    head = text[:max(units, 0)]
    while (over := text_length(head) - units) > 0:
        head = head[: len(head) - (over + 1) // 2]
    return head
