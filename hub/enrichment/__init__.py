"""Enrichment after the 202: thin events (vendors that send only ids) get their details in a worker."""
