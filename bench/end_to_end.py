"""End to end against E0, and recovery from a killed worker and a restarted Redis.

E0 is the bare pipeline on the same machine: L0's WSGI callable (LPUSH) under gunicorn -w2, and
one consumer loop (`bench.e0_consumer`) that pops each body and POSTs it twice to the sink
with one `requests.Session`, as many requests as the hub's two actions. Each pipeline is driven
open-loop at rising rates (`find_sustained`); a rate is sustained when the load generator held
it and the backlog (deliveries owed to the sink) was at most one second's worth when sending
stopped. The hub's best rate is then held for `sustain_seconds` (60 s in a full run), and its
latency measured at half of it: webhook sent until the sink has each of its two deliveries.
CPU is read per component with psutil over each run (`bench.cpu`).
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import psutil
import requests
from sqlalchemy import select

from bench.cpu import CpuMeter, postgres_backends, tree
from bench.load import hub_accepted, send_at_rate
from bench.stack import PROJECT
from hub.store.tables import attempts, deliveries, events
from hub.testing import wait_for

if TYPE_CHECKING:
    from bench.scenarios import Scenarios

PER_EVENT = 2  # deliveries per event: the hub's two actions, E0's two POSTs
STEP = 1.25  # each probe asks this much more than the last one sustained
MAX_PROBES = 9


def l0_accepted(response: requests.Response, number: int) -> list[str]:
    """L0 answers `{}`: the payload's event_id (which the sink reads from what E0 forwards) names the event."""
    return [f"01BENCH{number:019d}"] if response.status_code == 202 else []


def latencies(sent: dict[str, float], arrivals: dict[str, dict[str, float]], prefix: str) -> list[float]:
    """Milliseconds from each send to each of its deliveries' arrival, sorted."""
    return sorted((moments[event_id] - moment) * 1000 for path, moments in arrivals.items() if path.startswith(prefix)
                  for event_id, moment in sent.items() if event_id in moments)


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(values), "p99_ms": values[int(len(values) * 0.99)]} if values else {}


@dataclass
class Probe:
    rate: float  # events/s asked of the load generator
    seconds: float
    sent_per_s: float  # events/s the load generator got answered 202
    events: int
    backlog_end: int  # deliveries owed to the sink when sending stopped
    backlog_max: int
    drained_s: float  # from the end of sending until the sink had every delivery
    sustained: bool
    cpu_ms_per_event: dict[str, float] = field(default_factory=dict)


class Pipeline:
    """One pipeline under test: where to send, how many deliveries the sink has had, and what to meter."""

    def __init__(self, scenarios: Scenarios, url: str, prefix: str, meter: CpuMeter,
                 accepted: Callable[[requests.Response, int], list[str]]) -> None:
        self.scenarios, self.url, self.prefix, self.meter, self.accepted = scenarios, url, prefix, meter, accepted
        self.stack = scenarios.stack

    def delivered(self) -> int:
        return self.stack.sink_count(self.prefix)

    def probe(self, rate: float, seconds: float) -> tuple[Probe, dict[str, float]]:
        """Send at `rate` for `seconds`, watch the backlog, wait for the sink to have everything."""
        requests.post(self.stack.sink_url + "/reset", timeout=5)
        sent: dict[str, float] = {}
        start = self.scenarios.numbers(int(rate * seconds) + 1)
        sender = threading.Thread(target=send_at_rate, args=(self.url, rate, seconds, start),
                                  kwargs={"sent": sent, "accepted": self.accepted})
        self.meter.start()
        began = time.time()
        sender.start()
        backlog_max = 0
        while sender.is_alive():
            sender.join(0.5)
            backlog_max = max(backlog_max, len(sent) * PER_EVENT - self.delivered())
        stopped = time.time()
        backlog_end = max(0, len(sent) * PER_EVENT - self.delivered())
        expected = len(sent) * PER_EVENT
        wait_for(lambda: self.delivered() >= expected, 300, interval=0.2, what=f"{expected} deliveries at the sink")
        drained = time.time() - stopped
        cpu = self.meter.seconds()
        moments = sorted(sent.values())
        sent_per_s = len(moments) / (stopped - began) if moments else 0.0
        events = max(1, len(sent))
        sustained = sent_per_s >= 0.95 * rate and backlog_end <= rate * PER_EVENT  # at most 1 s behind
        return Probe(rate, seconds, sent_per_s, len(sent), backlog_end, max(backlog_max, backlog_end), drained,
                     sustained, {name: value * 1000 / events for name, value in cpu.items()}), sent

    def find_sustained(self, first_rate: float, seconds: float) -> tuple[Probe | None, list[Probe]]:
        """Rates rising by STEP from `first_rate` until one is not sustained, then one between the last two."""
        probes: list[Probe] = []
        best: Probe | None = None
        rate = first_rate
        while len(probes) < MAX_PROBES:
            probe, _ = self.probe(rate, seconds)
            probes.append(probe)
            print(f"    {self.prefix}: {rate:.0f} ev/s asked, {probe.sent_per_s:.0f} sent, backlog at end "
                  f"{probe.backlog_end}: {'sustained' if probe.sustained else 'not sustained'}", flush=True)
            if probe.sustained:
                best, rate = probe, rate * STEP
            elif best is None:
                rate /= 2  # the first rate was too much: come down before climbing
            else:
                break
        if best is not None and len(probes) < MAX_PROBES:  # one step between the best and the first failure
            probe, _ = self.probe(best.rate * (1 + STEP) / 2, seconds)
            probes.append(probe)
            best = probe if probe.sustained else best
        return best, probes


