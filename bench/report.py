"""The results table: each figure, its reference, the ratio and whether the issue's target is met."""

from __future__ import annotations

from typing import Any, Callable

Row = tuple[str, str, float | None, float | None, str, bool | None]


def _get(results: dict[str, Any], *path: str) -> float | None:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return None if value is None else float(value)


def rows(r: dict[str, Any]) -> list[Row]:
    """(figure, unit, value, ratio to its reference, target, met)."""
    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    def check(value: float | None, test: Callable[[float], bool]) -> bool | None:
        return None if value is None else test(value)

    l0, l0_p99 = _get(r, "l0", "rate"), _get(r, "l0", "p99_ms")
    l0_gthread = _get(r, "l0_gthread", "rate")
    ingest, ingest_p99 = _get(r, "ingest", "rate"), _get(r, "ingest", "p99_ms")
    into = "auto: " + str(r.get("ingest", {}).get("accepted_into", "?"))
    loop = _get(r, "delivery", "loop_per_s")
    one, two = _get(r, "delivery", "workers_1_per_s"), _get(r, "delivery", "workers_2_per_s")
    alone = _get(r, "isolation", "healthy_per_s_alone")
    slow, hang = _get(r, "isolation", "healthy_per_s_with_slow_5s"), _get(r, "isolation", "healthy_per_s_with_hanging")
    p50, p99 = _get(r, "end_to_end", "p50_ms"), _get(r, "end_to_end", "p99_ms")
    e0, e2e = _get(r, "e0", "sustained_per_s"), _get(r, "end_to_end", "sustained_per_s")
    web, worker = _get(r, "memory", "web_peak_rss_mb"), _get(r, "memory", "worker_peak_rss_mb")
    return [
        ("L0: bare WSGI + LPUSH, gunicorn -w2", "req/s", l0, None, "reference", None),
        ("L0 p99", "ms", l0_p99, None, "reference", None),
        ("L1: Flask view, HMAC + JSON + rq enqueue", "req/s", _get(r, "l1", "rate"), ratio(_get(r, "l1", "rate"), l0),
         "reference (issue: ~0.36)", None),
        ("L1 p99", "ms", _get(r, "l1", "p99_ms"), ratio(_get(r, "l1", "p99_ms"), l0_p99), "reference", None),
        ("ingest, accept_into: database, gunicorn -w2", "req/s", _get(r, "ingest_database", "rate"),
         ratio(_get(r, "ingest_database", "rate"), l0), "(commit before 202)", None),
        ("ingest, accept_into: database, p99", "ms", _get(r, "ingest_database", "p99_ms"),
         ratio(_get(r, "ingest_database", "p99_ms"), l0_p99), "", None),
        (f"ingest, default config ({into}), gunicorn -w2", "req/s", ingest, ratio(ingest, l0), ">= 0.5 x L0",
         check(ratio(ingest, l0), lambda x: x >= 0.5)),
        ("ingest, default config, p99", "ms", ingest_p99, ratio(ingest_p99, l0_p99), "<= 3 x L0 p99",
         check(ratio(ingest_p99, l0_p99), lambda x: x <= 3)),
        *feature_rows(r, l0, l0_p99, ratio, check),
        ("intake: stored behind the log, 2 workers", "ev/s", _get(r, "intake", "per_s"),
         ratio(_get(r, "intake", "per_s"), ingest), "measured", None),
        ("L0 under gthread -w2 --threads 4", "req/s", l0_gthread, None, "reference", None),
        ("L0 gthread p99", "ms", _get(r, "l0_gthread", "p99_ms"), None, "reference", None),
        ("ingest, default, gthread -w2 --threads 4", "req/s", _get(r, "ingest_gthread", "rate"),
         ratio(_get(r, "ingest_gthread", "rate"), l0_gthread), ">= 0.5 x L0 gthread",
         check(ratio(_get(r, "ingest_gthread", "rate"), l0_gthread), lambda x: x >= 0.5)),
        ("ingest gthread p99", "ms", _get(r, "ingest_gthread", "p99_ms"),
         ratio(_get(r, "ingest_gthread", "p99_ms"), _get(r, "l0_gthread", "p99_ms")), "<= 3 x L0 gthread p99",
         check(ratio(_get(r, "ingest_gthread", "p99_ms"), _get(r, "l0_gthread", "p99_ms")), lambda x: x <= 3)),
        ("delivery: requests.Session loop", "/s", loop, None, "reference", None),
        ("delivery: 1 worker process", "/s", one, ratio(one, loop), ">= 0.5 x loop", check(ratio(one, loop), lambda x: x >= 0.5)),
        ("delivery: 2 worker processes (median of 5)", "/s", two, _get(r, "delivery", "ratio_median"),
         ">= 1.8 x 1 worker", check(_get(r, "delivery", "ratio_median"), lambda x: x >= 1.8)),
        ("delivery: 2 vs 1 worker, lowest of 5", "x", _get(r, "delivery", "ratio_min"), None, "spread", None),
        ("delivery: 2 vs 1 worker, highest of 5", "x", _get(r, "delivery", "ratio_max"), None, "spread", None),
        ("E0: L0 + bare pop-and-POST loop, sustained", "ev/s", e0, None, "reference (2 POSTs/event)", None),
        ("end to end: hub sustained (2 actions), held", "ev/s", e2e, ratio(e2e, e0), ">= 0.7 x E0",
         check(ratio(e2e, e0), lambda x: x >= 0.7)),
        ("end to end p50 at half the hub's rate", "ms", p50, None, "<= 20 ms", check(p50, lambda x: x <= 20)),
        ("end to end p99 at half the hub's rate", "ms", p99, None, "<= 100 ms", check(p99, lambda x: x <= 100)),
        ("E0 p50 at the same rate (the machine's floor)", "ms", _get(r, "end_to_end", "e0_at_half_rate", "p50_ms"),
         None, "reference", None),
        ("E0 p99 at the same rate", "ms", _get(r, "end_to_end", "e0_at_half_rate", "p99_ms"), None, "reference",
         None),
        *[(f"  of which {label} p50 / p99", "ms", _get(r, "end_to_end", "half_rate_stages", key, "p50_ms"), None,
           f"p99 {_get(r, 'end_to_end', 'half_rate_stages', key, 'p99_ms') or 0:.0f} ms", None)
          for key, label in (("stored_ms", "accepted -> stored"), ("queued_ms", "stored -> attempt"),
                             ("attempt_ms", "the attempt"))],
        *cpu_rows(r),
        *cost_rows(r),
        ("recovery: SIGKILL -> all before it delivered", "s", _get(r, "recovery", "timeline", "worker SIGKILL",
                                                                 "last_delivered_after_s"), None, "<= 60 s",
         check(_get(r, "recovery", "timeline", "worker SIGKILL", "last_delivered_after_s"), lambda x: x <= 60)),
        ("recovery: Redis restart -> all delivered", "s", _get(r, "recovery", "timeline", "Redis restart",
                                                                "last_delivered_after_s"), None, "<= 60 s",
         check(_get(r, "recovery", "timeline", "Redis restart", "last_delivered_after_s"), lambda x: x <= 60)),
        ("recovery: claims the killed worker left running", "", _get(r, "recovery",
                                                                      "claims_abandoned_by_the_killed_worker"),
         None, "measured (> 0: mid-batch)", None),
        ("recovery: SIGKILL -> every delivery stored done", "s",
         _get(r, "recovery", "store_settled_after_kill_s"), None, "<= 60 s",
         check(_get(r, "recovery", "store_settled_after_kill_s"), lambda x: x <= 60)),
        ("recovery: deliveries missing", "", _get(r, "recovery", "missing"), None, "0",
         check(_get(r, "recovery", "missing"), lambda x: x == 0)),
        ("recovery: received twice (same webhook-id)", "", _get(r, "recovery", "received_twice"), None,
         "measured", None),
        ("isolation: healthy alone", "/s", alone, None, "reference", None),
        ("isolation: healthy beside a 5 s destination", "/s", slow, ratio(slow, alone), ">= 0.9",
         check(ratio(slow, alone), lambda x: x >= 0.9)),
        ("isolation: healthy beside a hanging destination", "/s", hang, ratio(hang, alone), ">= 0.9",
         check(ratio(hang, alone), lambda x: x >= 0.9)),
        ("memory: web process peak RSS", "MB", web, None, "< 120 MB", check(web, lambda x: x < 120)),
        ("memory: worker process peak RSS", "MB", worker, None, "< 120 MB", check(worker, lambda x: x < 120)),
        ("memory: Redis growth per 1,000 events", "KB", _get(r, "memory", "redis_growth_kb_per_1000_events"), None,
         "linear, trimmed", None),
        ("memory: store rows per event", "rows", _get(r, "memory", "store_rows_per_event"), None,
         "linear, trimmed", None),
        ("metrics: 2xx counted by /metrics under load", "req", _get(r, "metrics_scrape", "metrics_2xx"),
         ratio(_get(r, "metrics_scrape", "metrics_2xx"), _get(r, "metrics_scrape", "load_2xx")),
         "= the load's 2xx (+ in flight at its end)", None),
        ("metrics: scrapes answered under load", "scrapes", _get(r, "metrics_scrape", "scrapes_under_load"), None,
         "every one (failed: see JSON)", check(_get(r, "metrics_scrape", "scrapes_failed"), lambda x: x == 0)),
        ("metrics: scrape p50 under load", "ms", _get(r, "metrics_scrape", "scrape_p50_ms"), None, "measured", None),
        ("embedded (cxhub serve) ingest", "req/s", _get(r, "embedded", "rate"), ratio(_get(r, "embedded", "rate"), l0),
         "measured", None),
        ("embedded p99", "ms", _get(r, "embedded", "p99_ms"), None, "measured", None),
    ]


