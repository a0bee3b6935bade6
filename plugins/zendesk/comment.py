"""A ticket comment as the Support API takes it: `body` (plain text) or `html_body`, within 64 KB.

Zendesk limits one comment to 64 KB. What counts is the body that is sent, in UTF-8 bytes, so
the text is cut (with `fit_text`, ending with a marker that says where the full text is) until
the rendered body fits. Markdown is rendered to HTML with markdown-it-py's CommonMark preset and
raw HTML turned off: HTML typed by a customer arrives as visible text, never as markup, and
links with `javascript:` and similar schemes are not made links.
"""

from __future__ import annotations

from typing import Any, Callable

from markdown_it import MarkdownIt

from hub.plugin import fit_text

COMMENT_LIMIT_BYTES = 65_536  # "64 KB" per comment body
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def render(text: str, comment_format: str) -> str:
    return _MARKDOWN.render(text) if comment_format == "markdown" else text


def fit_comment(text: str, comment_format: str, *, full_text_at: str | None = None,
                limit: int = COMMENT_LIMIT_BYTES) -> str:
    """The body to send: `text` rendered, cut so that the rendered body is at most `limit` UTF-8 bytes."""
    return _fit_rendered(text, lambda source: render(source, comment_format), limit, full_text_at)


def _fit_rendered(text: str, rendered: Callable[[str], str], limit: int, full_text_at: str | None) -> str:
    """Shrink the source by the overshoot until its rendering fits.

    The first cut is by length; markup and escaping (`<` becomes `&lt;`) and multi-byte
    characters can make the rendering longer, so a few more rounds may follow. The budget
    shrinks every round, so this ends.
    """
    budget = limit
    while True:
        body = rendered(fit_text(text, budget, full_text_at=full_text_at))
        over = len(body.encode("utf-8")) - limit
        if over <= 0 or budget <= 1:
            return body
        budget = budget - over if over < budget else budget // 2


def comment_object(text: str, comment_format: str, public: bool, *, full_text_at: str | None = None) -> dict[str, Any]:
    """`{"body" | "html_body": ..., "public": ...}`."""
    key = "body" if comment_format == "text" else "html_body"
    return {key: fit_comment(text, comment_format, full_text_at=full_text_at), "public": public}
