"""Durable records of events, deliveries, attempts and quarantined requests."""

from hub.store.store import NewDelivery, ObjectEventRow, Recorded, Store, StoreUnavailable

__all__ = ["NewDelivery", "ObjectEventRow", "Recorded", "Store", "StoreUnavailable"]
