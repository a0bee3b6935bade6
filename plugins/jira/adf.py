"""Plain text to Atlassian Document Format, the rich-text format of Jira's REST API v3."""

from __future__ import annotations

from typing import Any


def _text_with_breaks(lines: list[str]) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    for line in lines:
        if content:
            content.append({"type": "hardBreak"})
        if line:
            content.append({"type": "text", "text": line})
    return content


def _paragraph(lines: list[str]) -> dict[str, Any]:
    return {"type": "paragraph", "content": _text_with_breaks(lines)}


def _unquote(line: str) -> str:
    return line[2:] if line.startswith("> ") else line[1:] if line.startswith(">") else line


def _block(lines: list[str]) -> dict[str, Any]:
    """A paragraph, or a blockquote when it starts with '>' (so a quoted multi-line answer stays quoted)."""
    if lines[0].startswith(">"):
        return {"type": "blockquote", "content": [_paragraph([_unquote(line) for line in lines])]}
    return _paragraph(lines)


def text_to_adf(text: str) -> dict[str, Any]:
    """Blank lines separate paragraphs; a paragraph that starts with '> ' becomes a quote.

    ADF rejects empty text nodes, so blank input gives a document with one empty paragraph.
    """
    blocks = [[line.rstrip() for line in block.strip("\n").split("\n")]
              for block in text.replace("\r\n", "\n").split("\n\n")]
    content = [_block(lines) for lines in blocks if any(line.strip() for line in lines)]
    return {"type": "doc", "version": 1, "content": content or [{"type": "paragraph", "content": []}]}


# --- ADF to plain text, for the text of inbound events ----------------------

_BLOCK_SEPARATOR = "\n\n"
_MAX_DEPTH = 100  # deeper documents are not written by Jira's editor; stop rather than recurse without end


def adf_to_text(document: Any) -> str:
    """The words of an ADF document as plain text: blocks separated by blank lines, hard breaks kept.

    Mentions, emoji, dates and statuses become their text (`@Ann`, `:smile:`); a link keeps its
    text; media and unknown inline nodes are left out. A plain string (the v2 API and some
    webhooks send wiki markup) is returned as it is.
    """
    if isinstance(document, str):
        return document
    return _node_text(document, 0).strip()


def _node_text(node: Any, depth: int) -> str:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return ""
    kind = node.get("type")
    attrs: dict[str, Any] = node["attrs"] if isinstance(node.get("attrs"), dict) else {}
    if kind == "text":
        text = node.get("text")
        return text if isinstance(text, str) else ""
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status", "date", "inlineCard"):
        value = attrs.get("text") or attrs.get("shortName") or attrs.get("url")
        return value if isinstance(value, str) else ""
    children: list[Any] = node["content"] if isinstance(node.get("content"), list) else []
    if kind == "listItem":
        return _blocks(children, depth, "\n")
    if kind in ("bulletList", "orderedList"):
        return "\n".join(f"- {_node_text(item, depth + 1)}" for item in children)
    if kind in ("paragraph", "heading", "codeBlock"):
        return "".join(_node_text(child, depth + 1) for child in children)
    if kind == "blockquote":
        inner = _blocks(children, depth, _BLOCK_SEPARATOR)
        return inner and "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if kind == "rule":
        return "---"
    return _blocks(children, depth, _BLOCK_SEPARATOR)  # doc, panel, table, expand, ...: their blocks in order


def _blocks(children: list[Any], depth: int, separator: str) -> str:
    return separator.join(text for child in children if (text := _node_text(child, depth + 1)))
