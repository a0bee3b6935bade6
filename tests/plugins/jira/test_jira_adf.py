"""ADF to plain text: what Jira's editor writes, and what an attacker could send."""

from __future__ import annotations

from plugins.jira.adf import adf_to_text, text_to_adf


def test_text_written_as_adf_reads_back_the_same():
    text = "First paragraph\nsecond line\n\n> a quote\n> two lines"
    assert adf_to_text(text_to_adf(text)) == text


def test_marks_links_mentions_emoji_and_tables_keep_their_words():
    document = {"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Title"}]},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "see ", "marks": [{"type": "em"}]},
            {"type": "text", "text": "docs", "marks": [{"type": "link", "attrs": {"href": "https://x.example"}}]},
            {"type": "text", "text": " "}, {"type": "emoji", "attrs": {"shortName": ":smile:"}}]},
        {"type": "orderedList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "a"}]}]}]},
        {"type": "rule"},
        {"type": "table", "content": [{"type": "tableRow", "content": [
            {"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "cell"}]}]}]}]},
        {"type": "codeBlock", "content": [{"type": "text", "text": "x = 1"}]}]}
    assert adf_to_text(document) == "Title\n\nsee docs :smile:\n\n- a\n\n---\n\ncell\n\nx = 1"


def test_a_plain_string_body_is_kept_and_junk_gives_nothing():
    assert adf_to_text("wiki *markup*") == "wiki *markup*"
    assert adf_to_text(None) == adf_to_text(42) == adf_to_text({"type": "doc", "content": "x"}) == ""
    assert adf_to_text({"type": "paragraph", "content": [{"type": "text", "text": 5}, "junk"]}) == ""


def test_a_very_deep_document_stops_instead_of_overflowing_the_stack():
    node: dict = {"type": "text", "text": "deep"}
    for _ in range(5000):
        node = {"type": "blockquote", "content": [node]}
    assert adf_to_text(node) == ""
