"""The store: every event, delivery, attempt and quarantined request, in one SQL database.

It is composed of one part per concern, sharing one database:

    store.ingest       events and their deliveries as webhooks arrive (and deliveries added on replay)
    store.deliveries   the delivery state machine: claim, finish, release, requeue, overdue
    store.reads        the read queries of the CLI, the admin API and the console
    store.browse       the console's lists (filters, keyset cursors), counts per hour, recent health
    store.quarantine   requests kept for replay
    store.retention    deleting what is finished with
    store.partitions   the months ahead of events, deliveries and attempts (PostgreSQL)
    store.cursors      where each polled source's next poll starts
    store.enrichments  thin events waiting for their details from the vendor's API
    store.profiles     customer profiles: events attached across sources, merges, timelines
    store.lineage      what deliveries created, and which event follows up which
    store.metrics      CX metrics: a row per response, counts per quarter-hour, alert states
    store.noise        events collected for digests, deliveries held (quiet hours, route budgets)
    store.once         business keys of actions with once_per (one ticket per problem)
    store.cases        closed-loop cases: opened, linked, followed, overdue
"""

from __future__ import annotations

from hub.store.browse import Browse
from hub.store.cursors import Cursors
from hub.store.database import Database
from hub.store.deliveries import Deliveries
from hub.store.enrichments import Enrichments
from hub.store.ingest import Ingest
from hub.store.cases import Cases
from hub.store.lineage import Lineage
from hub.store.metrics import Metrics
from hub.store.noise import Noise
from hub.store.once import OnceKeys
from hub.store.partitions import Partitions
from hub.store.profiles import Profiles
from hub.store.quarantine import Quarantine
from hub.store.reads import Reads
from hub.store.retention import Retention


class Store:
    def __init__(self, url: str) -> None:
        self.database = Database(url)
        self.ingest = Ingest(self.database)
        self.deliveries = Deliveries(self.database)
        self.reads = Reads(self.database)
        self.browse = Browse(self.database)
        self.quarantine = Quarantine(self.database)
        self.retention = Retention(self.database)
        self.partitions = Partitions(self.database)
        self.cursors = Cursors(self.database)
        self.enrichments = Enrichments(self.database)
        self.profiles = Profiles(self.database)
        self.lineage = Lineage(self.database)
        self.metrics = Metrics(self.database)
        self.noise = Noise(self.database)
        self.once = OnceKeys(self.database)
        self.cases = Cases(self.database)

    @property
    def url(self) -> str:
        return self.database.url

    def upgrade(self) -> None:
        """Migrate the database to the current schema (serve and worker do it at start-up)."""
        self.database.upgrade()

    def dispose(self) -> None:
        self.database.dispose()
