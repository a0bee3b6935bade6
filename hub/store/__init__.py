"""Durable records of events, deliveries, attempts and quarantined requests."""

from hub.store.browse import BadCursor, Cursor, DeliveryFilter, EventFilter, Page
from hub.store.database import StoreUnavailable, now
from hub.store.deliveries import STATUSES
from hub.store.enrichments import STATUSES as ENRICHMENT_STATUSES
from hub.store.rows import (
    AttemptRow,
    CaseEventRow,
    CaseRow,
    ClaimedDelivery,
    ClaimedEnrichment,
    CreatedObject,
    CreatedObjectRow,
    DeliveryRef,
    DeliveryRow,
    DroppedRequests,
    EnrichmentRow,
    EventLineage,
    EventRow,
    FinishedAttempt,
    KeptRequest,
    NewDelivery,
    ObjectEventRow,
    OnceKeyRow,
    Origin,
    QuarantinedRequest,
    Recorded,
    RequestRow,
)
from hub.store.store import Store

__all__ = ["BadCursor", "Cursor", "DeliveryFilter", "EventFilter", "Page", "ENRICHMENT_STATUSES", "STATUSES", "AttemptRow", "CaseEventRow", "CaseRow", "OnceKeyRow",
           "ClaimedDelivery", "ClaimedEnrichment", "CreatedObject", "CreatedObjectRow", "DeliveryRef", "DeliveryRow", "DroppedRequests",
           "EnrichmentRow", "EventLineage", "EventRow", "FinishedAttempt", "KeptRequest", "NewDelivery", "ObjectEventRow",
           "Origin", "QuarantinedRequest", "Recorded", "RequestRow", "Store", "StoreUnavailable", "now"]
