"""hub/delivery/backoff.py: the retry schedule."""

from __future__ import annotations

import random

import pytest

from hub.config.model import RetryPolicy
from hub.delivery.backoff import MAX_RETRY_AFTER, backoff_delay

DEFAULT = RetryPolicy()  # initial 2s, max 600s, jitter 0.5


def no_jitter() -> float:
    return 0.0


def full_jitter() -> float:
    return 1.0


def test_default_policy_values():
    assert (DEFAULT.max_attempts, DEFAULT.initial_delay, DEFAULT.max_delay, DEFAULT.jitter) == (6, 2.0, 600.0, 0.5)


@pytest.mark.parametrize(
    "failed, without_jitter, with_full_jitter",
    [
        (1, 2.0, 1.0),
        (2, 4.0, 2.0),
        (3, 8.0, 4.0),
        (4, 16.0, 8.0),
        (5, 32.0, 16.0),
        (6, 64.0, 32.0),
        (7, 128.0, 64.0),
        (8, 256.0, 128.0),
        (9, 512.0, 256.0),
        (10, 600.0, 300.0),  # 1024 capped at max_delay, then jitter
        (11, 600.0, 300.0),
        (61, 600.0, 300.0),
        (1000, 600.0, 300.0),  # the exponent is capped: no overflow
    ],
)
def test_default_schedule(failed, without_jitter, with_full_jitter):
    assert backoff_delay(failed, DEFAULT, rand=no_jitter) == without_jitter
    assert backoff_delay(failed, DEFAULT, rand=full_jitter) == with_full_jitter


@pytest.mark.parametrize(
    "policy, failed, rand, expected",
    [
        (RetryPolicy(initial_delay=1.0, max_delay=10.0, jitter=0.0), 1, full_jitter, 1.0),
        (RetryPolicy(initial_delay=1.0, max_delay=10.0, jitter=0.0), 4, full_jitter, 8.0),
        (RetryPolicy(initial_delay=1.0, max_delay=10.0, jitter=0.0), 5, full_jitter, 10.0),
        (RetryPolicy(initial_delay=5.0, max_delay=60.0, jitter=0.2), 3, full_jitter, 16.0),  # 20 * 0.8
        (RetryPolicy(initial_delay=5.0, max_delay=60.0, jitter=0.2), 5, full_jitter, 48.0),  # min(80, 60) * 0.8
        (RetryPolicy(initial_delay=5.0, max_delay=60.0, jitter=1.0), 2, full_jitter, 0.0),
        (DEFAULT, 3, lambda: 0.5, 6.0),  # 8 * (1 - 0.5 * 0.5)
        (DEFAULT, 10, lambda: 0.25, 525.0),  # 600 * (1 - 0.125)
    ],
)
def test_policy_table(policy, failed, rand, expected):
    assert backoff_delay(failed, policy, rand=rand) == pytest.approx(expected)


def test_jitter_only_ever_shortens_within_its_fraction():
    generator = random.Random(1234)
    for failed in range(1, 15):
        top = backoff_delay(failed, DEFAULT, rand=no_jitter)
        for _ in range(50):
            delay = backoff_delay(failed, DEFAULT, rand=generator.random)
            assert top * (1 - DEFAULT.jitter) <= delay <= top


def test_default_rand_is_used_when_not_given():
    delay = backoff_delay(3, DEFAULT)
    assert 4.0 <= delay <= 8.0


# --- Retry-After ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failed, retry_after, expected",
    [
        (1, 30.0, 30.0),  # floor above the backoff
        (1, 0.5, 2.0),  # floor below the backoff: backoff wins
        (1, 0.0, 2.0),
        (10, 120.0, 600.0),
        (10, 900.0, 900.0),  # above max_delay is honoured
        (1, 3600.0, 3600.0),
        (1, 3601.0, 3600.0),  # above an hour is capped
        (1, 86400.0, 3600.0),
        (1, float("inf"), 3600.0),
        (1, -10.0, 2.0),
    ],
)
def test_retry_after_is_a_floor(failed, retry_after, expected):
    assert backoff_delay(failed, DEFAULT, retry_after=retry_after, rand=no_jitter) == expected


def test_retry_after_floor_applies_after_jitter():
    # Full jitter halves 2s to 1s; the server asked for 1.5s, so 1.5s it is.
    assert backoff_delay(1, DEFAULT, retry_after=1.5, rand=full_jitter) == 1.5


def test_retry_after_cap_constant():
    assert MAX_RETRY_AFTER == 3600.0


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("failed", [0, -1, -100])
def test_failed_attempts_below_one(failed):
    with pytest.raises(ValueError) as caught:
        backoff_delay(failed, DEFAULT, rand=no_jitter)
    assert str(caught.value) == f"failed_attempts must be at least 1, got {failed}"
