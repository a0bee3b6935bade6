"""Block Kit for a message: header, section, optional button, context; all user text escaped."""

from __future__ import annotations

from typing import Any, Mapping

HEADER_LIMIT = 150
SECTION_LIMIT = 3000


def escape(text: str) -> str:
    """Slack's mrkdwn control characters: customer text can then never ping @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_blocks(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if params["title"]:
        blocks.append({"type": "header",
                       "text": {"type": "plain_text", "text": _clip(params["title"], HEADER_LIMIT), "emoji": True}})
    section: dict[str, Any] = {"type": "section",
                               "text": {"type": "mrkdwn", "text": _clip(escape(params["body"] or params["text"]),
                                                                        SECTION_LIMIT)}}
    if params["link_url"]:
        section["accessory"] = {"type": "button", "text": {"type": "plain_text", "text": params["link_text"]},
                                "url": params["link_url"]}
    blocks.append(section)
    if params["context"]:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(params["context"])}]})
    return blocks
