"""The poll helpers of hub.plugin: the window a poll reads, and the digest that names an edit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.plugin import UnrecognizedPayload, content_digest, poll_window


def test_the_window_starts_at_the_cursor_less_the_overlap():
    since, start = poll_window("2026-11-30T08:15:02+00:00", first_look_back=timedelta(hours=24),
                               overlap=timedelta(minutes=10))
    assert since == datetime(2026, 11, 30, 8, 15, 2, tzinfo=timezone.utc)
    assert start == datetime(2026, 11, 30, 8, 5, 2, tzinfo=timezone.utc)


def test_before_the_first_poll_the_window_looks_back():
    before = datetime.now(timezone.utc)
    since, start = poll_window(None, first_look_back=timedelta(hours=2), overlap=timedelta(0))
    assert since == start
    assert before - timedelta(hours=2) <= since <= datetime.now(timezone.utc) - timedelta(hours=2)


def test_a_cursor_that_is_not_a_time_is_refused():
    with pytest.raises(UnrecognizedPayload):
        poll_window("page-7", first_look_back=timedelta(hours=1))


def test_the_digest_names_what_an_edit_says():
    assert content_digest(4, "Title", "Text") == content_digest(4, "Title", "Text")
    assert len({content_digest(4, "Title", "Text"), content_digest(5, "Title", "Text"),
                content_digest(4, "Title", "Text."), content_digest(4, None, "Text")}) == 4
    assert len(content_digest("ü")) == 16
