"""The console's pages and actions. Every read and action goes through the same store reads and
`hub.operations` functions as the CLI and the admin API; this module only parses and renders."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

import orjson
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from hub.config.model import ConsoleConfig
from hub.console import charts
from hub.console.auth import (
    FailedSignIns,
    SignedIn,
    check_credentials,
    current_user,
    load_user,
    requires,
    safe_next,
    sign_in as start_session,
)
from hub.console.filters import RANGES, delivery_filter, event_filter
from hub.console.raw import raw_request
from hub.enrichment.operations import retry_enrichments
from hub.ingest.service import Rejected
from hub.logs import EXTENSION as REDACTOR
from hub.operations import (
    NotFound,
    backlog,
    connection_states,
    discard_held,
    discard_quarantined,
    dry_run,
    pause_connection,
    redeliver,
    release_held,
    replay_event,
    replay_quarantined,
    resume_connection,
)
from hub.plugin.redaction import headers_to_keep, query_to_keep
from hub.plugin.types import EVENT_TYPES
from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub, current_hub
from hub.store import STATUSES, DeliveryFilter, StoreUnavailable
from hub.testsend import TestRefused, actions_of, parse_params, route_params, send_test

blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                      static_folder="static", static_url_path="/static")

PUBLIC = {"console.sign_in", "console.static"}
PAGE_SIZE = 50
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
T = TypeVar("T")


def console_config() -> ConsoleConfig:
    console = current_hub().config.console
    assert console is not None  # the blueprint is registered only with a console config
    return console


def mask(text: str) -> str:
    """`text` with every secret the hub knows replaced (settings, tokens): for what templates render."""
    redactor = current_app.extensions.get(REDACTOR)
    return redactor.mask(text) if redactor is not None else text


def pretty(value: Any) -> str:
    return mask(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def guarded(read: Callable[[], T], default: Any) -> T:
    """Run a read; if the database or Redis is down, note which (the page says so) and use `default`."""
    try:
        return read()
    except StoreUnavailable:
        g.down.add("the database")
    except (RedisError, RedisUnavailable):
        g.down.add("Redis")
    result: T = default
    return result


def web_link(url: Any) -> str | None:
    """A vendor's link, only if it is http(s): a javascript: or data: URL is shown as text, never linked."""
    if isinstance(url, str) and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


@blueprint.app_template_filter("when")
def when(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


@blueprint.app_context_processor
def helpers() -> dict[str, Any]:
    def page_url(**changes: Any) -> str:
        args: dict[str, Any] = {key: value for key, value in request.args.items() if value}
        args.update({key: value for key, value in changes.items()})
        args = {key: value for key, value in args.items() if value not in (None, "")}
        return url_for(request.endpoint or "console.overview", **(request.view_args or {}), **args)
    return {"page_url": page_url, "user": current_user(), "down": sorted(g.get("down", ())),
            "web_link": web_link}


@blueprint.before_request
def authenticate() -> ResponseReturnValue | None:
    g.down = set()
    g.console_user = load_user(console_config())
    if g.console_user is None and request.endpoint not in PUBLIC:
        expired = 1 if g.get("console_expired") else None
        return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?"), expired=expired))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        current_app.extensions["csrf"].protect()
    return None


@blueprint.after_request
def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_template("console/error.html", status=403, title="Forbidden",
                           message=f"This form could not be checked ({error.description}). Reload the page and try again."), 403


@blueprint.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    titles = {403: "Forbidden", 404: "Not found", 429: "Too many attempts"}
    return render_template("console/error.html", status=status, title=titles.get(status, error.name),
                           message=error.description), status


# --- signing in -----------------------------------------------------------------------------------


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        notice = "Your session expired; sign in again." if request.args.get("expired") else None
        return render_template("console/sign_in.html", next=target, error=None, name="", notice=notice)
    console = console_config()
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")[:1024]
    failures: FailedSignIns = current_app.extensions["cxhub.console.failures"]
    keys = [f"address:{request.remote_addr}"] + ([f"user:{name}"] if name else ["token"])
    wait = failures.wait_seconds(*keys)
    if wait:
        return render_template("console/sign_in.html", next=target, name=name,
                               error=f"Too many failed sign-ins. Wait {wait} seconds, then try again."), 429
    user = check_credentials(console, current_app.config.get("CXHUB_ADMIN_TOKEN"), name, password)
    if user is None:
        failures.fail(*keys)
        what = "user name or password" if name else "admin token"
        return render_template("console/sign_in.html", next=target, name=name,
                               error=f"Wrong {what}. Leave the name empty to sign in with the admin token."), 401
    start_session(user)
    return redirect(target)


@blueprint.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    from flask import session

    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("console.sign_in"))


