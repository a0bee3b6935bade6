"""Receiving webhooks: verify, parse, validate, store, route, enqueue, answer."""
