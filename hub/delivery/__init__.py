"""Running actions: the RQ job, retries with backoff, dead letters."""
