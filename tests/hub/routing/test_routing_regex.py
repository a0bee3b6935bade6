"""Route regexes on RE2: the catastrophic-pattern library, the text bound, and what check-config says
about constructs RE2 does not have.

The library runs each known catastrophic pattern against about 100 KB of hostile text through
the route matcher, in a separate process: on a backtracking engine each one takes hours, so a
case that has not answered after HANG_SECONDS is a hang, and the process is killed. That is a
hang detector, not a speed assertion.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from typing import Iterator

import pytest

from hub.routing import regex
from hub.routing.conditions import compile_condition

HANG_SECONDS = 20
HOSTILE_SIZE = 100_000

# A run of 31 characters the pattern loves, then one it cannot end on. Units of 32 characters
# fill the TEXT_LIMIT characters a condition reads exactly, so the text read ends on the refusal.
RUN = "a" * 31 + "!"


def hostile(unit: str = RUN) -> str:
    return (unit * (HOSTILE_SIZE // len(unit) + 1))[:HOSTILE_SIZE]


EMAIL_OWASP = (r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}"
               r"(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$")
EMAIL_CLASSIC = r"^([a-zA-Z0-9_\.\-])+\@(([a-zA-Z0-9\-])+\.)+([a-zA-Z0-9]{2,4})+$"

# pattern, hostile text, whether it matches (what any correct engine answers on the text read)
CATASTROPHIC = {
    "nested-plus": (r"(a+)+$", hostile(), False),
    "overlapping-alternation": (r"(a|aa)+$", hostile(), False),
    "optional-alternation": (r"^(a|a?)+$", hostile(), False),
    "star-of-star": (r"^(a*)*$", hostile(), False),
    "repeated-dot-star": (r"(.*a){20}", "a" * 19 + "!" * (HOSTILE_SIZE - 19), False),
    "letters-star": (r"^([a-zA-Z]+)*$", hostile(), False),
    "words-and-spaces": (r"^(\w+\s?)*$", hostile(), False),
    "digits-star": (r"^(\d+)*$", hostile("1" * 31 + "x"), False),
    "x-plus-x-plus": (r"(x+x+)+y", hostile("x" * 31 + "!"), False),
    "java-class-name": (r"^(([a-z])+.)+[A-Z]([a-z])+$", hostile(), False),
    "email-owasp": (EMAIL_OWASP, hostile(), False),
    "email-classic": (EMAIL_CLASSIC, hostile("a" * 31 + "@"), False),
    "nested-plus-matching": (r"(a+)+!", hostile(), True),
    "email-classic-matching": (EMAIL_CLASSIC, "ann@example.com", True),
}

EVALUATOR = """
import json, sys
from hub.routing.conditions import compile_condition
for line in sys.stdin:
    case = json.loads(line)
    condition = compile_condition({"field": "data.text", "regex": case["pattern"]})
    print(json.dumps(condition.matches({"data": {"text": case["text"]}})), flush=True)
"""


class Evaluator:
    """A process that evaluates route conditions one line at a time; killed if one hangs."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def matches(self, pattern: str, text: str) -> bool:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen([sys.executable, "-c", EVALUATOR], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, text=True)
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"pattern": pattern, "text": text}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], HANG_SECONDS)
        if not ready:
            self.close()
            pytest.fail(f"matching {pattern!r} did not finish within {HANG_SECONDS}s: a backtracking engine")
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture(scope="module")
def evaluator() -> Iterator[Evaluator]:
    evaluator = Evaluator()
    yield evaluator
    evaluator.close()


@pytest.mark.parametrize(("pattern", "text", "expected"), CATASTROPHIC.values(), ids=CATASTROPHIC.keys())
def test_a_catastrophic_pattern_answers_on_hostile_text(evaluator, pattern, text, expected):
    assert evaluator.matches(pattern, text) is expected


