"""What an admin does with failed enrichments, shared by the CLI and the admin API."""

from __future__ import annotations

from typing import Sequence

from hub.runtime import Hub


def retry_enrichments(hub: Hub, event_ids: Sequence[str] | None = None) -> list[str]:
    """Mark failed enrichments (these, or all with None) pending with a fresh retry budget and queue them."""
    marked = hub.store.enrichments.retry(event_ids)
    hub.queue.enqueue_enrichments(marked)
    return [event_id for event_id, _ in marked]
