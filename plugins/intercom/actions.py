"""The Intercom actions: `reply` (an admin's reply or internal note on a conversation) and `tag_contact`.

Calls go to the connection's `base_url` with `Authorization: Bearer <access_token>` and the
pinned `Intercom-Version`. The shared client retries transport errors, 429 (honouring
Retry-After) and 5xx. On top of it: 401 and 403 pause the connection (the token was revoked or
lacks a permission, for every delivery alike); 404 dead-letters the delivery, naming the object.

Intercom takes no idempotency key: a reply whose answer was lost (a timeout after Intercom
posted it) is posted again by the retry. Tagging twice changes nothing.
"""

from __future__ import annotations

import html
from typing import Any, Mapping

import requests

from hub.plugin import (
    ActionResult,
    AuthFailed,
    Connection,
    GiveUp,
    HttpClient,
    Link,
    as_id,
    fit_text,
    full_text_location,
    text_length,
)

# Intercom documents no limit on a reply's body that we found; cxhub keeps a body, HTML included,
# within 32,768 UTF-16 code units, far beyond any message a person reads in the inbox.
BODY_LIMIT = 32_768
MAX_ROUNDS = 12


def reply(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    conversation_id = params["conversation_id"]
    body = fit_body(params["body"], params["body_format"], full_text_at=full_text_location(event))
    request = {"message_type": params["message_type"], "type": "admin", "admin_id": params["admin_id"], "body": body}
    document = _json(call(connection, "POST", f"conversations/{conversation_id}/reply",
                          what=f"conversation {conversation_id}", json=request))
    part = _last_part(document)
    return ActionResult(external_id=as_id(part.get("id")) or conversation_id,
                        detail={"conversation_id": conversation_id, "message_type": params["message_type"]},
                        link=Link(system="intercom", id=conversation_id, type="conversation"))


def tag_contact(connection: Connection, params: Mapping[str, Any]) -> ActionResult:
    contact_id = params["contact_id"]
    tag_id = params["tag_id"] or _tag_named(connection, params["tag_name"])
    call(connection, "POST", f"contacts/{contact_id}/tags", what=f"contact {contact_id} or tag {tag_id}",
         json={"id": tag_id})
    return ActionResult(external_id=tag_id, detail={"contact_id": contact_id})


def _tag_named(connection: Connection, name: str) -> str:
    """The id of the tag called `name`: `POST /tags` creates it, or answers with the one that exists."""
    tag = _json(call(connection, "POST", "tags", what=f"tag {name!r}", json={"name": name}))
    tag_id = as_id(tag.get("id"))
    if not tag_id:
        raise GiveUp(f"Intercom answered the tag {name!r} without an id")
    return tag_id


def fit_body(text: str, body_format: str, *, full_text_at: str | None = None, limit: int = BODY_LIMIT) -> str:
    """The body to send: plain text escaped into paragraphs (or HTML as given), within `limit`.

    Escaping makes the body longer than the text (`<` becomes `&lt;`), so the text is cut again,
    shorter each round in proportion to how much the body overshot, until the body fits.
    """
    budget = limit
    for _ in range(MAX_ROUNDS):
        body = render(fit_text(text, budget, full_text_at=full_text_at), body_format)
        size = text_length(body)
        if size <= limit:
            return body
        budget = max(0, budget * limit // size - 1)
    return render(fit_text(text, 0), body_format)[:limit]


def render(text: str, body_format: str) -> str:
    """Plain text as HTML paragraphs (a blank line apart), line breaks kept, nothing read as markup."""
    if body_format == "html":
        return text
    paragraphs = [part for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]
    return "".join(f"<p>{html.escape(part.strip()).replace(chr(10), '<br>')}</p>" for part in paragraphs)


def call(connection: Connection, method: str, path: str, *, what: str, **kwargs: Any) -> requests.Response:
    """Send one API request; `what` names its object in error messages ("conversation 123")."""
    client: HttpClient | None = connection.http
    assert client is not None  # the plugin declares a url_setting, so the core always gives a client
    settings = connection.settings
    headers = {"Authorization": f"Bearer {settings['access_token'].reveal()}", "Accept": "application/json",
               "Intercom-Version": settings["api_version"]}
    try:
        return client.request(method, path, headers=headers, **kwargs)
    except GiveUp as error:
        if error.status_code in (401, 403):
            raise AuthFailed(f"Intercom refused the connection's access token ({error.status_code}); fix it "
                             f"or its permissions, then resume the connection: {error.message}",
                             status_code=error.status_code) from None
        if error.status_code == 404:
            raise GiveUp(f"{what} was not found in Intercom (deleted, or another workspace?): {error.message}",
                         status_code=404) from None
        raise


def _json(response: requests.Response) -> Mapping[str, Any]:
    try:
        document = response.json()
    except ValueError:
        document = None
    return document if isinstance(document, dict) else {}


def _last_part(conversation: Mapping[str, Any]) -> Mapping[str, Any]:
    parts = conversation.get("conversation_parts")
    listed = parts.get("conversation_parts") if isinstance(parts, dict) else None
    found = [part for part in listed if isinstance(part, dict)] if isinstance(listed, list) else []
    return found[-1] if found else {}
