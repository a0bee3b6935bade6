"""Intercom's HTML message bodies as plain text: the words and the line breaks, entities decoded.

Built on the standard library's HTML tokenizer (`html.parser`), which decodes character
references and never fails on broken markup. Scripts, styles and images leave nothing.
"""

from __future__ import annotations

from html.parser import HTMLParser

PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "table"})
LINES = frozenset({"div", "li", "tr", "hr"})
SILENT = frozenset({"script", "style", "head", "title", "template"})
LINE, PARAGRAPH = 1, 2  # block boundaries: a line break, or a blank line; they merge, `<br>` does not


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str | int] = []
        self.silent = 0
        self.preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, opening=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SILENT:
            self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag != "br":  # `<br></br>` is one break
            self._tag(tag, opening=False)

    def handle_data(self, data: str) -> None:
        if not self.silent and data:
            self.pieces.append(data if self.preformatted else _spaced(data))

    def _tag(self, tag: str, *, opening: bool) -> None:
        if tag in SILENT:
            self.silent = max(0, self.silent + (1 if opening else -1))
            return
        if tag == "pre":
            self.preformatted = max(0, self.preformatted + (1 if opening else -1))
        self._break(tag)

    def _break(self, tag: str) -> None:
        if tag == "br":
            self.pieces.append("\n")
        elif tag in PARAGRAPHS or tag in LINES:
            kind = PARAGRAPH if tag in PARAGRAPHS else LINE
            if self.pieces and isinstance(self.pieces[-1], int):
                self.pieces[-1] = max(self.pieces[-1], kind)
            else:
                self.pieces.append(kind)


def _spaced(data: str) -> str:
    """Runs of whitespace as one space, keeping one at either end if there was one (words across tags)."""
    inner = " ".join(data.split())
    if not inner:
        return " "
    return (" " if data[:1].isspace() else "") + inner + (" " if data[-1:].isspace() else "")


def html_to_text(markup: str) -> str:
    """The text of an HTML fragment: paragraphs apart by a blank line, `<br>` and blocks a line break."""
    parser = _TextOf()
    parser.feed(markup)
    parser.close()
    joined = "".join("\n" * piece if isinstance(piece, int) else piece for piece in parser.pieces)
    lines: list[str] = []
    for line in joined.split("\n"):
        line = line.strip()
        if line or (lines and lines[-1]):  # at most one blank line in a row
            lines.append(line)
    return "\n".join(lines).strip()
