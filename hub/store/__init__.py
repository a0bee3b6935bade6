"""Durable records of events, deliveries, attempts and quarantined requests."""

from hub.store.browse import BadCursor, Cursor, DeliveryFilter, EventFilter, Page
from hub.store.database import StoreUnavailable, now
from hub.store.deliveries import STATUSES
from hub.store.enrichments import STATUSES as ENRICHMENT_STATUSES
from hub.store.rows import (
    AttemptRow,
    ClaimedDelivery,
    ClaimedEnrichment,
    DeliveryRef,
    DeliveryRow,
    DroppedRequests,
    EnrichmentRow,
    EventRow,
    FinishedAttempt,
    NewDelivery,
    ObjectEventRow,
    QuarantinedRequest,
    Recorded,
)
from hub.store.store import Store

__all__ = ["BadCursor", "Cursor", "DeliveryFilter", "EventFilter", "Page", "ENRICHMENT_STATUSES", "STATUSES", "AttemptRow", "ClaimedDelivery", "ClaimedEnrichment", "DeliveryRef", "DeliveryRow", "DroppedRequests", "EnrichmentRow", "EventRow",
           "FinishedAttempt", "NewDelivery", "ObjectEventRow", "QuarantinedRequest", "Recorded", "Store", "StoreUnavailable", "now"]
