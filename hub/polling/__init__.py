"""Polling: reading a vendor's API on a schedule, for what webhooks do not bring (`sources.<name>.poll`)."""

from hub.polling.poller import PollFailed, PollOutcome, poll_source
from hub.polling.schedule import poll_due_sources, run_polls_periodically

__all__ = ["PollFailed", "PollOutcome", "poll_due_sources", "poll_source", "run_polls_periodically"]
