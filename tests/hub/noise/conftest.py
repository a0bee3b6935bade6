"""Helpers for the noise-control tests: detractors posted over real HTTP, signed as the test source expects."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import requests

from hub.store import now
from hub.testing import sign_standard_webhook
from tests.conftest import WHSEC

SLACK_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
SLACK = """
connections:
  slack:
    plugin: slack
    settings: {webhook_url: {$env: SLACK_WEBHOOK_URL}}
    retry: {max_attempts: 3, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
"""


def detractor(number: int, comment: str | None = None) -> dict:
    """A detractor from customer `number`, each with their own email and comment."""
    return {"response": {"id": 5000 + number, "score": number % 7, "url": f"https://surveys.example.com/r/{number}",
                         "comment": comment or f"Problem number {number} with the export."},
            "customer": {"email": f"customer{number}@example.com", "name": f"Customer {number}"}}


def post(base_url: str, payload: dict, msg_id: str) -> requests.Response:
    """POST a payload over HTTP to the test source `app`, signed per Standard Webhooks."""
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json", **sign_standard_webhook(WHSEC, msg_id, body)}
    return requests.post(f"{base_url}/hooks/app", data=body, headers=headers, timeout=10)


def later(**delta: float) -> datetime:
    return now() + timedelta(**delta)


def cli(test_hub, redis_url: str, database_url: str, **env: str):
    """Run `cxhub ...` against the same config, Redis and database as `test_hub`; return its output."""
    from click.testing import CliRunner

    from hub.cli import main

    environment = {"CXHUB_CONFIG": test_hub.app.config["CXHUB_CONFIG"], "REDIS_URL": redis_url,
                   "DATABASE_URL": database_url, "APP_SECRET": WHSEC, **env}

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run