def hub_meter(scenarios: Scenarios, web: Any, workers: list[Any]) -> CpuMeter:
    stack = scenarios.stack
    components: dict[str, Callable[[], list[psutil.Process]]] = {
        "web": lambda: tree(web.pid),
        "delivery": lambda: [p for worker in workers for p in tree(worker.pid)],
        "redis": lambda: tree(stack.redis_process.pid) if stack.redis_process else [],
        "sink": lambda: [p for p in psutil.process_iter() if p.pid == sink_pid(stack)],
        "load": lambda: [psutil.Process()],
    }
    if stack.database_name:
        components["postgresql"] = lambda: postgres_backends(stack.database_name)  # type: ignore[arg-type]
    return CpuMeter(components, split="delivery")


def sink_pid(stack: Any) -> int:
    return next(process.pid for name, process in stack.processes.started if name == "sink")


def stages(stack: Any, event_ids: list[str]) -> dict[str, dict[str, float]]:
    """Where the time of these events' first attempts went, from the store: accepted -> stored -> attempt started.

    `received_at` is when the web process accepted the webhook, `created_at` when the intake
    stored its deliveries, `started_at` when a worker began the attempt (the attempt's own
    duration is apart). The send and the sink's arrival are on either side of these.
    """
    query = (select(events.c.received_at, deliveries.c.created_at, attempts.c.started_at, attempts.c.duration_ms)
             .join(deliveries, deliveries.c.event_id == events.c.id)
             .join(attempts, (attempts.c.delivery_id == deliveries.c.id) & (attempts.c.number == 1))
             .where(events.c.id.in_(event_ids)))
    with stack.engine.connect() as db:
        rows = list(db.execute(query))
    parts = {"stored_ms": sorted((created - received).total_seconds() * 1000 for received, created, _, _ in rows),
             "queued_ms": sorted((started - created).total_seconds() * 1000 for _, created, started, _ in rows),
             "attempt_ms": sorted(duration for *_, duration in rows)}
    return {name: percentiles(values) for name, values in parts.items()}


def start_e0(scenarios: Scenarios) -> tuple[Pipeline, list[Any]]:
    stack = scenarios.stack
    url, web = stack.start_reference("l0")
    consumer = stack.processes.start("e0-consumer", [sys.executable, "-m", "bench.e0_consumer", stack.redis_url,
                                                     stack.sink_url, str(PER_EVENT)], cwd=str(PROJECT))
    meter = CpuMeter({"web": lambda: tree(web.pid), "consumer": lambda: tree(consumer.pid),
                      "redis": lambda: tree(stack.redis_process.pid) if stack.redis_process else [],
                      "sink": lambda: [psutil.Process(sink_pid(stack))], "load": lambda: [psutil.Process()]})
    return Pipeline(scenarios, url, "/timed-e0/", meter, l0_accepted), [web, consumer]