# --- overview -------------------------------------------------------------------------------------


@blueprint.get("/")
def overview() -> str:
    hub = current_hub()
    chosen = request.args.get("range", "24h")
    error = None
    if chosen not in RANGES:
        error = f"range must be one of {', '.join(RANGES)}; showing 24h"
        chosen = "24h"
    until = datetime.now(timezone.utc)
    since = until - RANGES[chosen]
    per_bucket = {"6h": 1, "24h": 1, "7d": 6, "30d": 24}[chosen]
    starts = charts.buckets(since, until, per_bucket)
    events: dict[datetime, int] = guarded(lambda: hub.store.browse.events_per_hour(since), {})
    tried: dict[datetime, dict[str, int]] = guarded(lambda: hub.store.browse.attempts_per_hour(since), {})
    outcome = {name: {hour: counts.get(name, 0) for hour, counts in tried.items()}
               for name in ("succeeded", "retry", "failed", "paused")}
    attempts_chart = charts.stacked([(name, name, charts.regroup(outcome[name], starts, per_bucket))
                                     for name in ("succeeded", "retry", "failed")], starts)
    events_chart = charts.stacked([("events", "events", charts.regroup(events, starts, per_bucket))], starts)
    total = sum(sum(outcome[name].values()) for name in ("succeeded", "retry", "failed"))
    failed = sum(outcome["retry"].values()) + sum(outcome["failed"].values())
    counts = guarded(lambda: hub.store.browse.count_deliveries(("dead", "queued", "retrying")), None)
    waiting = guarded(lambda: backlog(hub), None)
    states = guarded(lambda: connection_states(hub), None)
    return render_template(
        "console/overview.html", ranges=list(RANGES), chosen=chosen, range_error=error,
        events_chart=events_chart, attempts_chart=attempts_chart, events_total=sum(events.values()),
        attempts_total=total, failure_rate=(failed / total) if total else None, counts=counts,
        backlog=waiting, paused=[row for row in states or () if row["status"] == "paused"] if states is not None else None)


# --- events ---------------------------------------------------------------------------------------


@blueprint.get("/events")
def events() -> str:
    hub = current_hub()
    where, parsed = event_filter(request.args)
    page = guarded(lambda: hub.store.browse.events(where, after=parsed.cursor, limit=PAGE_SIZE), None)
    sources = sorted(hub.config.sources)
    return render_template("console/events.html", page=page, parsed=parsed, sources=sources,
                           bands=("negative", "neutral", "positive"), summary=_summary)


def _summary(body: str) -> dict[str, Any]:
    event = orjson.loads(body)
    data = event.get("data") or {}
    score = data.get("score") or {}
    return {"text": (data.get("text") or "")[:160], "score": score.get("value"), "band": score.get("band"),
            "customer": (data.get("customer") or {}).get("email")}


@blueprint.get("/events/<event_id>")
def event(event_id: str) -> str:
    hub = current_hub()
    row = guarded(lambda: hub.store.reads.event(event_id), None)
    if row is None and not g.down:
        abort(404, f"There is no event {event_id}.")
    if row is None:
        return render_template("console/event.html", row=None, event_id=event_id)
    body = orjson.loads(row.body)
    deliveries = guarded(lambda: hub.store.reads.deliveries(event_id=event_id, limit=500), [])
    timeline = {item.id: guarded(functools.partial(hub.store.reads.attempts, item.id), []) for item in deliveries}
    related = guarded(lambda: hub.store.ingest.events_about({row.source: [row.subject]}), [])
    others = sorted({item.event_id for item in related if item.event_id != event_id})
    plans = dry_run(hub, body)
    lineage = guarded(lambda: hub.store.lineage.of_event(event_id), None)
    delivered_routes = {item.route for item in deliveries}
    link = (body.get("data") or {}).get("link") or {}
    request_id = row.request_id
    kept = guarded(lambda: hub.store.reads.request(request_id), None) if request_id else None
    siblings = guarded(lambda: hub.store.reads.events_of_request(request_id), []) if request_id and kept else []
    return render_template("console/event.html", row=row, event_id=event_id, event_json=pretty(body),
                           raw=raw_request(kept, mask) if kept else None, siblings=siblings,
                           data=body.get("data") or {}, link=link, deliveries=deliveries, timeline=timeline,
                           plans=plans, delivered_routes=delivered_routes, others=others, lineage=lineage,
                           result_text=lambda text: pretty(orjson.loads(text)) if text else "")