def cpu_rows(r: dict[str, Any]) -> list[Row]:
    """CPU ms per event of each component, the hub's (at its held rate) beside E0's (at its best rate)."""
    hub = (r.get("end_to_end") or {}).get("held", {}).get("cpu_ms_per_event", {})
    e0 = ((r.get("e0") or {}).get("best") or {}).get("cpu_ms_per_event", {})
    found: list[Row] = []
    for name in ("web", "intake", "delivery", "postgresql", "redis", "sink", "load"):
        if name in hub:
            reference = f"E0: {e0[name]:.2f}" if name in e0 else "E0: -"
            found.append((f"CPU per event: {name}", "ms", hub[name], None, reference, None))
    if "consumer" in e0:
        found.append(("CPU per event: E0's consumer (its delivery)", "ms", e0["consumer"], None, "reference", None))
    if hub or e0:
        mine = sum(value for name, value in hub.items() if name not in ("sink", "load"))
        bare = sum(value for name, value in e0.items() if name not in ("sink", "load"))
        found.append(("CPU per event: all but sink and load", "ms", mine, mine / bare if bare else None,
                      f"E0: {bare:.2f}", None))
    return found


def cost_rows(r: dict[str, Any]) -> list[Row]:
    """The costs scenario: Redis commands, PostgreSQL transactions, rows, WAL and bytes stored, per event."""
    c = r.get("costs") or {}
    if "redis_commands_per_event" not in c:
        return []
    memory = c.get("redis_memory", {})
    found: list[Row] = [
        ("costs: Redis commands per event", "cmds", c["redis_commands_per_event"], None,
         f"net of idle {c['redis_commands_per_event_net']:.1f}", None),
        ("costs: Redis command time per event", "µs", c["redis_usec_per_event"], None,
         f"in scripts {c.get('redis_usec_per_event_scripts', 0):.0f}", None),
        *[(f"  of which {name}", "cmds", value, None, "", None)
          for name, value in list(c["redis_top_commands_per_event"].items())[:6]],
        ("costs: PostgreSQL commits per event", "xacts", c["pg_commits_per_event"], None,
         f"net of idle {c['pg_commits_per_event_net']:.2f}", None),
        ("costs: PostgreSQL statements per event", "stmts", c.get("pg_statements_per_event"), None,
         "pg_stat_statements", None),
        *[(f"  rows {key} per event", "rows", value, None, "", None)
          for key, value in c["pg_rows_per_event"].items() if value >= 0.05],
        ("costs: WAL per event", "bytes", c["wal_bytes_per_event"], None,
         f"net of idle {c['wal_bytes_per_event_net']:,.0f}", None),
        ("costs: WAL full-page images per event", "", c.get("wal_full_page_images_per_event"), None,
         "pg_stat_wal (server)", None),
        ("costs: WAL of this database alone per event", "bytes",
         (c.get("database_wal_per_event") or {}).get("bytes"), None, "pg_waldump", None),
        ("  of which full-page images per event", "", (c.get("database_wal_per_event") or {}).get("full_page_images"),
         None, "pg_waldump", None),
        ("costs: other databases' transactions meanwhile", "xacts", c.get("run", {}).get("other_databases_xact"), None,
         "> 0: WAL not ours alone", None),
        ("costs: stored per event, all tables", "bytes", c["bytes_per_event_all"], None, "with indexes, TOAST", None),
        *[(f"  stored in {name}", "bytes", value, None, "", None) for name, value in c["bytes_per_event"].items()],
        ("costs: Redis per event in the intake log", "bytes", memory.get("intake_log_bytes_per_event"), None,
         "used_memory", None),
        ("costs: Redis per event as 2 delivery jobs", "bytes", memory.get("delivery_queues_bytes_per_event"), None,
         "used_memory", None),
        ("costs: Redis per event after delivery", "bytes", memory.get("after_delivery_bytes_per_event"), None,
         "dedupe keys", None),
    ]
    return found


