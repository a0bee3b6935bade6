"""Durable records of events, deliveries, attempts and quarantined requests."""

from hub.store.store import NewDelivery, Store, StoreUnavailable

__all__ = ["NewDelivery", "Store", "StoreUnavailable"]
