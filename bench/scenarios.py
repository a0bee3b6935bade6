"""The scenarios: each starts what it needs on the shared stack, measures, stops it, and returns figures."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import orjson
import requests

from bench.end_to_end import delivery_rounds, e0, end_to_end, hub_meter, recovery
from bench.load import LoadResult, have_wrk, run_python_load, run_wrk
from bench.payloads import signed, write_for_wrk
from bench.processes import tree_rss_mb
from bench.stack import Stack, scrape
from hub.delivery.gate import hold_connection, resume_connection
from hub.store.tables import deliveries, events
from hub.testing import wait_for


class Scraper:
    """Scrapes /metrics once a second from a thread while the load runs, as a Prometheus would."""

    def __init__(self, url: str) -> None:
        self.url, self.stopping = url, threading.Event()
        self.took: list[float] = []
        self.failed = 0
        self.thread = threading.Thread(target=self.run, name="bench-scraper", daemon=True)

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            began = time.perf_counter()
            try:
                scrape(self.url)
            except (requests.RequestException, ValueError):
                self.failed += 1
            else:
                self.took.append((time.perf_counter() - began) * 1000)

    def __enter__(self) -> Scraper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=15)

    def figures(self) -> dict[str, float]:
        return {"scrapes_under_load": len(self.took), "scrapes_failed": self.failed,
                "scrape_p50_ms": statistics.median(self.took) if self.took else 0.0,
                "scrape_max_ms": max(self.took, default=0.0)}


def metrics_counts(after: dict, before: dict) -> dict[str, float]:
    """What the hub's counters say happened between two scrapes: webhooks answered 2xx, events accepted."""
    def total(name: str, keep: Callable[[dict[str, str]], bool]) -> float:
        return sum(value - before.get((metric, labels), 0.0) for (metric, labels), value in after.items()
                   if metric == name and keep(dict(labels)))

    return {"metrics_2xx": total("cxhub_webhook_requests_total", lambda labels: labels["status"].startswith("2")),
            "metrics_accepted": total("cxhub_events_total", lambda labels: labels["outcome"] == "accepted")}


@dataclass
class Settings:
    seconds: int  # length of each wrk run, and of each probe of a sustained rate
    deliveries: int  # jobs per delivery run
    memory_events: int
    end_to_end_rate: float | None = None  # events/s for end_to_end; None: the highest it sustains
    sustain_seconds: int = 60  # how long end_to_end holds the hub's sustained rate
    accept_into: str = "redis"  # the hub's mode in end_to_end and recovery
    recovery_seconds: int = 30
    recovery_rate: float = 60.0
    feature_events: int = 600  # events per in-process measurement of a feature's cost
    costs_events: int = 3000  # events of the costs scenario's steady run (and of its Redis memory backlog)
    costs_rate: float = 60.0  # events/s of that run: a moderate rate, well under the hub's sustained one
    costs_idle_seconds: float = 10.0  # the idle hub's polling, measured first, is reported per second