def e0(scenarios: Scenarios) -> None:
    """E0's highest sustained rate, and its CPU per event at that rate."""
    stack, settings = scenarios.stack, scenarios.settings
    stack.reset()
    pipeline, processes = start_e0(scenarios)
    try:
        best, probes = pipeline.find_sustained(150, settings.seconds)
    finally:
        for process in processes:
            stack.processes.stop(process)
    scenarios.results["e0"] = {"sustained_per_s": best.sent_per_s if best else 0.0,
                               "best": asdict(best) if best else None, "probes": [asdict(p) for p in probes]}


def e0_latency(scenarios: Scenarios, rate: float, seconds: float) -> dict[str, float]:
    """E0's latency at `rate` (the hub's half rate), so the hub's can be read against the machine's noise."""
    stack = scenarios.stack
    stack.reset()
    pipeline, processes = start_e0(scenarios)
    try:
        _, sent = pipeline.probe(rate, seconds)
        arrivals = stack.sink_arrivals()
    finally:
        for process in processes:
            stack.processes.stop(process)
    return percentiles(latencies(sent, arrivals, "/timed-e0/"))


def end_to_end(scenarios: Scenarios) -> None:
    """The hub with two actions per event: its sustained rate (held for sustain_seconds), then latency at half."""
    stack, settings = scenarios.stack, scenarios.settings
    if "e0" not in scenarios.results:
        e0(scenarios)
    e0_rate = scenarios.results["e0"]["sustained_per_s"] or 100.0
    stack.reset()
    stack.configure([("a", stack.sink_url + "/timed/a"), ("b", stack.sink_url + "/timed/b")],
                    accept_into=settings.accept_into)
    url, web = stack.start_web()
    workers = stack.start_workers(2)
    pipeline = Pipeline(scenarios, url, "/timed/", hub_meter(scenarios, web, workers), hub_accepted)
    try:
        if settings.end_to_end_rate:
            best, probes = None, list[Probe]()
            rate = settings.end_to_end_rate
        else:
            best, probes = pipeline.find_sustained(0.4 * e0_rate, settings.seconds)
            rate = best.rate if best else 0.2 * e0_rate
        for _ in range(3):  # a probe's rate that a long hold does not keep is stepped down
            held, _ = pipeline.probe(rate, settings.sustain_seconds)
            print(f"    hub held {rate:.0f} ev/s for {settings.sustain_seconds} s: "
                  f"{'bounded' if held.sustained else 'NOT bounded'} (backlog max {held.backlog_max})", flush=True)
            if held.sustained or settings.end_to_end_rate:
                break
            rate *= 0.85
        half, sent = pipeline.probe(rate / 2, max(settings.seconds, 10))
        arrivals = stack.sink_arrivals()
    finally:
        for process in [web, *workers]:
            stack.processes.stop(process)
    timed = latencies(sent, arrivals, "/timed/")
    breakdown = stages(stack, list(sent))
    reference = e0_latency(scenarios, rate / 2, max(settings.seconds, 10))
    scenarios.results["end_to_end"] = {
        "accept_into": settings.accept_into, "e0_per_s": e0_rate,
        "sustained_per_s": held.sent_per_s if held.sustained else 0.0, "held": asdict(held),
        "probes": [asdict(p) for p in probes], "half_rate": rate / 2, "half": asdict(half),
        "deliveries_timed": len(timed), **percentiles(timed),
        "e0_at_half_rate": reference, "half_rate_stages": breakdown,
    }


