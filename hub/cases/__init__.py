"""Closed-loop cases with an SLA: opened by routes with `case:`, following the linked tickets.

    opening.py   a case per event a route with `case:` runs for (or the customer's open case)
    signals.py   what a tracker's event means for a case: a first response, or the close
    follow.py    a case's linked events and the status, owner and times they give it
    view.py      a case with its links, as the CLI and the admin API show it
    report.py    time to first response and to close, per day, week or month

The periodic check that follows open cases and emits `cx.case.overdue` is hub/sla.py (it takes
events in, a layer above this package).
"""