@blueprint.post("/events/<event_id>/replay")
@requires("operator")
def replay(event_id: str) -> ResponseReturnValue:
    try:
        outcome = replay_event(current_hub(), event_id)
    except NotFound as error:
        abort(404, str(error))
    flash(f"Replayed: {len(outcome.queued)} deliveries queued, {len(outcome.untouched)} left as they were "
          "(already succeeded or under way).", "info")
    return redirect(url_for("console.event", event_id=event_id))


# --- deliveries -----------------------------------------------------------------------------------


@blueprint.get("/deliveries")
def deliveries() -> str:
    hub = current_hub()
    where, parsed = delivery_filter(request.args)
    page = guarded(lambda: hub.store.browse.deliveries(where, after=parsed.cursor, limit=PAGE_SIZE), None)
    dead = guarded(lambda: hub.store.browse.count_dead(where), None) if not parsed.errors else None
    return render_template("console/deliveries.html", page=page, parsed=parsed, dead=dead, statuses=STATUSES,
                           connections=sorted(hub.config.connections),
                           routes=[route.name for route in hub.router.routes])


@blueprint.post("/deliveries/<delivery_id>/retry")
@requires("operator")
def retry(delivery_id: str) -> ResponseReturnValue:
    hub = current_hub()
    if hub.store.reads.delivery(delivery_id) is None:
        abort(404, f"There is no delivery {delivery_id}.")
    queued = redeliver(hub, [delivery_id])
    flash("Queued again with a fresh retry budget." if queued else "Not queued: only a dead delivery is retried.",
          "info" if queued else "warning")
    return redirect(safe_next(request.form.get("back")) if request.form.get("back")
                    else url_for("console.deliveries"))


@blueprint.post("/deliveries/<delivery_id>/release")
@requires("operator")
def release(delivery_id: str) -> ResponseReturnValue:
    """Send a delivery held for review (its route was over its max_per_hour)."""
    return _act_on_held(delivery_id, release_held, "Released: it is queued (quiet hours still apply).",
                        "Not released: only a delivery held for review is.")


@blueprint.post("/deliveries/<delivery_id>/discard")
@requires("operator")
def discard(delivery_id: str) -> ResponseReturnValue:
    """Never send a held delivery."""
    return _act_on_held(delivery_id, discard_held, "Discarded: it will not be sent.",
                        "Not discarded: only a held delivery is.")


def _act_on_held(delivery_id: str, act: Any, done: str, skipped: str) -> ResponseReturnValue:
    hub = current_hub()
    if hub.store.reads.delivery(delivery_id) is None:
        abort(404, f"There is no delivery {delivery_id}.")
    outcome = act(hub, [delivery_id])
    flash(done if outcome.done else skipped, "info" if outcome.done else "warning")
    return redirect(safe_next(request.form.get("back")) if request.form.get("back")
                    else url_for("console.deliveries"))


@blueprint.route("/deliveries/retry-all", methods=["GET", "POST"])
@requires("operator")
def retry_all() -> Any:
    """Retry every dead delivery the filter matches (not only the rows on one page), after a confirmation
    that shows how many; the POST retries only if the count is still what was shown."""
    hub = current_hub()
    where, parsed = delivery_filter(request.values)
    if parsed.errors:
        abort(400, "the filter is not valid: " + "; ".join(f"{key}: {text}" for key, text in parsed.errors.items()))
    filters: dict[str, Any] = {key: value for key, value in parsed.given.items()
                               if key not in ("cursor", "expected", "csrf_token")}
    if request.method == "GET":
        return render_template("console/retry_all.html", count=hub.store.browse.count_dead(where), filters=filters)
    ids = hub.store.browse.dead_ids(where)
    expected = request.form.get("expected", "")
    if not expected.isdigit() or int(expected) != len(ids):
        flash(f"The number of matching dead deliveries changed (now {len(ids)}); check and confirm again.", "warning")
        return redirect(url_for("console.retry_all", **filters))
    queued = _redeliver_in_chunks(hub, ids)
    flash(f"Queued {queued} of {len(ids)} dead deliveries again.", "info")
    return redirect(url_for("console.deliveries", **filters))


