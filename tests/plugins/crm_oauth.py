"""What the HubSpot and Salesforce OAuth tests share: the `cxhub` commands an admin runs, and a look
everywhere a secret could leak (worker logs, the store, the admin API, `cxhub connections`).

The token endpoint stand-in itself is the core's (tests/hub/outbound/oauth_standin.py), which checks
each token request as RFC 6749 and RFC 7523 say it is made; each plugin's test answers as its vendor does.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, Callable, Iterable

import orjson

ADMIN = "admin-token-for-the-crm-tests-5f1c"


def cxhub(start_process: Callable[..., Any], config: str, *args: str, env: dict[str, str]) -> str:
    """Run `cxhub ARGS --config CONFIG` as an admin would, in its own process; its output."""
    done = subprocess.run([sys.executable, "-m", "hub.cli", *args, "--config", config], capture_output=True,
                          text=True, timeout=120, env=start_process.environment(env))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def state(hub: Any, connection: str) -> dict[str, Any]:
    """The connection as the admin API shows it."""
    rows = hub.client.get("/admin/connections", headers={"Authorization": f"Bearer {ADMIN}"}).json["connections"]
    [row] = [row for row in rows if row["connection"] == connection]
    return row


def everything_shown(hub: Any, logs: Iterable[str], listed: str) -> list[str]:
    """Every text an admin or an attacker with a copy of the store could read."""
    auth = {"Authorization": f"Bearer {ADMIN}"}
    shown = [*logs, listed, orjson.dumps(hub.client.get("/admin/connections", headers=auth).json).decode(),
             orjson.dumps(hub.client.get("/admin/deliveries", headers=auth).json).decode()]
    for delivery in hub.store.reads.deliveries(limit=1000):
        shown.append(orjson.dumps(hub.client.get(f"/admin/deliveries/{delivery.id}", headers=auth).json).decode())
        shown += [repr(delivery)] + [repr(attempt) for attempt in hub.store.reads.attempts(delivery.id)]
    shown += [row.body.decode() if isinstance(row.body, bytes) else str(row.body) for row in hub.store.reads.events()]
    return shown


def assert_hidden(shown: Iterable[str], secrets: Iterable[str]) -> None:
    secrets = [secret for secret in secrets if secret]
    for text in shown:
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:6]}...) shows in: {text[:300]}"
