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
MAX_ROUNDS = 20  # each round renders the comment once
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def fit_comment(text: str, comment_format: str, *, full_text_at: str | None = None,
                limit: int = COMMENT_LIMIT_BYTES) -> str:
    """The body to send: `text` rendered, cut so that the rendered body is at most `limit` UTF-8 bytes."""
    if comment_format != "markdown":
        return _fit_rendered(text, lambda source: source, limit, full_text_at, slack=1)
    # Rendering 64 KB of Markdown takes a good fraction of a second: stop within 1/256 of the best cut.
    return _fit_rendered(text, _MARKDOWN.render, limit, full_text_at, slack=max(1, limit // 256))


def _fit_rendered(text: str, rendered: Callable[[str], str], limit: int, full_text_at: str | None, *,
                  slack: int) -> str:
    """The rendering of (nearly, within `slack`) the longest cut of `text` whose rendering fits in `limit` bytes.

    `fit_text` cuts by length; multi-byte characters, markup and escaping (`<` becomes `&lt;`)
    make the rendering longer. The first guess scales the cut by how much too long the whole
    rendering was; bisection does the rest.
    """
    def measure(budget: int) -> tuple[str, int]:
        body = rendered(fit_text(text, budget, full_text_at=full_text_at))
        return body, len(body.encode("utf-8"))

    body, size = measure(limit)
    if size <= limit:
        return body
    low, high, best = 0, limit, rendered("")  # a cut of `low` fits, one of `high` does not
    budget = limit
    for _ in range(MAX_ROUNDS):
        guess = budget * limit // max(size, 1)  # the rendering grows about in proportion to the cut
        if size <= limit and guess - low <= slack:
            break  # the best cut is within `slack` of this one
        budget = guess if low < guess < high else (low + high) // 2
        body, size = measure(budget)
        if size <= limit:
            low, best = budget, body
        else:
            high = budget
        if high - low <= slack:
            break
    return best


def comment_object(text: str, comment_format: str, public: bool, *, full_text_at: str | None = None) -> dict[str, Any]:
    """`{"body" | "html_body": ..., "public": ...}`."""
    key = "body" if comment_format == "text" else "html_body"
    return {key: fit_comment(text, comment_format, full_text_at=full_text_at), "public": public}