class Scenarios:
    def __init__(self, stack: Stack, settings: Settings) -> None:
        self.stack, self.settings = stack, settings
        self.next_number = 0  # payload numbers are never reused, so no request is a resend
        self.results: dict[str, Any] = {}

    # --- helpers ------------------------------------------------------------

    def numbers(self, count: int) -> int:
        start, self.next_number = self.next_number, self.next_number + count
        return start

    def load(self, url: str, path: str = "/hooks/typeform") -> LoadResult:
        seconds = self.settings.seconds
        if not have_wrk():
            return run_python_load(url, seconds=seconds, start=self.numbers(10**6))
        count = 6000 * seconds  # more than any run sends, so every request is distinct
        payloads = write_for_wrk(self.stack.workdir / "payloads.txt", self.numbers(count), count)
        return run_wrk(url, payloads, seconds=seconds, path=path, workdir=self.stack.workdir)

    def preload(self, url: str, count: int) -> None:
        """POST `count` distinct events with 8 threads (the workers are not running)."""
        start = self.numbers(count)

        def post(offset: int) -> None:
            session = requests.Session()
            for number in range(start + offset, start + count, 8):
                sig, body = next(signed(number, 1))
                response = session.post(url + "/hooks/typeform", data=body,
                                        headers={"Content-Type": "application/json", "Typeform-Signature": sig})
                assert response.status_code == 202, response.text

        threads = [threading.Thread(target=post, args=(offset,)) for offset in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def drain_rate(self, path: str, expected: int, workers: int, timeout: float = 600) -> float:
        """Start `workers` worker processes and time, at the sink, the arrival of all `expected` deliveries."""
        processes = self.stack.start_workers(workers)
        try:
            wait_for(lambda: self.stack.sink_stats().get(path, {}).get("count", 0) >= expected, timeout,
                     what=f"{expected} deliveries at {path}")
        finally:
            for process in processes:
                self.stack.processes.stop(process)
        stats = self.stack.sink_stats()[path]
        return (stats["count"] - 1) / (stats["last"] - stats["first"])

    # --- scenarios ------------------------------------------------------------

    def l0(self) -> None:
        """The references, L0 (bare WSGI + LPUSH, also under gthread) and L1 (Flask: HMAC, JSON, rq enqueue)."""
        for name, reference, threads in (("l0", "l0", 1), ("l1", "l1", 1), ("l0_gthread", "l0", 4)):
            self.stack.reset()
            url, process = self.stack.start_reference(reference, threads)
            try:
                self.results[name] = self.load(url).__dict__
            finally:
                self.stack.processes.stop(process)

    def ingest(self) -> None:
        """The whole path to a 202, two matching actions per event, with the default config and with
        `accept_into: database`; workers off.

        The default (`auto`) accepts into the intake log of a Redis that fsyncs before it answers and
        never evicts, as the bench's does: a 202 follows the append, and the workers store behind it
        (the intake figure is how fast two worker processes take in what the web side accepted). With
        `accept_into: database` a 202 follows the commit of events and deliveries.
        """
        for accept_into, key in ((None, "ingest"), ("database", "ingest_database")):
            self.stack.reset()
            self.stack.configure([("first", self.stack.sink_url + "/a"), ("second", self.stack.sink_url + "/b")],
                                 accept_into=accept_into)
            url, process = self.stack.start_web()
            try:
                before = scrape(url)  # warm_up's requests are counted too
                with Scraper(url) as scraper:
                    result = self.load(url)
                counted = metrics_counts(scrape(url), before)
            finally:
                self.stack.processes.stop(process)
            into = "redis" if self.stack.redis.exists(self.stack.intake_key) else "database"
            accepted = result.requests - result.failed
            self.results[key] = {**result.__dict__, "answered_2xx": accepted, "accepted_into": into}
            if accept_into is None:
                self.results["metrics_scrape"] = {**counted, "load_2xx": accepted,
                                                  "load_requests": result.requests, **scraper.figures()}
                if into == "redis":  # what the log holds is stored now, before the next run's reset empties it
                    self.results["intake"] = {"events": accepted, "per_s": self.intake_rate(accepted)}
        self.stack.reset()  # the same with gthread workers, as the README recommends for production
        self.stack.configure([("first", self.stack.sink_url + "/a"), ("second", self.stack.sink_url + "/b")])
        url, process = self.stack.start_web(threads=4)
        try:
            self.results["ingest_gthread"] = self.load(url).__dict__
        finally:
            self.stack.processes.stop(process)

    def features(self) -> None:
        """CPU per event of the optional features, on vs off (bench/features.py, in process, default config);
        then the ingest load with all of them on (sentiment annotator, metrics as always), against L0."""
        from bench.features import costs

        self.stack.reset()
        self.results["features"] = costs(self.settings.feature_events, self.stack.redis_url, self.stack.database_url)
        self.stack.reset()
        self.stack.configure([("first", self.stack.sink_url + "/a"), ("second", self.stack.sink_url + "/b")],
                             annotators=["sentiment"])
        url, process = self.stack.start_web()
        try:
            self.results["ingest_features"] = self.load(url).__dict__
        finally:
            self.stack.processes.stop(process)

    def intake_rate(self, expected: int) -> float:
        """Start two intake-only workers and time how fast they store the `expected` events waiting in the log."""
        processes = self.stack.start_workers(2, intake_only=True)
        began = time.monotonic()
        try:
            wait_for(lambda: self.stack.count(events) >= expected, 600, interval=0.2,
                     what=f"{expected} events stored")
        finally:
            for process in processes:
                self.stack.processes.stop(process)
        return expected / (time.monotonic() - began)

    def delivery(self) -> None:
        """Bare requests.Session loop vs one and two `cxhub worker` processes (5 rounds each), to the same sink."""
        count = self.settings.deliveries
        body = orjson.dumps({"specversion": "1.0", "id": "x" * 36, "data": {"text": "y" * 900}})
        session = requests.Session()
        began = time.perf_counter()
        for _ in range(count):
            session.post(self.stack.sink_url + "/loop", data=body, headers={"Content-Type": "application/json"})
        self.results["delivery"] = {"loop_per_s": count / (time.perf_counter() - began),
                                    **delivery_rounds(self)}

    def held_drain(self, workers: int, destinations: list[tuple[str, str]] | None = None,
                   held: str = "sink", path: str = "/d") -> tuple[float, dict[str, float]]:
        """Deliveries/s at `path` of `workers` processes draining `deliveries` queued events, starting together.

        The connection `held` is paused (as `cxhub connections pause` would) while the workers
        start, so the first one up does not run alone while the others import; the rate is taken
        between the 10% and the 90% arrival. Also returns the cores each component kept busy meanwhile.
        """
        count = self.settings.deliveries
        self.stack.reset()
        self.stack.configure(destinations or [("sink", self.stack.sink_url + "/d")], timeout=10,
                             accept_into="database")  # the jobs are queued at once
        url, web = self.stack.start_web()
        self.preload(url, count)
        self.stack.processes.stop(web)
        hold_connection(self.stack.redis, "cxhub", held, "bench: the workers are starting")
        processes = self.stack.start_workers(workers)
        meter = hub_meter(self, web, processes)
        try:
            meter.start()
            began = time.monotonic()
            resume_connection(self.stack.redis, "cxhub", held)
            wait_for(lambda: self.stack.sink_stats().get(path, {}).get("count", 0) >= count, 600,
                     what=f"{count} deliveries at {path}")
            cores = {name: value / (time.monotonic() - began) for name, value in meter.seconds().items()}
        finally:
            for process in processes:
                self.stack.processes.stop(process)
        stats = self.stack.sink_stats()[path]
        return (stats["count"] * 0.8) / (stats["t90"] - stats["t10"]), cores

    def e0(self) -> None:
        e0(self)

    def end_to_end(self) -> None:
        end_to_end(self)

    def recovery(self) -> None:
        recovery(self)

    def costs(self) -> None:
        from bench.costs import costs

        costs(self)

    def isolation(self) -> None:
        """Healthy deliveries/s alone, then with a destination that answers after 5 s, then one that never does.

        The slow destination's deliveries start first (the healthy connection is held until the
        workers are up), so the healthy ones meet threads already taken by it.
        """
        figures: dict[str, float] = {}
        for label, slow_path in (("alone", None), ("with_slow_5s", "/slow"), ("with_hanging", "/hang")):
            destinations = [("healthy", self.stack.sink_url + "/h")]
            if slow_path:
                destinations.append(("slow", self.stack.sink_url + slow_path))
            figures[f"healthy_per_s_{label}"], _ = self.held_drain(2, destinations, held="healthy", path="/h")
        self.results["isolation"] = figures

    def memory(self) -> None:
        """RSS of web and worker processes while `memory_events` events go through; store and Redis growth.

        With `accept_into: redis`, so Redis holds a dedupe key per event (for `hub.dedupe_seconds`).
        """
        self.stack.reset()
        self.stack.configure([("m", self.stack.sink_url + "/m")], accept_into="redis")
        url, web = self.stack.start_web()
        workers = self.stack.start_workers(2)
        peak = {"web": 0.0, "worker": 0.0}
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                peak["web"] = max([peak["web"], *tree_rss_mb(web).values()])
                peak["worker"] = max([peak["worker"], *(max(tree_rss_mb(w).values() or [0]) for w in workers)])

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        redis_before = self.stack.redis.info("memory")["used_memory"]
        count = self.settings.memory_events
        try:
            self.preload(url, count)
            wait_for(lambda: self.stack.sink_stats().get("/m", {}).get("count", 0) >= count, 900, what="all delivered")
        finally:
            done.set()
            for process in [web, *workers]:
                self.stack.processes.stop(process)
        redis_after = self.stack.redis.info("memory")["used_memory"]
        self.results["memory"] = {"events": count, "web_peak_rss_mb": peak["web"],
                                  "worker_peak_rss_mb": peak["worker"],
                                  "redis_growth_kb_per_1000_events": (redis_after - redis_before) / 1024 / count * 1000,
                                  "store_rows_per_event": (self.stack.count(events) + self.stack.count(deliveries)) / count}

    def embedded(self) -> None:
        self.stack.configure([("sink", self.stack.sink_url + "/e")])
        url, process = self.stack.start_embedded()
        try:
            self.results["embedded"] = self.load(url).__dict__
        finally:
            self.stack.processes.stop(process)


ALL: dict[str, Callable[[Scenarios], None]] = {
    "l0": Scenarios.l0, "ingest": Scenarios.ingest, "features": Scenarios.features, "delivery": Scenarios.delivery,
    "e0": Scenarios.e0, "end_to_end": Scenarios.end_to_end, "recovery": Scenarios.recovery,
    "costs": Scenarios.costs, "isolation": Scenarios.isolation, "memory": Scenarios.memory,
    "embedded": Scenarios.embedded,
}
