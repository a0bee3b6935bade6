"""Scores and their sentiment band, computed once here so every plugin agrees."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

ScoreType = Literal["nps", "csat", "ces", "rating"]
Band = Literal["negative", "neutral", "positive"]
SCORE_TYPES: tuple[str, ...] = ("nps", "csat", "ces", "rating")


def score_band(score_type: str, value: float, low: float, high: float) -> Band:
    """Return the band of `value` on the scale `low..high`.

    NPS (0-10): 0-6 negative, 7-8 neutral, 9-10 positive. Every other scale is cut
    in thirds of its range, which gives 1-2 / 3 / 4-5 on five-point scales.
    """
    if score_type == "nps":
        return "negative" if value <= 6 else "neutral" if value <= 8 else "positive"
    position = Fraction(value) - Fraction(low)
    span = Fraction(high) - Fraction(low)
    if position * 3 < span:
        return "negative"
    if position * 3 > span * 2:
        return "positive"
    return "neutral"


@dataclass(frozen=True)
class Score:
    """A customer's score on a scale; `band` is derived, never given."""

    type: ScoreType
    value: float
    min: float
    max: float
    band: Band = field(init=False)

    def __post_init__(self) -> None:
        for name in ("value", "min", "max"):  # 10.0 reads as 10 in tickets and messages
            number = getattr(self, name)
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ValueError(f"score {name} must be a number, got {number!r}")
            if isinstance(number, float) and number.is_integer():
                object.__setattr__(self, name, int(number))
        if self.type not in SCORE_TYPES:
            raise ValueError(f"score type must be one of {SCORE_TYPES}, got {self.type!r}")
        if not self.min < self.max:
            raise ValueError(f"score scale must have min < max, got {self.min}..{self.max}")
        if not self.min <= self.value <= self.max:
            raise ValueError(f"score {self.value} is outside its scale {self.min}..{self.max}")
        object.__setattr__(self, "band", score_band(self.type, self.value, self.min, self.max))

    @classmethod
    def nps(cls, value: float) -> Score:
        """A Net Promoter Score answer on its fixed 0-10 scale."""
        return cls("nps", value, 0, 10)

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, "value": self.value, "min": self.min, "max": self.max, "band": self.band}
