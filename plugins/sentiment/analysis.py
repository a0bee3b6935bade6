"""The tone of an event's text with VADER (vaderSentiment), whose lexicon ships inside the package.

VADER scores a sentence in time that grows faster than its length (a 20,000-character text
takes a quarter of a second), and the text of an event can be as long as its request body. So
only the first MAX_TEXT characters are read, split into sentences of at most MAX_SENTENCE
characters, and the score is the mean of the sentences' compound scores, as VADER's authors
advise for text longer than a sentence. The cost of one event is then bounded (see bench/sentiment.py).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Mapping

MAX_TEXT = 1000  # characters of data.text analysed (the rest is not read)
MAX_SENTENCE = 240  # a longer run without a sentence end is cut into pieces of this size
NEGATIVE, POSITIVE = -0.05, 0.05  # VADER's documented thresholds on the compound score
METHOD = "vader"
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")

_lock = threading.Lock()
_analyzer: Any = None


def analyzer() -> Any:
    """VADER's analyzer, built once per process: it reads its lexicon from the installed package."""
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def sentences(text: str) -> list[str]:
    """The first MAX_TEXT characters of `text` as sentences of at most MAX_SENTENCE characters."""
    pieces = []
    for sentence in SENTENCE_END.split(text[:MAX_TEXT]):
        sentence = sentence.strip()
        while len(sentence) > MAX_SENTENCE:
            cut = sentence.rfind(" ", 0, MAX_SENTENCE)
            cut = cut if cut > 0 else MAX_SENTENCE
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def score(text: str) -> float | None:
    """The mean compound score of the text's sentences, from -1 to 1 (None: nothing to read)."""
    parts = sentences(text)
    if not parts:
        return None
    vader = analyzer()
    return sum(vader.polarity_scores(part)["compound"] for part in parts) / len(parts)


def label(value: float) -> str:
    return "negative" if value <= NEGATIVE else "positive" if value >= POSITIVE else "neutral"


def annotate(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """`{"sentiment": {...}}` for an event with text and no sentiment yet; else None."""
    data = event.get("data") or {}
    text = data.get("text")
    if not isinstance(text, str) or "sentiment" in data:
        return None
    value = score(text)
    if value is None:
        return None
    value = round(max(-1.0, min(1.0, value)), 4)
    return {"sentiment": {"score": value, "label": label(value), "method": METHOD}}