def test_hostile_text_fills_what_a_condition_reads_and_more():
    text = hostile()
    assert len(text) > regex.TEXT_LIMIT and text[: regex.TEXT_LIMIT].endswith("!")


# --- the text bound -----------------------------------------------------------------


def matches(pattern: str, text: str) -> bool:
    return compile_condition({"field": "data.text", "regex": pattern}).matches({"data": {"text": text}})


def test_a_condition_reads_the_first_text_limit_characters():
    assert matches("needle", "x" * (regex.TEXT_LIMIT - 6) + "needle")
    assert not matches("needle", "x" * (regex.TEXT_LIMIT - 5) + "needle")
    assert matches("x$", "x" * (regex.TEXT_LIMIT + 10) + "!")  # the end of what is read


# --- what RE2 keeps from Python's syntax -----------------------------------------------


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    (r"(?i)refund|cancel", "Please CANCEL my plan", True),
    (r"(?s)a.b", "a\nb", True),
    (r"a.b", "a\nb", False),
    (r"(?m)^b$", "a\nb\nc", True),
    (r"(?P<word>re)fund", "refund", True),
    (r"\p{Greek}+", "Καλημέρα", True),
    (r"a|ab", "ab", True),
    (r"\bcancel\b", "cancellation", False),
    (r"[[:digit:]]{3}", "order 123", True),
])
def test_python_style_syntax_that_re2_has(pattern, text, expected):
    assert matches(pattern, text) is expected


def test_matching_is_leftmost_first_like_python():
    assert regex.compile_pattern("a|ab").search("ab").group() == "a"


# --- constructs RE2 does not have ----------------------------------------------------


@pytest.mark.parametrize(("pattern", "message"), [
    (r"refund(?=ed)", "lookahead (?=...) is not supported: route conditions use RE2, a linear-time engine"),
    (r"refund(?!ed)", "negative lookahead (?!...) is not supported: route conditions use RE2, a linear-time engine"),
    (r"(?<=a)b", "lookbehind (?<=...) is not supported: route conditions use RE2, a linear-time engine"),
    (r"(?<!a)b", "negative lookbehind (?<!...) is not supported: route conditions use RE2, a linear-time engine"),
    (r"(a)\1", "backreference \\1 is not supported: route conditions use RE2, a linear-time engine"),
    (r"(?P<x>a)(?P=x)", "named backreference (?P=name) is not supported: route conditions use RE2, "
                        "a linear-time engine"),
    (r"a++", "possessive quantifier ++ is not supported: route conditions use RE2, a linear-time engine"),
    (r"(?>a+)b", "atomic group (?>...) is not supported: route conditions use RE2, a linear-time engine"),
    (r"(a)?(?(1)b|c)", "conditional group (?(...)...) is not supported: route conditions use RE2, "
                       "a linear-time engine"),
    (r"(?x) a b", "verbose flag (?x) is not supported: route conditions use RE2, a linear-time engine"),
    (r"end\Z", "\\Z (write \\z for the end of the text) is not supported: route conditions use RE2, "
               "a linear-time engine"),
    (r"a{1001}", "invalid repetition size: {1001}: a repetition count is at most 1000, nested counts multiplied "
                 "(route conditions use RE2, a linear-time engine)"),
    (r"a{,3}", "{,3} would match the text '{,3}', not a repetition: write {0,3} "
               "(route conditions use RE2, a linear-time engine)"),
    (r"(unclosed", "invalid regular expression: missing ), unterminated subpattern at position 0"),
])
def test_an_unsupported_construct_is_named(pattern, message):
    with pytest.raises(regex.UnsupportedPattern) as caught:
        regex.compile_pattern(pattern)
    assert str(caught.value) == message


def test_a_pattern_too_large_for_its_memory_bound_is_refused():
    with pytest.raises(regex.UnsupportedPattern, match="the pattern is too large: it needs more than 8 MiB"):
        regex.compile_pattern(r"[\p{L}\d]{1000}")
