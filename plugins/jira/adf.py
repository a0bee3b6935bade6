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