def _redeliver_in_chunks(hub: Hub, ids: list[str], size: int = 500) -> int:
    return sum(len(redeliver(hub, ids[start:start + size])) for start in range(0, len(ids), size))


# --- quarantine and failed enrichment -------------------------------------------------------------


@blueprint.get("/quarantine")
def quarantine() -> str:
    hub = current_hub()
    kept = guarded(lambda: hub.store.quarantine.requests(limit=200), None)
    dropped = guarded(lambda: hub.store.quarantine.dropped(), [])
    failed = guarded(lambda: hub.store.enrichments.with_status(("failed",), limit=200), None)
    return render_template("console/quarantine.html", kept=kept, dropped=dropped, failed=failed)


@blueprint.get("/quarantine/<quarantine_id>")
def quarantined(quarantine_id: str) -> str:
    row = guarded(lambda: current_hub().store.quarantine.get(quarantine_id), None)
    if row is None and not g.down:
        abort(404, f"There is no quarantined request {quarantine_id}.")
    headers = headers_to_keep(orjson.loads(row.headers)) if row else {}
    query = query_to_keep(orjson.loads(row.query)) if row else {}
    body = mask(row.body[:256 * 1024].decode("utf-8", "replace")) if row else ""
    return render_template("console/quarantined.html", row=row, quarantine_id=quarantine_id,
                           headers=pretty(headers), query=pretty(query), body=body,
                           cut=bool(row and len(row.body) > 256 * 1024))


@blueprint.post("/quarantine/<quarantine_id>/replay")
@requires("operator")
def replay_quarantine(quarantine_id: str) -> ResponseReturnValue:
    try:
        outcome = replay_quarantined(current_hub(), quarantine_id)
    except NotFound as error:
        abort(404, str(error))
    except Rejected as error:
        flash(f"Still rejected ({error.status}): {mask(error.message)}", "warning")
        return redirect(url_for("console.quarantined", quarantine_id=quarantine_id))
    flash(f"Replayed: {len(outcome.accepted)} events accepted, {len(outcome.duplicates)} seen before.", "info")
    return redirect(url_for("console.quarantine"))


@blueprint.post("/quarantine/<quarantine_id>/discard")
@requires("admin")
def discard_quarantine(quarantine_id: str) -> ResponseReturnValue:
    try:
        discard_quarantined(current_hub(), quarantine_id)
    except NotFound as error:
        abort(404, str(error))
    flash("Discarded.", "info")
    return redirect(url_for("console.quarantine"))


@blueprint.post("/enrichment/<event_id>/retry")
@requires("operator")
def retry_enrichment(event_id: str) -> ResponseReturnValue:
    hub = current_hub()
    if not retry_enrichments(hub, [event_id]):
        if hub.store.enrichments.get(event_id) is None:
            abort(404, f"There is no enrichment for event {event_id}.")
        flash("Not queued: only a failed enrichment is retried.", "warning")
    else:
        flash("Enrichment queued again.", "info")
    return redirect(url_for("console.quarantine"))


# --- connections ----------------------------------------------------------------------------------


@blueprint.get("/connections")
def connections() -> str:
    hub = current_hub()
    states = guarded(lambda: connection_states(hub), None)
    health: dict[str, dict[str, Any]] = guarded(lambda: hub.store.browse.connection_health(datetime.now(timezone.utc) - timedelta(hours=24)), {})
    return render_template("console/connections.html", states=states, health=health,
                           names=sorted(hub.config.connections), plugins=hub.config.connections)


@blueprint.post("/connections/<name>/pause")
@requires("operator")
def pause(name: str) -> ResponseReturnValue:
    user = current_user()
    reason = (request.form.get("reason") or "").strip()[:200] or "paused in the console"
    try:
        paused = pause_connection(current_hub(), name, f"{reason} (by {user.name if user else '?'})")
    except NotFound as error:
        abort(404, str(error))
    flash(f"{name} paused." if paused else f"{name} was already paused.", "info")
    return redirect(url_for("console.connections"))


