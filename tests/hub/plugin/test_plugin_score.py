"""hub/plugin/score.py: score bands and Score validation."""

from __future__ import annotations

import dataclasses

import pytest

from hub.plugin.score import SCORE_TYPES, Score, score_band

NPS = {
    0: "negative", 1: "negative", 2: "negative", 3: "negative", 4: "negative", 5: "negative", 6: "negative",
    7: "neutral", 8: "neutral",
    9: "positive", 10: "positive",
}
FIVE_POINT = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}
# 0-10, not NPS: thirds of a span of 10 -> value*3 < 10 negative, value*3 > 20 positive.
ZERO_TEN_THIRDS = {
    0: "negative", 1: "negative", 2: "negative", 3: "negative",
    4: "neutral", 5: "neutral", 6: "neutral",
    7: "positive", 8: "positive", 9: "positive", 10: "positive",
}
ONE_SEVEN = {1: "negative", 2: "negative", 3: "neutral", 4: "neutral", 5: "neutral", 6: "positive", 7: "positive"}
ZERO_FOUR = {0: "negative", 1: "negative", 2: "neutral", 3: "positive", 4: "positive"}


@pytest.mark.parametrize("value, band", sorted(NPS.items()))
def test_nps_band(value, band):
    assert score_band("nps", value, 0, 10) == band
    assert Score.nps(value).band == band


@pytest.mark.parametrize("score_type", ["csat", "ces", "rating"])
@pytest.mark.parametrize("value, band", sorted(FIVE_POINT.items()))
def test_five_point_band(score_type, value, band):
    assert score_band(score_type, value, 1, 5) == band
    assert Score(score_type, value, 1, 5).band == band


@pytest.mark.parametrize("value, band", sorted(ZERO_TEN_THIRDS.items()))
def test_zero_to_ten_non_nps_by_thirds(value, band):
    assert score_band("rating", value, 0, 10) == band
    assert Score("rating", value, 0, 10).band == band


@pytest.mark.parametrize("value, band", sorted(ONE_SEVEN.items()))
def test_one_to_seven_band(value, band):
    assert score_band("ces", value, 1, 7) == band


@pytest.mark.parametrize("value, band", sorted(ZERO_FOUR.items()))
def test_zero_to_four_band(value, band):
    assert score_band("csat", value, 0, 4) == band


@pytest.mark.parametrize(
    "value, band",
    [(2.33, "negative"), (2.34, "neutral"), (3.66, "neutral"), (3.67, "positive")],
)
def test_thirds_boundaries_on_a_one_to_five_float_scale(value, band):
    # Span 4: the thirds fall at 1 + 4/3 = 2.333... and 1 + 8/3 = 3.666... (exact Fraction arithmetic).
    assert score_band("rating", value, 1, 5) == band


def test_exact_third_is_neutral():
    assert score_band("rating", 1, 0, 3) == "neutral"
    assert score_band("rating", 2, 0, 3) == "neutral"


def test_nps_band_ignores_the_scale():
    assert score_band("nps", 7, 0, 100) == "neutral"


def test_score_normalises_integral_floats():
    score = Score("nps", 10.0, 0.0, 10.0)
    assert (score.value, score.min, score.max) == (10, 0, 10)
    assert all(type(number) is int for number in (score.value, score.min, score.max))
    assert score.to_dict() == {"type": "nps", "value": 10, "min": 0, "max": 10, "band": "positive"}


def test_score_keeps_fractional_values():
    score = Score("rating", 4.5, 1, 5)
    assert score.value == 4.5
    assert score.to_dict() == {"type": "rating", "value": 4.5, "min": 1, "max": 5, "band": "positive"}


def test_band_is_derived_not_given():
    with pytest.raises(TypeError):
        Score("nps", 3, 0, 10, "positive")  # type: ignore[call-arg]


def test_score_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Score.nps(3).value = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    "args, message",
    [
        (("nps", 11, 0, 10), "score 11 is outside its scale 0..10"),
        (("nps", -1, 0, 10), "score -1 is outside its scale 0..10"),
        (("csat", 0, 1, 5), "score 0 is outside its scale 1..5"),
        (("csat", 5.5, 1, 5), "score 5.5 is outside its scale 1..5"),
    ],
)
def test_score_value_out_of_range(args, message):
    with pytest.raises(ValueError) as caught:
        Score(*args)
    assert str(caught.value) == message


@pytest.mark.parametrize("low, high", [(5, 5), (5, 1), (10.0, 0.0)])
def test_score_min_must_be_below_max(low, high):
    with pytest.raises(ValueError, match=r"^score scale must have min < max, got "):
        Score("rating", low, low, high)


def test_score_min_max_message_exact():
    with pytest.raises(ValueError) as caught:
        Score("rating", 3, 5, 1)
    assert str(caught.value) == "score scale must have min < max, got 5..1"


@pytest.mark.parametrize("score_type", ["NPS", "stars", "", "thumbs"])
def test_score_unknown_type(score_type):
    with pytest.raises(ValueError) as caught:
        Score(score_type, 3, 1, 5)  # type: ignore[arg-type]
    assert str(caught.value) == f"score type must be one of {SCORE_TYPES}, got {score_type!r}"


def test_score_type_checked_before_scale():
    with pytest.raises(ValueError, match="score type must be one of"):
        Score("stars", 99, 5, 1)  # type: ignore[arg-type]


def test_nps_constructor_enforces_its_scale():
    with pytest.raises(ValueError, match="outside its scale 0..10"):
        Score.nps(11)