def feature_rows(r: dict[str, Any], l0: float | None, l0_p99: float | None, ratio: Callable[..., float | None],
                 check: Callable[..., bool | None]) -> list[Row]:
    """Target 5: each feature's CPU per event, on against off; and target 1 with all of them on."""
    found: list[Row] = []
    for feature, label in (("annotators", "annotators (sentiment)"), ("metrics", "metrics (Prometheus, multiproc)"),
                           ("all", "all features")):
        on, off = _get(r, "features", feature, "on"), _get(r, "features", feature, "off")
        found.append((f"CPU an event, {label} off", "µs", off, None, "in process, web + intake", None))
        found.append((f"CPU an event, {label} on", "µs", on, ratio(on, off), "measured (on / off)", None))
    rate, p99 = _get(r, "ingest_features", "rate"), _get(r, "ingest_features", "p99_ms")
    found.append(("ingest, default config, all features on", "req/s", rate, ratio(rate, l0), ">= 0.5 x L0",
                  check(ratio(rate, l0), lambda x: x >= 0.5)))
    found.append(("ingest, all features on, p99", "ms", p99, ratio(p99, l0_p99), "<= 3 x L0 p99",
                  check(ratio(p99, l0_p99), lambda x: x <= 3)))
    return found


def table(results: dict[str, Any]) -> str:
    lines = [f"| {'figure':<48} | {'value':>9} | {'unit':<5} | {'ratio':>6} | {'target':<18} | met |",
             f"|{'-' * 50}|{'-' * 11}|{'-' * 7}|{'-' * 8}|{'-' * 20}|-----|"]
    for figure, unit, value, ratio, target, met in rows(results):
        if value is None:
            continue
        shown = f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"
        lines.append(f"| {figure:<48} | {shown:>9} | {unit:<5} | {'' if ratio is None else f'{ratio:.2f}':>6} "
                     f"| {target:<18} | {'' if met is None else ('yes' if met else 'NO'):<3} |")
    return "\n".join(lines)
