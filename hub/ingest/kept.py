"""The request an accepted webhook came in, as the hub keeps it beside its events (`hub.keep_requests`).

What is kept is what `InboundRequest.without_credentials` gives: no header or query parameter
that authenticates, no body part the source plugin's `SourceInfo.body_to_keep` takes out. The
names (never the values) of what was taken out are kept too, so the console can show that an
`Authorization` or signature header came and was masked.
"""

from __future__ import annotations

import uuid
from typing import Collection

from hub.events.storable import escape_unstorable
from hub.plugin.request import MAX_MEDIA_TYPE, InboundRequest
from hub.store import KeptRequest

INTAKE_NAMESPACE = uuid.UUID("5f0c8f1e-2b7a-4d55-9a57-3c2f8e6d1b40")


def kept_request(source: str, request: InboundRequest) -> KeptRequest:
    """A request as received (credentials in it), cleaned, under a new id."""
    cleaned = request.without_credentials()
    return from_cleaned(source, cleaned, str(uuid.uuid4()),
                        removed_headers=[name for name in request.headers if name not in cleaned.headers],
                        removed_query=[name for name in request.query if name not in cleaned.query])


def from_cleaned(source: str, cleaned: InboundRequest, request_id: str, *,
                 removed_headers: Collection[str] = (), removed_query: Collection[str] = ()) -> KeptRequest:
    """A request already cleaned (the intake log holds it so), with the names of what was taken out."""
    return KeptRequest(id=request_id, source=source, method=cleaned.method, path=cleaned.path,
                       content_type=escape_unstorable(cleaned.content_type)[:MAX_MEDIA_TYPE],
                       headers=cleaned.headers, query=cleaned.query, body=cleaned.body,
                       removed_headers=tuple(sorted(removed_headers)), removed_query=tuple(sorted(removed_query)))


def intake_request_id(entry_id: str) -> str:
    """The id of an intake entry's request: the same however many times the entry is taken in."""
    return str(uuid.uuid5(INTAKE_NAMESPACE, entry_id))
