"""What each metric counts, and how an answer on any scale is classified (docs/metrics.md, with sources).

Every answer falls in one of three categories, stored as positive, neutral or negative:

    nps     promoters 9-10, passives 7-8, detractors 0-6; NPS = % promoters - % detractors (Bain)
    csat    satisfied when the answer sits at least three quarters up its scale (4-5 of 1-5),
            neutral from the middle up, dissatisfied below it; CSAT = % satisfied
    ces     agree above the scale's midpoint (5-7 of 1-7, 4-5 of 1-5), neutral on it;
            CES = % agreeing (Gartner's CES 2.0)
    rating  reviews (`cx.review.*`) only, put on 1-5 stars; the value is the average rating

`responses` counts the responses of all four.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, Mapping

Category = Literal["positive", "neutral", "negative"]
SCORED: tuple[str, ...] = ("nps", "csat", "ces", "rating")
METRICS: tuple[str, ...] = (*SCORED, "responses")

# The names each metric gives its three categories, in the CLI and the admin API.
COUNT_NAMES: Mapping[str, tuple[str, str, str]] = {
    "nps": ("promoters", "passives", "detractors"),
    "csat": ("satisfied", "neutral", "dissatisfied"),
    "ces": ("agree", "neutral", "disagree"),
    "rating": ("positive", "neutral", "negative"),
    "responses": ("positive", "neutral", "negative"),
}
CATEGORIES: tuple[Category, Category, Category] = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Answer:
    """One response's answer as the metrics count it: its metric, category and value."""

    metric: str
    category: Category
    value: float


def answer_of(event_type: str, score: Mapping[str, Any] | None) -> Answer | None:
    """The answer a canonical event's `data.score` gives, or None when no metric counts it.

    A rating counts only on a review: a rating scale in a survey (thumbs, a product-market-fit
    question) is none of the four metrics.
    """
    if not score or score.get("type") not in SCORED:
        return None
    kind, value, low, high = score["type"], score["value"], score["min"], score["max"]
    if not all(isinstance(number, (int, float)) and not isinstance(number, bool) for number in (value, low, high)):
        return None
    if not low < high or not low <= value <= high:
        return None
    position = (Fraction(value) - Fraction(low)) / (Fraction(high) - Fraction(low))  # 0 at the bottom, 1 at the top
    if kind == "nps":
        points = position * 10  # NPS is 0-10; another scale is read as its place on 0-10
        return Answer("nps", "positive" if points >= 9 else "neutral" if points >= 7 else "negative", float(points))
    if kind == "csat":
        category: Category = "positive" if position >= Fraction(3, 4) else "neutral" if position >= Fraction(1, 2) \
            else "negative"
        return Answer("csat", category, float(value))
    if kind == "ces":
        middle = Fraction(1, 2)
        return Answer("ces", "positive" if position > middle else "neutral" if position == middle else "negative",
                      float(value))
    if not event_type.startswith("cx.review."):
        return None
    stars = 1 + 4 * position
    return Answer("rating", "positive" if stars >= 4 else "negative" if stars <= 2 else "neutral", float(stars))


def metric_value(metric: str, responses: int, positive: int, negative: int, value_sum: float) -> float | None:
    """The metric's value from its counts: None without responses."""
    if metric == "responses":
        return float(responses)
    if responses == 0:
        return None
    if metric == "nps":
        return round(100 * (positive - negative) / responses, 1)
    if metric in ("csat", "ces"):
        return round(100 * positive / responses, 1)
    return round(value_sum / responses, 2)
