"""The periodic case check: follow every case not closed, and emit `cx.case.overdue` once per breach.

Every worker runs it (`run_case_checks_periodically`); a Redis key taken with SET NX gives one
process the turn per interval, so two workers do not both do the work. Nothing depends on that
for correctness: an overdue event's id is made of the case and the deadline, so a second
emission is a duplicate the store refuses, and the breach is recorded by a conditional update.
The check takes the moment to judge by (`at`), so a test can pass a clock.

An overdue event is a canonical event of the built-in source `cases` (`/sources/cases`), about
the case (`data.link`: system `cxhub`, type `case`), with the case's customer, and routes like
any other: `{field: event.type, ...}` or `{field: type, equals: cx.case.overdue}`. Its attributes:
`case_id`, `sla` (first_response or close), `due`, `opened_at`, `owner`, `route`, `status`, `event_id`.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from hub.cases.follow import follow
from hub.cases.view import overdue
from hub.events.canonical import event_id, validate_event
from hub.ingest.service import take_in
from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub
from hub.store import CaseRow, StoreUnavailable, now

log = logging.getLogger("cxhub.cases")
CHECK_SECONDS = 30  # how often one of the workers checks the cases
SOURCE = "cases"


def overdue_event(case: CaseRow, which: str, at: datetime) -> dict[str, Any]:
    due = case.first_response_due if which == "first_response" else case.close_due
    assert due is not None
    vendor_id = f"case:{case.id}:{which}"
    what = "first response" if which == "first_response" else "close"
    attributes = {"case_id": case.id, "sla": which, "due": _iso(due), "opened_at": _iso(case.opened_at),
                  "owner": case.owner, "route": case.route, "status": case.status, "event_id": case.event_id}
    return {
        "specversion": "1.0", "id": event_id(SOURCE, vendor_id), "source": f"/sources/{SOURCE}",
        "type": "cx.case.overdue", "time": _iso(at), "subject": case.id, "datacontenttype": "application/json",
        "dataschema": "urn:cxhub:schema:customer-event:1",
        "data": {"customer": {"id": case.customer_id, "email": case.customer_email, "name": None}, "score": None,
                 "text": f"Case {case.id} missed its {what} deadline ({_iso(due)})",
                 "link": {"system": "cxhub", "id": case.id, "url": None, "type": "case"},
                 "vendor_event_id": vendor_id,
                 "attributes": {key: value for key, value in attributes.items() if value},
                 "update": False},
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def check_cases(hub: Hub, at: datetime | None = None) -> list[str]:
    """Follow the open cases and emit an overdue event for each deadline newly missed; return the events' ids."""
    moment = at or now()
    emitted = []
    for case in hub.store.cases.active():
        case = follow(hub.store, case)
        for which in overdue(case, moment):  # a breach found before is skipped below
            if getattr(case, f"{which}_overdue_at") is not None:
                continue  # emitted before: once per breach
            event = overdue_event(case, which, moment)
            validate_event(event)
            take_in(hub, [event])  # the same id again is a duplicate: two workers emit it once
            if hub.store.cases.mark_overdue(case.id, which, moment):
                emitted.append(event["id"])
                log.warning("case %s missed its %s deadline: %s emitted", case.id, which, event["id"])
    return emitted


def run_case_checks_periodically(hub: Hub, stopping: threading.Event) -> threading.Thread | None:
    """Check cases every CHECK_SECONDS (one worker process per turn) until `stopping`; None when no route has case:."""
    if not any(route.case for route in hub.config.routes):
        return None
    key = f"cxhub:{hub.config.hub.queue}:cases:due"

    def loop() -> None:
        while not stopping.wait(1.0):
            try:
                if hub.redis.set(key, "1", nx=True, ex=CHECK_SECONDS):
                    check_cases(hub)
            except (RedisUnavailable, RedisError, StoreUnavailable) as error:
                log.warning("case check skipped: %s", error)
            except Exception:  # logged with its traceback; the next turn tries again
                log.exception("case check failed")

    thread = threading.Thread(target=loop, name="cxhub-cases", daemon=True)
    thread.start()
    return thread
