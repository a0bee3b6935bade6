"""Block Kit for a message: header, section, optional link button, action buttons, context; text escaped and fitted.

Slack's documented limits: a header's text 150 characters, a section's text 3,000, a context
element's text 3,000, a button's text 75 and its URL 3,000, and a message's `text` 40,000 (Slack
cuts past that). Longer customer text is cut with a marker pointing to the full text.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import fit_text, text_length

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
CONTEXT_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75
BUTTON_URL_LIMIT = 3000
MESSAGE_TEXT_LIMIT = 40_000


def escape(text: str) -> str:
    """Slack's mrkdwn control characters: customer text can then never ping @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit_mrkdwn(text: str, limit: int, *, full_text_at: str | None = None) -> str:
    """`text` escaped for mrkdwn and fitted to `limit` after escaping (an entity is never cut in half)."""
    budget = limit
    while True:
        fitted = escape(fit_text(text, budget, full_text_at=full_text_at))
        length = text_length(fitted)
        if length <= limit:
            return fitted
        budget = min(budget - 1, budget * limit // length)  # shrinks by how much escaping grew the text


def message_blocks(params: Mapping[str, Any], full_text_at: str | None = None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if params["title"]:
        blocks.append({"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                  "text": fit_text(params["title"], HEADER_LIMIT, short=True)}})
    body = fit_mrkdwn(params["body"] or params["text"], SECTION_LIMIT, full_text_at=full_text_at)
    section: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": body}}
    if params["link_url"] and text_length(params["link_url"]) <= BUTTON_URL_LIMIT:  # a URL cannot be cut
        section["accessory"] = {"type": "button", "url": params["link_url"],
                                "text": {"type": "plain_text",
                                         "text": fit_text(params["link_text"], BUTTON_TEXT_LIMIT, short=True)}}
    blocks.append(section)
    if params.get("buttons"):
        blocks.append({"type": "actions", "elements": [action_button(button) for button in params["buttons"]]})
    if params["context"]:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                        "text": fit_mrkdwn(params["context"], CONTEXT_LIMIT)}]})
    return blocks


def action_button(button: Mapping[str, Any]) -> dict[str, Any]:
    """A button Slack reports back to the app when clicked (`block_actions`, with its action_id and value)."""
    element: dict[str, Any] = {"type": "button", "action_id": button["action_id"],
                               "text": {"type": "plain_text", "emoji": True,
                                        "text": fit_text(button["text"], BUTTON_TEXT_LIMIT, short=True)}}
    for key in ("value", "style"):
        if button.get(key):
            element[key] = button[key]
    return element


def message_text(params: Mapping[str, Any], full_text_at: str | None = None) -> str:
    """The plain-text fallback shown in notifications, within Slack's 40,000 characters."""
    return fit_text(params["text"], MESSAGE_TEXT_LIMIT, full_text_at=full_text_at)
