"""The rows the store hands out: one frozen dataclass per table, with its columns.

Timestamps are UTC-aware (SQLite hands back naive ones; `from_row` fixes that). Bodies,
parameters, results, headers and queries stay the JSON text they are stored as.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Mapping, NamedTuple, TypeVar

Row = TypeVar("Row")


def from_row(cls: type[Row], row: Any) -> Row:
    """Build a row object from a SQLAlchemy result row (whose keys are the column names)."""
    return cls(**{str(key): _utc(value) for key, value in row._mapping.items()})


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


@dataclass(frozen=True)
class EventRow:
    id: str
    source: str
    type: str
    vendor_event_id: str
    subject: str
    customer_email: str | None
    customer_id: str | None
    score_band: str | None
    time: datetime
    received_at: datetime
    body: str  # the CloudEvent, as JSON
    profile_id: str | None = None  # the customer profile it is attached to (see hub/store/profiles.py)
    profile_state: str = "pending"
    origin_event_id: str | None = None  # the event this one follows up (data.origin), if any
    request_id: str | None = None  # the request it came in (store.reads.request); None: not kept, or polled


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    event_id: str
    route: str
    connection: str
    action: str
    params: str  # the route's parameter templates, as JSON
    status: str  # queued -> running -> succeeded | retrying -> ... | dead
    attempts: int
    budget_start: int  # attempts made before the current retry budget (redeliver starts a new one)
    next_attempt_at: datetime | None
    lease_until: datetime | None
    last_error: str | None
    result: str | None  # what the destination created, as JSON
    created_at: datetime
    updated_at: datetime
    digest_id: str | None  # a collected event's digest; a digest's own id on the digest itself
    once: str | None = None  # the action's once_per and otherwise, as JSON (hub/delivery/once.py)
    event_time: datetime | None = None  # its event's time (the partition key on PostgreSQL)

    @property
    def is_digest(self) -> bool:
        """Whether this delivery sends a digest of collected events (hub.noise.digest)."""
        return self.digest_id is not None and self.digest_id == self.id

    def as_dict(self) -> dict[str, Any]:
        """The columns as a dict (what lifecycle hooks receive)."""
        return {field.name: getattr(self, field.name) for field in fields(DeliveryRow)}


@dataclass(frozen=True)
class ClaimedDelivery(DeliveryRow):
    """A delivery just claimed for an attempt, with its event's body read in the same statement."""

    event_body: str = ""


@dataclass(frozen=True)
class AttemptRow:
    id: int
    delivery_id: str
    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    outcome: str
    error: str | None
    event_time: datetime | None = None  # its delivery's event's time (the partition key on PostgreSQL)


@dataclass(frozen=True)
class QuarantinedRequest:
    id: str
    source: str
    received_at: datetime
    method: str
    content_type: str
    headers: str  # JSON, credentials removed
    query: str  # JSON
    body: bytes
    error: str
    status: str  # open, replayed
    digest: str | None  # what identical requests share, kept once (None: kept before dedupe, a duplicate)


@dataclass(frozen=True)
class KeptRequest:
    """A webhook request to keep beside the events it carried, credentials already removed.

    `removed_headers` and `removed_query` name (never give the values of) what
    `InboundRequest.without_credentials` took out, so a reader sees that a signature came and
    was not kept. `id` is shared by every event of the request (a batch is kept once).
    """

    id: str
    source: str
    method: str
    path: str
    content_type: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    removed_headers: tuple[str, ...] = ()
    removed_query: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestRow:
    """A kept request as stored (hub/store/tables.py `requests`)."""

    id: str
    source: str
    received_at: datetime
    method: str
    path: str
    content_type: str
    headers: str  # JSON, credentials removed
    query: str  # JSON, credentials removed
    removed: str  # JSON {"headers": [names], "query": [names]}
    body: bytes


@dataclass(frozen=True)
class DroppedRequests:
    """Quarantine entries not kept for one source because the quarantine was full."""

    source: str
    dropped: int
    last_dropped_at: datetime