@blueprint.post("/connections/<name>/resume")
@requires("operator")
def resume(name: str) -> ResponseReturnValue:
    try:
        resumed = resume_connection(current_hub(), name)
    except NotFound as error:
        abort(404, str(error))
    flash(f"{name} resumed." if resumed else f"{name} was not paused.", "info")
    return redirect(url_for("console.connections"))


@blueprint.route("/connections/<name>/test", methods=["GET", "POST"])
@requires("operator")
def test_delivery(name: str) -> Any:
    """Send a test event to one action of this connection through the delivery pipeline (hub/testsend.py).

    GET shows the form: the action (its parameters prefilled from a route that runs it, if one
    does), the event type and the parameters. POST checks and sends, then shows the event page,
    where the delivery's attempts appear as the worker makes them.
    """
    hub = current_hub()
    if name not in hub.config.connections:
        abort(404, f"There is no connection {name}.")
    actions = actions_of(hub, name)
    given = request.form if request.method == "POST" else request.args
    action = given.get("action") or (sorted(actions)[0] if actions else "")
    route, prefilled = route_params(hub, name, action)
    form = {"action": action, "type": given.get("type") or "cx.survey.response",
            "email": (given.get("email") or "").strip()[:320],
            "params": request.form.get("params", "") if request.method == "POST" else pretty(prefilled)}
    problem = None
    if request.method == "POST":
        user = current_user()
        try:
            sent = send_test(hub, connection=name, action=action, event_type=form["type"],
                             params=parse_params(form["params"]), sent_by=user.name if user else "?",
                             email=form["email"] or None)
        except TestRefused as error:
            problem = mask(error.message)
        except (StoreUnavailable, RedisUnavailable, RedisError):
            problem = "The database or Redis is down: nothing was sent. Try again once it is back."
        else:
            flash(f"Test delivery queued to {name}.{action}. Its attempts appear below as the worker makes them.",
                  "info")
            return redirect(url_for("console.event", event_id=sent.event_id, _anchor=f"delivery-{sent.delivery_id}"))
    state = guarded(lambda: next((row for row in connection_states(hub) if row["connection"] == name), None), None)
    page = render_template("console/test_delivery.html", name=name, actions=actions, form=form, route=route,
                           types=EVENT_TYPES, problem=problem, state=state)
    return (page, 400) if problem else page


# --- routes ---------------------------------------------------------------------------------------


@blueprint.route("/routes", methods=["GET", "POST"])
def routes() -> tuple[str, int] | str:
    """The loaded routes with recent match counts; a dry-run against a pasted event or a stored one."""
    hub = current_hub()
    moment = datetime.now(timezone.utc)
    repeats = Counter((route.name, spec.connection, spec.action) for route in hub.router.routes for spec in route.actions)
    day: dict[str, int] = guarded(lambda: hub.store.browse.route_matches(moment - timedelta(hours=24), repeats), {})
    week: dict[str, int] = guarded(lambda: hub.store.browse.route_matches(moment - timedelta(days=7), repeats), {})
    event_id = (request.values.get("event") or "").strip()
    pasted = request.form.get("payload", "") if request.method == "POST" else ""
    problem, plans, tried = None, None, None
    if pasted.strip():
        try:
            tried = orjson.loads(pasted.encode()[:1024 * 1024])
            if not isinstance(tried, dict) or not isinstance(tried.get("data"), dict):
                raise ValueError("paste a canonical event: a JSON object with a data object")
        except (orjson.JSONDecodeError, ValueError) as error:
            problem, tried = f"The payload is not a canonical event: {error}", None
    elif event_id:
        row = guarded(lambda: hub.store.reads.event(event_id), None)
        if row is None:
            problem = f"There is no stored event {event_id}." if not g.down else "The event could not be read."
        else:
            tried = orjson.loads(row.body)
    if tried is not None:
        plans = dry_run(hub, tried)
    page = render_template("console/routes.html", routes=hub.router.routes, day=day, week=week, plans=plans,
                           problem=problem, pasted=pasted, event_id=event_id, render=pretty, mask=mask)
    return (page, 400) if problem else page
