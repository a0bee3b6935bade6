"""Noise control for the people at the other end: digests, quiet hours and per-route budgets.

    plan      what take-in does to new deliveries: collect for a digest, hold over budget or in quiet hours
    quiet     whether a connection is in its quiet hours, and until when
    budget    the rolling-hour count of each route with `max_per_hour`, shared by every process (Redis)
    digest    making due digests, and what a digest's delivery renders with
    schedule  the worker thread that makes due digests and releases holds that ended
"""