class DeliveryRef(NamedTuple):
    """A delivery still owed, with what the queue needs to know about it."""

    id: str
    connection: str


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to store: `queued` for a job, or `shadow` (a shadow route's: recorded, never sent).

    Noise control (hub.noise) may plan it `collecting` (for a digest) or `held`: until
    `next_attempt_at` (quiet hours), or until released (over its route's budget), with `last_error`
    saying why.
    """

    id: str
    event_id: str
    route: str
    connection: str
    action: str
    params: Mapping[str, Any]
    status: str = "queued"
    result: Mapping[str, Any] | None = None  # a shadow delivery's rendered parameters
    last_error: str | None = None  # why a shadow delivery's parameters did not render; why a delivery is held
    next_attempt_at: datetime | None = None  # when a delivery held for quiet hours goes
    once: Mapping[str, Any] | None = None  # the action's once_per and otherwise (hub/delivery/once.py)

    @property
    def sent(self) -> bool:
        """Whether a job runs this delivery (a shadow delivery only records what it would send)."""
        return self.status == "queued"


class CreatedObject(NamedTuple):
    """An object a delivery created, as the vendor's events name it (its system and id)."""

    system: str
    object_id: str
    url: str | None = None


@dataclass(frozen=True)
class FinishedAttempt:
    """One attempt to store, with the status its delivery moves to."""

    delivery_id: str
    attempt: Mapping[str, Any]  # number, started_at, status_code, duration_ms, error, outcome
    status: str
    next_attempt_at: datetime | None = None
    error: str | None = None
    result: Mapping[str, Any] | None = None
    created: CreatedObject | None = None  # recorded for the lineage, with the delivery's event
    event_id: str | None = None  # the delivery's event (needed with `created` and `case_of`)
    case_of: str | None = None  # an `otherwise` ran against this event's ticket: link event_id to its case
    event_time: datetime | None = None  # the delivery's (ClaimedDelivery.event_time); None: read from the delivery


@dataclass(frozen=True)
class Recorded:
    accepted: list[str]
    duplicates: list[str]


class ObjectEventRow(NamedTuple):
    """A stored event about an object, and one route that delivered for it (None: no delivery)."""

    source: str
    type: str
    subject: str
    event_id: str
    route: str | None


@dataclass(frozen=True)
class EnrichmentRow:
    """An event stored thin, and how fetching its details went (hub/store/enrichments.py)."""

    event_id: str
    source: str
    status: str
    attempts: int
    budget_start: int
    next_attempt_at: datetime | None
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ClaimedEnrichment(EnrichmentRow):
    event_body: str  # the thin CloudEvent, as JSON


@dataclass(frozen=True)
class EventIdentity:
    """What the resolver needs of one event: its identifiers (kind, value), highest priority first."""

    event_id: str
    source: str
    time: datetime
    identifiers: tuple[tuple[str, str], ...]
    score: Mapping[str, Any] | None = None  # data.score, kept as the profile's latest of its type


@dataclass(frozen=True)
class PendingEvent:
    id: str
    source: str
    body: str


@dataclass(frozen=True)
class Resolution:
    """How one event was attached: to which profile, what merged, what the rules kept apart."""

    event_id: str
    profile_id: str | None  # the profile shown for the event now (a root); None: no usable identifier
    created: bool = False
    merged: tuple[str, ...] = ()  # profiles merged into profile_id by this event
    refused: tuple[str, ...] = ()  # why a merge or an identifier was refused, one line each


@dataclass(frozen=True)
class IdentifierRow:
    kind: str
    value: str
    profile_id: str
    added_at: datetime
    event_id: str | None


@dataclass(frozen=True)
class MergeRow:
    id: int
    status: str  # merged, undone, refused
    from_profile: str
    into_profile: str
    at: datetime
    by: str
    reason: str
    event_id: str | None
    undone_at: datetime | None
    undone_by: str | None
    undo_reason: str | None


@dataclass(frozen=True)
class ScoreRow:
    profile_id: str
    metric: str
    value: float
    min: float
    max: float
    band: str | None
    time: datetime
    event_id: str
    source: str


@dataclass(frozen=True)
class ProfileView:
    """One customer as the CLI, the admin API and the console show it (the root of its merged profiles)."""

    id: str
    members: tuple[str, ...]  # this profile and every profile merged into it
    created_at: datetime
    first_seen: datetime | None
    last_seen: datetime | None
    identifiers: tuple[IdentifierRow, ...]
    scores: tuple[ScoreRow, ...]  # the latest per metric
    merges: tuple[MergeRow, ...]  # every merge, unmerge and refusal involving its profiles, newest first
    events: int  # events still stored (retention deletes old ones; the rest of the profile stays)
    open_cases: tuple[CaseRow, ...] = ()  # cases not closed that one of its events opened or joined, newest first


@dataclass(frozen=True)
class TimelineDelivery:
    id: str
    route: str
    connection: str
    action: str
    status: str
    attempts: int
    last_error: str | None
    result: str | None  # JSON text


@dataclass(frozen=True)
class TimelineEntry:
    """One event on a customer's timeline and what the hub did about it."""

    id: str
    source: str
    type: str
    time: datetime
    received_at: datetime
    subject: str
    profile_id: str  # the (possibly merged) profile it was resolved to
    score_band: str | None
    body: str  # the CloudEvent, as JSON
    enrichment: str | None  # the state of fetching its details, for a thin event
    deliveries: tuple[TimelineDelivery, ...]


@dataclass(frozen=True)
class CreatedObjectRow:
    """A row of created_objects: which delivery (of which event) created an object."""

    system: str
    object_id: str
    delivery_id: str
    event_id: str
    url: str | None
    created_at: datetime


@dataclass(frozen=True)
class Origin:
    """Where an object came from: the delivery that created it, its event, and that event's other deliveries."""

    object: CreatedObjectRow
    delivery: DeliveryRow
    event: EventRow
    deliveries: list[DeliveryRow]  # every delivery of the originating event, oldest first


@dataclass(frozen=True)
class EventLineage:
    """What happened to an event: its origin (if it follows one up), its deliveries, what they
    created, and the later events about those objects."""

    event: EventRow
    origin: Origin | None
    deliveries: list[DeliveryRow]
    created: list[CreatedObjectRow]
    follow_ups: list[EventRow]  # oldest first


@dataclass(frozen=True)
class OnceKeyRow:
    """Which delivery holds a business key of an action with `once_per`, and until when."""

    scope: str
    key_hash: str
    delivery_id: str
    event_id: str
    opened_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class CaseRow:
    """A closed-loop case (hub/cases): its customer, owner, status and SLA."""

    id: str
    route: str
    event_id: str
    customer_email: str | None
    customer_id: str | None
    owner: str | None
    status: str  # open, in_progress, closed
    open_key: str | None
    opened_at: datetime
    first_response_due: datetime | None
    close_due: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None
    first_response_overdue_at: datetime | None
    close_overdue_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class CaseEventRow:
    case_id: str
    event_id: str
    why: str
    linked_at: datetime
