"""Leases a worker keeps renewing while it lives, so that a crashed worker's claims are noticed in seconds.

A claim (a delivery, or an enrichment, marked running) holds until its `lease_until`. Each
worker process renews the leases of every claim its threads hold from one heartbeat thread,
every third of a lease, however long an attempt takes: a delivery to a slow destination (a
timeout of up to 300 s) keeps its claim while its worker lives. A worker that dies stops
renewing, so its claims expire within one lease (`hub.delivery_lease_seconds`, 30 s by
default) and the sweeper queues them again. A job that RQ stops for running too long lets go
of its claims the same way (`let_go` runs in the runner's `finally`).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Callable, Iterable, Sequence

log = logging.getLogger("cxhub.leases")

Renew = Callable[[Sequence[str], timedelta], object]


class Leases:
    """The claims one process holds of one kind, and the daemon thread that renews them (started on first use)."""

    def __init__(self, renew: Renew, seconds: float, what: str) -> None:
        self.renew, self.lease, self.what = renew, timedelta(seconds=seconds), what
        self.held: set[str] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        """Renewed three times per lease: two renewals can fail (a database blip) before a live claim expires."""
        return self.lease.total_seconds() / 3

    def hold(self, ids: Iterable[str]) -> None:
        """Start renewing these claims (just made, with a fresh lease)."""
        with self.lock:
            self.held.update(ids)
            if self.thread is None:
                self.thread = threading.Thread(target=self._beat, name=f"cxhub-leases-{self.what}", daemon=True)
                self.thread.start()

    def let_go(self, ids: Iterable[str]) -> None:
        """Stop renewing these claims (finished, given back, or abandoned); ids not held are ignored."""
        with self.lock:
            self.held.difference_update(ids)

    def renew_held(self) -> int:
        """Extend the lease of every claim held now; return how many were renewed."""
        with self.lock:
            ids = sorted(self.held)
        if ids:
            self.renew(ids, self.lease)
        return len(ids)

    def _beat(self) -> None:
        stopped = threading.Event()  # never set: the thread lives as long as the process
        while not stopped.wait(self.interval):
            try:
                self.renew_held()
            except Exception as error:  # the database is down: the next beat tries again
                log.warning("could not renew the leases of %d %s: %s", len(self.held), self.what, error)
