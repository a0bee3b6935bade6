"""hub/plugin/text.py: fitting customer text into a destination's limits, with a marker and a link."""

from __future__ import annotations

import pytest

from hub.plugin.text import fit_text, full_text_location, text_length

URL = "https://surveys.example.com/r/1001"


def test_text_within_the_limit_is_unchanged():
    assert fit_text("short", 5) == "short"
    assert fit_text("", 1) == ""


def test_long_text_is_cut_with_a_marker_and_where_the_full_text_is():
    fitted = fit_text("word " * 1000, 200, full_text_at=URL)
    assert len(fitted) <= 200
    assert fitted.startswith("word word") and fitted.endswith(f"word… [truncated; full text: {URL}]")


def test_without_a_place_the_marker_says_truncated():
    assert fit_text("x" * 100, 50) == "x" * 37 + "… [truncated]"


def test_short_marker_for_titles():
    assert fit_text("x" * 100, 10, short=True) == "x" * 9 + "…"


def test_a_place_too_long_for_the_limit_is_left_out():
    assert fit_text("x" * 100, 60, full_text_at="https://example.com/" + "p" * 40).endswith("x… [truncated]")


def test_a_limit_smaller_than_the_marker_keeps_an_ellipsis():
    assert fit_text("abcdefgh", 4, full_text_at=URL) == "abc…"


@pytest.mark.parametrize("limit", range(1, 12))
def test_emoji_count_as_two_and_are_never_split(limit):
    text = "😀" * 10
    fitted = fit_text(text, limit, short=True)
    assert text_length(fitted) <= limit
    assert fitted.rstrip("…") == "😀" * ((limit - 1) // 2)


def test_text_length_counts_utf16_code_units():
    assert (text_length("abc"), text_length("é"), text_length("😀a")) == (3, 1, 3)


def test_full_text_location_prefers_the_vendor_link():
    assert full_text_location({"id": "e-1", "data": {"link": {"url": URL}}}) == URL
    assert full_text_location({"id": "e-1", "data": {"link": {"url": None}}}) == "cxhub event e-1"
