"""Regular expressions in route conditions: RE2, so no text can make a match take more than linear time.

Route patterns are written by admins and run on text written by customers, inside the web
request. A backtracking engine (Python's `re`) can take hours on thirty characters against a
pattern with nested quantifiers; RE2 guarantees time linear in the text and bounded memory,
at the price of the constructs that need backtracking. Those are refused when the config
loads, with a message that names the construct.
"""

from __future__ import annotations

import re
from typing import Any

import re2

TEXT_LIMIT = 64 * 1024  # a regex condition reads at most this many characters of its field
MAX_MEMORY = 8 * 1024 * 1024  # bytes RE2 may use for one compiled pattern (its DFA cache included)

ENGINE = "route conditions use RE2, a linear-time engine"

# RE2's error text names what it stopped at; this turns it into the construct's name.
_UNSUPPORTED = (
    ("invalid perl operator: (?=", "lookahead (?=...)"),
    ("invalid perl operator: (?!", "negative lookahead (?!...)"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...)"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...)"),
    ("invalid perl operator: (?>", "atomic group (?>...)"),
    ("invalid perl operator: (?P", "named backreference (?P=name)"),  # (?P<name>...) itself is supported
    ("invalid perl operator: (?(", "conditional group (?(...)...)"),
    ("invalid perl operator: (?#", "comment group (?#...)"),
    ("invalid perl operator: (?x", "verbose flag (?x)"),
    ("invalid perl operator: (?a", "ASCII flag (?a)"),
    ("invalid perl operator: (?u", "flag (?u)"),
    ("invalid perl operator: (?L", "locale flag (?L)"),
    ("bad repetition operator: ++", "possessive quantifier ++"),
    ("bad repetition operator: *+", "possessive quantifier *+"),
    ("bad repetition operator: ?+", "possessive quantifier ?+"),
    ("invalid escape sequence: \\Z", "\\Z (write \\z for the end of the text)"),
    ("invalid escape sequence: \\G", "\\G"),
)
_LIMITS = ("invalid repetition size", "bad repetition operator", "pattern too large")  # RE2's own bounds
_BACKREFERENCE = re.compile(r"invalid escape sequence: \\[1-9]")
_LITERAL_REPEAT = re.compile(r"(?<!\\)\{,[0-9]+\}")  # Python reads x{,n} as x{0,n}; RE2 as the text "{,n}"


class UnsupportedPattern(ValueError):
    """A pattern RE2 cannot compile; the message says why, in terms an admin can act on."""


def _options() -> Any:
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    options.longest_match = False  # leftmost-first, as Python's re: `a|ab` finds "a"
    options.log_errors = False  # the error goes into check-config's report, not to stderr
    return options


def compile_pattern(pattern: str) -> Any:
    """Compile an admin's pattern with RE2; raise UnsupportedPattern naming what RE2 does not support."""
    repeat = _LITERAL_REPEAT.search(pattern)
    if repeat:
        raise UnsupportedPattern(f"{repeat.group()} would match the text {repeat.group()!r}, not a repetition: "
                                 f"write {{0{repeat.group()[1:]} ({ENGINE})")
    try:
        return re2.compile(pattern, _options())
    except re2.error as error:
        refusal = _message(error)
    if refusal.startswith(_LIMITS):
        raise UnsupportedPattern(_explain(refusal))
    try:
        re.compile(pattern)  # only to tell a typo (with Python's position) from a construct RE2 lacks
    except re.error as typo:
        raise UnsupportedPattern(f"invalid regular expression: {typo}") from None
    raise UnsupportedPattern(_explain(refusal))


def search(compiled: Any, text: str) -> bool:
    """Whether the pattern occurs in the first TEXT_LIMIT characters of `text`."""
    return compiled.search(text[:TEXT_LIMIT]) is not None


def _message(error: Exception) -> str:
    detail = error.args[0] if error.args else str(error)
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


def _explain(message: str) -> str:
    for prefix, construct in _UNSUPPORTED:
        if message.startswith(prefix):
            return f"{construct} is not supported: {ENGINE}"
    if _BACKREFERENCE.match(message):
        return f"backreference {message.rsplit(' ', 1)[-1]} is not supported: {ENGINE}"
    if message.startswith("invalid repetition size"):
        return f"{message}: a repetition count is at most 1000, nested counts multiplied ({ENGINE})"
    if message.startswith("pattern too large"):
        return f"the pattern is too large: it needs more than {MAX_MEMORY // (1024 * 1024)} MiB compiled ({ENGINE})"
    return f"{message}: not supported ({ENGINE})"
