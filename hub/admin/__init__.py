"""The admin API: list and search events and deliveries, replay and redeliver, behind a bearer token."""
