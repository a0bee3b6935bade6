"""Shared test helpers. The hub fixtures (make_hub, ...) come from the hub.testing pytest plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# Placeholder secrets for tests only (the Standard Webhooks one is the spec's example format).
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_WHSEC = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
