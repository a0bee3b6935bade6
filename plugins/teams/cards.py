"""The JSON a Teams webhook takes: an Adaptive Card in a message attachment, or a legacy MessageCard.

Teams refuses messages over about 28 KB ("Limits and specifications for Microsoft Teams";
webhook errors then read "returned HTTP error 413"). Adaptive Cards document no limit per
field, so the title, fact names and link title are clipped to a readable length and the long
parts (the text and fact values) are cut, with a marker pointing to the full text, until the
whole encoded payload fits.
"""

from __future__ import annotations

from typing import Any, Mapping

import orjson

from hub.plugin import fit_text

PAYLOAD_LIMIT = 27_000  # bytes of UTF-8 JSON: under Teams' ~28 KB with room for its own wrapping
TITLE_LIMIT = 200
FACT_NAME_LIMIT = 100
FACT_VALUE_LIMIT = 1_000
LINK_TITLE_LIMIT = 100
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_VERSION = "1.4"
BAND_STYLES = {"negative": "attention", "neutral": "warning", "positive": "good"}
THEME_COLOURS = {"good": "2E7D32", "attention": "C62828", "warning": "F9A825", "accent": "0078D4",
                 "emphasis": "616161"}


def style_for(params: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """The route's `style`, else the colour of the event's score band (red for a detractor), else default."""
    if params["style"]:
        return str(params["style"])
    band = ((event.get("data") or {}).get("score") or {}).get("band")
    return BAND_STYLES.get(band, "default") if isinstance(band, str) else "default"


def adaptive_card(params: Mapping[str, Any], text: str, facts: list[tuple[str, str]], style: str) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if params["title"]:
        heading = {"type": "TextBlock", "text": fit_text(params["title"], TITLE_LIMIT, short=True),
                   "weight": "Bolder", "size": "Medium", "wrap": True}
        body.append({"type": "Container", "style": style, "items": [heading]} if style != "default" else heading)
    body.append({"type": "TextBlock", "text": text, "wrap": True})
    if facts:
        body.append({"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in facts]})
    card: dict[str, Any] = {"$schema": ADAPTIVE_CARD_SCHEMA, "type": "AdaptiveCard",
                            "version": ADAPTIVE_CARD_VERSION, "body": body}
    if params["link_url"]:
        card["actions"] = [{"type": "Action.OpenUrl", "title": _link_title(params), "url": params["link_url"]}]
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "contentUrl": None, "content": card}]}


def message_card(params: Mapping[str, Any], text: str, facts: list[tuple[str, str]], style: str) -> dict[str, Any]:
    """The legacy connector card: `summary` is required when there is no `text`, so it is always set."""
    title = fit_text(params["title"], TITLE_LIMIT, short=True) if params["title"] else None
    card: dict[str, Any] = {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                            "summary": title or fit_text(text, TITLE_LIMIT, short=True), "text": text}
    if title:
        card["title"] = title
    if style in THEME_COLOURS:
        card["themeColor"] = THEME_COLOURS[style]
    if facts:
        card["sections"] = [{"facts": [{"name": name, "value": value} for name, value in facts]}]
    if params["link_url"]:
        card["potentialAction"] = [{"@type": "OpenUri", "name": _link_title(params),
                                    "targets": [{"os": "default", "uri": params["link_url"]}]}]
    return card


BUILDERS = {"adaptive_card": adaptive_card, "message_card": message_card}


def fitted_payload(card_format: str, params: Mapping[str, Any], style: str,
                   full_text_at: str | None = None) -> bytes:
    """The encoded payload, its long parts cut until it is within PAYLOAD_LIMIT bytes."""
    build = BUILDERS[card_format]
    text_budget, value_budget = len(params["text"]), FACT_VALUE_LIMIT
    while True:
        text = fit_text(params["text"], text_budget, full_text_at=full_text_at)
        facts = [(fit_text(fact["name"], FACT_NAME_LIMIT, short=True),
                  fit_text(fact["value"], value_budget, full_text_at=full_text_at)) for fact in params["facts"]]
        payload = orjson.dumps(build(params, text, facts, style))
        if len(payload) <= PAYLOAD_LIMIT or (text_budget <= 1 and value_budget <= 1):
            return payload
        shrink = PAYLOAD_LIMIT / len(payload) * 0.95  # bytes per character differ: shrink in proportion
        text_budget = max(1, min(text_budget - 1, int(min(text_budget, len(text)) * shrink)))
        value_budget = max(1, min(value_budget - 1, int(value_budget * shrink)))


def _link_title(params: Mapping[str, Any]) -> str:
    return fit_text(params["link_title"], LINK_TITLE_LIMIT, short=True)