def recovery(scenarios: Scenarios) -> None:
    """Send for a while; SIGKILL one worker mid-batch, later restart Redis; time until everything arrived.

    For each fault: the last delivery of an event accepted before it reached the sink at fault + x.
    Deliveries the sink got twice are counted (the hub sends the same webhook-id on a retry, so a
    receiver that keeps them drops the second).
    """
    stack, settings = scenarios.stack, scenarios.settings
    stack.reset()
    stack.configure([("a", stack.sink_url + "/timed/a"), ("b", stack.sink_url + "/timed/b")],
                    accept_into=settings.accept_into)
    url, web = stack.start_web()
    workers = stack.start_workers(2)
    seconds, rate = settings.recovery_seconds, settings.recovery_rate
    sent: dict[str, float] = {}
    faults: dict[str, float] = {}

    def running() -> int:
        return stack.count(deliveries, deliveries.c.status == "running")

    def inject() -> None:
        time.sleep(seconds / 3)
        deadline = time.monotonic() + 5  # mid-batch: kill while attempts are under way
        while running() < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        faults["worker SIGKILL"] = time.time()
        os.killpg(workers[0].pid, signal.SIGKILL)
        time.sleep(2)  # the live worker's attempts are stored by now; what is still running was the dead one's
        faults["claims_abandoned"] = running()
        time.sleep(seconds / 3)
        faults["Redis restart"] = time.time()
        faults["redis_down_s"] = stack.restart_redis()

    requests.post(stack.sink_url + "/reset", timeout=5)
    injector = threading.Thread(target=inject)
    injector.start()
    try:
        send_at_rate(url, rate, seconds, scenarios.numbers(int(rate * seconds) + 1), sent=sent)
        injector.join()
        expected = len(sent) * PER_EVENT
        done = wait_for_or_none(lambda: stack.sink_count("/timed/") >= expected and all_arrived(stack, sent), 240)
        # The dead worker's claims run again once their lease expires, whether or not their attempt had
        # reached the sink: wait for the store to settle, so what arrives twice is counted.
        wait_for_or_none(lambda: stack.count(deliveries, deliveries.c.status.in_(("queued", "running",
                                                                                  "retrying"))) == 0, 120)
        settled = time.time()
        arrivals = stack.sink_arrivals()
        counts = stack.sink_stats()
    finally:
        for process in [web, *workers]:
            stack.processes.stop(process)
    received = sum(figures["count"] for path, figures in counts.items() if path.startswith("/timed/"))
    paths = [f"/timed/{name}" for name in ("a", "b")]
    missing = sum(1 for path in paths for event_id in sent if event_id not in arrivals.get(path, {}))
    timeline = {}
    for name in ("worker SIGKILL", "Redis restart"):
        before = [event_id for event_id, moment in sent.items() if moment < faults[name]]
        owed = [(path, event_id) for path in paths for event_id in before]
        got = [arrivals[path][event_id] for path, event_id in owed if event_id in arrivals.get(path, {})]
        last = max(got, default=faults[name]) - faults[name] if len(got) == len(owed) else None  # None: never
        timeline[name] = {"at_s": faults[name] - min(sent.values()), "events_before": len(before),
                          "undelivered": len(owed) - len(got), "last_delivered_after_s": last}
    scenarios.results["recovery"] = {
        "rate": rate, "seconds": seconds, "events": len(sent), "deliveries_owed": len(sent) * PER_EVENT,
        "missing": missing, "received_twice": received - (len(sent) * PER_EVENT - missing),
        "all_delivered": done, "redis_down_s": faults["redis_down_s"], "timeline": timeline,
        "claims_abandoned_by_the_killed_worker": faults["claims_abandoned"],
        "store_settled_after_kill_s": settled - faults["worker SIGKILL"],
        "recovery_s": None if any(item["last_delivered_after_s"] is None for item in timeline.values())
        else max(item["last_delivered_after_s"] for item in timeline.values()),
    }


def all_arrived(stack: Any, sent: dict[str, float]) -> bool:
    arrivals = stack.sink_arrivals()
    return len(arrivals) == PER_EVENT and all(event_id in moments for moments in arrivals.values() for event_id in sent)


def wait_for_or_none(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def delivery_rounds(scenarios: Scenarios, rounds: int = 5) -> dict[str, Any]:
    """One and two worker processes, `rounds` times each, alternating; the median and the spread."""
    one, two = [], []
    busy: list[dict[str, float]] = []
    for _ in range(rounds):
        for workers, figures in ((1, one), (2, two)):
            rate, cores = scenarios.held_drain(workers)
            figures.append(rate)
            if workers == 2:
                busy.append(cores)
    ratios = [b / a for a, b in zip(one, two)]
    return {"workers_1_per_s": statistics.median(one), "workers_2_per_s": statistics.median(two),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "workers_1_runs": one, "workers_2_runs": two, "ratios": ratios,
            "cores_busy_2_workers": {name: statistics.median(item[name] for item in busy) for name in busy[0]}}
