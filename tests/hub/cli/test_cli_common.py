"""hub/cli/common.py: table and JSON output that a terminal shows rather than acts on."""

from __future__ import annotations

import logging
import sys

import orjson
import pytest

from hub.cli.common import VisibleFormatter, print_json, print_table, visible


@pytest.mark.parametrize(("text", "shown"), [
    ("plain text, café, 日本", "plain text, café, 日本"),
    ("\x1b[31mred", "\\x1b[31mred"),
    ("over\rwrite", "over\\rwrite"),
    ("a\nb\tc\x00", "a\\nb\\tc\\x00"),
    ("\x7f\x85\x9b", "\\x7f\\x85\\x9b"),
    ("evil\u202egpj.exe", "evil\\u202egpj.exe"),
    ("\u2066\u2069\u200f\u061c\u2028", "\\u2066\\u2069\\u200f\\u061c\\u2028"),
])
def test_visible_escapes_controls_and_bidi_overrides(text, shown):
    assert visible(text) == shown


def test_tables_align_on_the_escaped_text(capsys):
    print_table([("\x1b[2J", "x"), ("ab", "y")], ("A", "B"))
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["A" + " " * 8 + "B", "\\x1b[2J  x", "ab" + " " * 7 + "y"]


def test_json_output_stays_valid_and_exact(capsys):
    value = {"email": "\x1b[31m\u202e\x9b\x7f\u2028x"}
    print_json(value)
    out = capsys.readouterr().out
    assert not any(char in out for char in "\x1b\u202e\x9b\x7f\u2028")
    assert orjson.loads(out) == value


def test_log_lines_escape_what_they_quote_and_keep_tracebacks_readable():
    formatter = VisibleFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("cxhub", logging.WARNING, __file__, 1, "answered 500: %s", ("\x1b[2J\rok",),
                                   sys.exc_info())
    first, *traceback = formatter.format(record).split("\n")
    assert first == "WARNING answered 500: \\x1b[2J\\rok"
    assert traceback[0] == "Traceback (most recent call last):" and traceback[-1] == "ValueError: boom"
