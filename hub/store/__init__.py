"""Durable records of events, deliveries, attempts and quarantined requests."""

from hub.store.store import NewDelivery, Recorded, Store, StoreUnavailable

__all__ = ["NewDelivery", "Recorded", "Store", "StoreUnavailable"]
