"""Shared test helpers. The hub fixtures (make_hub, ...) come from the hub.testing pytest plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import orjson
import pytest

from hub.testing import sign_standard_webhook
from hub.testing.pytest_plugin import DATABASE_ENV, private_postgres_database

FIXTURES = Path(__file__).parent / "fixtures"

# Placeholder secrets for tests only (the Standard Webhooks one is the spec's example format).
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_WHSEC = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


# A generic source for tests of actions: events are fed in signed per Standard Webhooks.
APP_SOURCE = """
sources:
  app:
    plugin: webhook
    settings:
      secret: {$env: APP_SECRET}
      mapping: {object_id: response.id, object_url: response.url, score: response.score,
                text: response.comment, customer_email: customer.email, customer_name: customer.name}
      score_scale: {type: nps, min: 0, max: 10}
"""


def forward_everything(url: str, *, attempts: int = 2, secret_env: str = "APP_SECRET", breaker: int = 0) -> str:
    """APP_SOURCE plus a route forwarding every event to `url`, retried at once up to `attempts` times.

    The circuit breaker trips after `breaker` failures in a row (0, the default here: never), so
    tests of retries see every attempt.
    """
    return APP_SOURCE + f"""
connections:
  out:
    plugin: webhook
    settings: {{url: "{url}", secret: {{$env: {secret_env}}}}}
    retry: {{max_attempts: {attempts}, initial_delay: 0, max_delay: 0}}
    circuit_breaker: {{failure_threshold: {breaker}}}
routes:
  - name: everything
    actions:
      - {{connection: out, action: forward}}
"""


def detractor(response_id: int = 1001, comment: str = "The export keeps failing.") -> dict:
    return {"response": {"id": response_id, "score": 2, "comment": comment,
                         "url": f"https://surveys.example.com/r/{response_id}"},
            "customer": {"email": "ann@example.com", "name": "Ann Lee"}}


def send(hub, payload: dict, msg_id: str = "msg_1"):
    """POST a payload to the test source `app`, signed; return the response."""
    body = orjson.dumps(payload)
    return hub.post("app", body, sign_standard_webhook(WHSEC, msg_id, body))


@pytest.fixture(scope="session")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment that sees this cxhub install (system site-packages) and nothing of its own."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


def pip_install(python: Path, project: Path) -> None:
    """Install a plugin distribution into the venv, as a user would (its own build, no dependency downloads).

    It is built from a copy, so the build leaves nothing in the project's folder.
    """
    with tempfile.TemporaryDirectory() as scratch:
        copy = shutil.copytree(project, Path(scratch) / project.name)
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                        "--no-build-isolation", str(copy)], check=True, capture_output=True)


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: a new SQLite file, or a new database on the PostgreSQL server under test."""
    base = os.environ.get(DATABASE_ENV)
    if not base:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with private_postgres_database(base, "cxhub_schema") as url:
        yield url
