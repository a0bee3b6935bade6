"""Intercom's HTML bodies as plain text: words, line breaks and entities, nothing of the markup."""

from __future__ import annotations

import pytest

from plugins.intercom.html_text import html_to_text


@pytest.mark.parametrize(("markup", "text"), [
    ("<p>Hello everyone!</p>", "Hello everyone!"),
    ("<p>a<br>b</p><p>c &amp; d &lt;3 &#x1F600; &eacute;</p>", "a\nb\n\nc & d <3 😀 é"),
    ("<div>one</div><div>two</div>", "one\ntwo"),  # blocks are lines, not paragraphs
    ("<ul><li>tea</li><li>milk</li></ul><p>end", "tea\nmilk\n\nend"),
    ("x<br><br><br><br>y", "x\n\ny"),  # at most one blank line
    ("<p>  spaced\n   out  </p>", "spaced out"),
    ("<p>bold<b> word</b>s</p>", "bold words"),
    ("<script>alert(1)</script><style>p{}</style><p>kept</p>", "kept"),
    ('<img src="x" onerror="alert(1)"><p>after</p>', "after"),
    ('<p>unclosed <a href="https://example.com">link', "unclosed link"),
    ("plain text, no markup", "plain text, no markup"),
    ("", ""),
    ("&lt;p&gt;not a tag&lt;/p&gt;", "<p>not a tag</p>"),  # escaped markup is text
])
def test_html_becomes_plain_text(markup, text):
    assert html_to_text(markup) == text


def test_deeply_nested_or_huge_markup_is_read_without_failing():
    assert html_to_text("<div>" * 50_000 + "deep" + "</div>" * 50_000) == "deep"
    assert len(html_to_text("<p>word</p>" * 20_000)) == len("word\n\n" * 20_000) - 2
