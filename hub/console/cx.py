"""The console's CX pages: customers (profiles, timelines, merges), cases (SLA, report) and insights (NPS,
CSAT, CES trends). Reads go through the store and the same functions as the CLI and the admin API
(`hub.operations`, `hub.cases.view`, `hub.cases.report`, `hub.insights.query`); this module parses and renders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from hub.cases.report import report
from hub.cases.view import detail, overdue, summary
from hub.console import charts
from hub.console.auth import current_user, requires
from hub.console.filters import INSIGHT_METRICS, CaseArgs, CursorArgs, InsightArgs, parse
from hub.console.views import PAGE_SIZE, _summary, blueprint, guarded, web_link
from hub.insights.buckets import BadQuery, parse_timezone, parse_window
from hub.insights.definitions import COUNT_NAMES
from hub.insights.query import MetricQuery, MetricRow, run_query
from hub.operations import UnknownCustomer, find_customer, merge_customers, unmerge_customer
from hub.runtime import current_hub
from hub.store import CaseRow, Cursor, now
from hub.store.rows import ProfileView
from hub.store.profiles import ProfileError

SCALES = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (0.0, 100.0)}
TITLES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


def _by() -> str:
    user = current_user()
    return user.name if user else "?"


def _customer_or_404(profile_id: str) -> ProfileView:
    view = guarded(lambda: current_hub().store.profiles.view(profile_id), None) if profile_id.startswith("cus_") \
        else None
    if view is None:
        if g.down:
            abort(503, "The customer cannot be read now: " + " and ".join(sorted(g.down)) + " is down.")
        abort(404, f"There is no customer {profile_id}.")
    return view


def _latest_name(body: str) -> str | None:
    customer = (orjson.loads(body).get("data") or {}).get("customer") or {}
    name = customer.get("name")
    return name if isinstance(name, str) else None


# --- customers ------------------------------------------------------------------------------------


@blueprint.get("/customers")
def customers() -> ResponseReturnValue:
    """Find a customer by email or identifier (zendesk:123) or profile id; found, go to its page."""
    text = (request.args.get("q") or "").strip()[:320]
    problem = None
    if text:
        try:
            view = find_customer(current_hub().store, text)
        except UnknownCustomer as error:
            problem = str(error)
        else:
            return redirect(url_for("console.customer", profile_id=view.id))
    page = render_template("console/customers.html", q=text, problem=problem)
    return (page, 404) if problem else page


@blueprint.get("/customers/<profile_id>")
def customer(profile_id: str) -> ResponseReturnValue:
    view = _customer_or_404(profile_id)
    if view.id != profile_id:  # a profile merged into another: show the customer it belongs to
        args: dict[str, Any] = dict(request.args.items())
        return redirect(url_for("console.customer", profile_id=view.id, **args))
    parsed = parse(CursorArgs(), request.args)
    store = current_hub().store
    page = guarded(lambda: store.profiles.timeline(view.id, limit=PAGE_SIZE, after=parsed.cursor), None)
    # the name the newest event that gives one gives (a cx.case.overdue event, say, gives none)
    names = (_latest_name(entry.body) for entry in (page.rows if page and not parsed.cursor else ()))
    name = next((found for found in names if found), None)
    return render_template("console/customer.html", view=view, page=page, parsed=parsed, summary=_summary,
                           name=name, cases=[summary(case) for case in view.open_cases])


@blueprint.route("/customers/<profile_id>/merge", methods=["GET", "POST"])
@requires("operator")
def merge(profile_id: str) -> ResponseReturnValue:
    """Merge another customer into this one, after a confirmation that shows both."""
    keep = _customer_or_404(profile_id)
    store = current_hub().store
    text = (request.values.get("absorb") or "").strip()[:320]
    if not text:
        flash("Name the customer to merge into this one (an email, an identifier or a profile id).", "warning")
        return redirect(url_for("console.customer", profile_id=keep.id))
    try:
        absorb = find_customer(store, text)
    except UnknownCustomer as error:
        flash(str(error), "warning")
        return redirect(url_for("console.customer", profile_id=keep.id))
    if absorb.id == keep.id:
        flash(f"{text} is already this customer.", "warning")
        return redirect(url_for("console.customer", profile_id=keep.id))
    if request.method == "GET":
        return render_template("console/merge.html", keep=keep, absorb=absorb, absorb_text=absorb.id)
    reason = (request.form.get("reason") or "").strip()[:200]
    try:
        merged = merge_customers(store, keep.id, absorb.id, by=_by(), reason=reason)
    except ProfileError as error:
        flash(f"Not merged: {error}", "warning")
        return redirect(url_for("console.customer", profile_id=keep.id))
    flash(f"Merged {merged.from_profile} into {merged.into_profile}.", "info")
    return redirect(url_for("console.customer", profile_id=merged.into_profile))


@blueprint.route("/customers/<profile_id>/unmerge", methods=["GET", "POST"])
@requires("operator")
def unmerge(profile_id: str) -> ResponseReturnValue:
    """Split a merged profile (`profile=`) off this customer, after a confirmation that shows both."""
    whole = _customer_or_404(profile_id)
    store = current_hub().store
    member = (request.values.get("profile") or "").strip()[:64]
    if member not in whole.members or member == whole.id:
        abort(404, f"{member or 'That profile'} is not a profile merged into customer {whole.id}.")
    if request.method == "GET":
        return render_template("console/unmerge.html", whole=whole, member=member,
                               identifiers=[row for row in whole.identifiers if row.profile_id == member])
    reason = (request.form.get("reason") or "").strip()[:200]
    try:
        undone = unmerge_customer(store, member, by=_by(), reason=reason)
    except ProfileError as error:
        flash(f"Not unmerged: {error}", "warning")
        return redirect(url_for("console.customer", profile_id=whole.id))
    flash(f"Split {undone.from_profile} off {undone.into_profile}.", "info")
    return redirect(url_for("console.customer", profile_id=undone.from_profile))


# --- cases ----------------------------------------------------------------------------------------


@blueprint.get("/cases")
def cases() -> str:
    hub = current_hub()
    parsed = parse(CaseArgs(), request.args)
    values = parsed.values
    moment = now()
    rows: list[CaseRow] | None = guarded(lambda: hub.store.cases.list(
        status=values.get("status"), overdue=bool(values.get("overdue")), at=moment, limit=PAGE_SIZE + 1,
        after=parsed.cursor), None)
    page = None
    if rows is not None:
        shown = rows[:PAGE_SIZE]
        following = Cursor(shown[-1].opened_at, shown[-1].id) if len(rows) > PAGE_SIZE else None
        page = {"rows": [summary(case, moment) for case in shown], "next": following}
    by = values.get("by", "week")
    opened = guarded(lambda: hub.store.cases.opened_between(moment - timedelta(days=90), moment), None)
    periods = report(opened, by) if opened is not None else None
    return render_template("console/cases.html", page=page, parsed=parsed, by=by, periods=periods,
                           statuses=("open", "in_progress", "closed"),
                           response_chart=_hours_chart(periods or [], "time_to_first_response_hours"),
                           close_chart=_hours_chart(periods or [], "time_to_close_hours"))


def _hours_chart(periods: list[dict[str, Any]], key: str) -> charts.Trend:
    points = [(row["period"], row[key]["median"], f"median over {row['responded' if 'response' in key else 'closed']}"
               " cases, hours") for row in periods]
    peak = max((value for _, value, _ in points if value is not None), default=0.0)
    return charts.trend(points, 0.0, max(1.0, float(peak)))


@blueprint.get("/cases/<case_id>")
def case(case_id: str) -> str:
    store = current_hub().store
    row = guarded(lambda: store.cases.get(case_id), None)
    if row is None:
        if g.down:
            abort(503, "The case cannot be read now: " + " and ".join(sorted(g.down)) + " is down.")
        abort(404, f"There is no case {case_id}.")
    shown = detail(store, row)
    profile = None
    if row.customer_email:
        profile = guarded(lambda: find_customer(store, str(row.customer_email)).id, None) \
            if "@" in row.customer_email else None
    return render_template("console/case.html", case=shown, late=overdue(row), profile=profile, web_link=web_link)


# --- insights -------------------------------------------------------------------------------------


@blueprint.get("/insights")
def insights() -> tuple[str, int] | str:
    """NPS, CSAT and CES per day, week or month (in `metrics.timezone`), optionally by source, with their counts."""
    hub = current_hub()
    parsed = parse(InsightArgs(), request.args)
    values = parsed.values
    zone_name = hub.config.metrics.timezone
    by, since = values.get("by", "week"), values.get("since", "90d")
    metrics = [values["metric"]] if "metric" in values else list(INSIGHT_METRICS)
    shown, problem = [], None
    for metric in metrics:
        query = MetricQuery(metric, by, parse_window(since), None, values.get("source"), None, {},
                            values.get("group"), parse_timezone(zone_name))
        try:
            rows: list[MetricRow] | None = guarded(lambda: run_query(hub.store.metrics, query), None)
        except BadQuery as error:
            problem = error.message
            break
        if rows is None:
            break
        shown.append(_metric_section(metric, rows))
    page = render_template("console/insights.html", parsed=parsed, sections=shown, zone=zone_name, by=by,
                           since=since, metrics=INSIGHT_METRICS, titles=TITLES, problem=problem,
                           sources=sorted(hub.config.sources))
    return (page, 400) if problem else page


def _metric_section(metric: str, rows: list[MetricRow]) -> dict[str, Any]:
    groups: dict[str | None, list[MetricRow]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    low, high = SCALES[metric]
    return {"metric": metric, "title": TITLES[metric], "count_names": COUNT_NAMES[metric], "rows": rows,
            "charts": [(group, charts.trend([(row.bucket, row.totals.value, f"{row.totals.responses} responses")
                                             for row in members], low, high)) for group, members in groups.items()]}

