"""The raw request an event came in, shaped for the event page: what was kept, and what was masked.

The store holds the request as `InboundRequest.without_credentials` gave it, with the names of
the headers and query parameters taken out. The page lists those names with a mask in place
of their values (which the hub never had after verifying the request), and every value it does
show passes the log redactor too, so a secret the hub knows never renders even if a vendor
echoed it somewhere unexpected. The body is shown as text, cut at `MAX_BODY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import orjson

from hub.store import RequestRow

MAX_BODY = 256 * 1024
MASK = "••••••"


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    masked: bool  # taken out on arrival: a credential, never kept


@dataclass(frozen=True)
class RawRequest:
    row: RequestRow
    headers: list[Field]
    query: list[Field]
    body: str
    cut: bool  # the body is longer than what is shown


def raw_request(row: RequestRow, mask: Callable[[str], str]) -> RawRequest:
    """The kept request with the removed fields listed masked, values passed through `mask`."""
    removed = orjson.loads(row.removed)
    return RawRequest(
        row=row,
        headers=_fields(orjson.loads(row.headers), removed.get("headers", []), mask),
        query=_fields(orjson.loads(row.query), removed.get("query", []), mask),
        body=mask(row.body[:MAX_BODY].decode("utf-8", "replace")),
        cut=len(row.body) > MAX_BODY,
    )


def _fields(kept: dict[str, str], removed: list[str], mask: Callable[[str], str]) -> list[Field]:
    shown = [Field(name, mask(str(value)), False) for name, value in kept.items()]
    shown += [Field(name, MASK, True) for name in removed if name not in kept]
    return sorted(shown, key=lambda field: field.name.lower())
