"""CPU seconds spent by each component of a run, read with psutil before and after it.

A component is a set of processes (a gunicorn tree, worker processes, PostgreSQL backends of the
bench's database, the private Redis), or some threads of them: a worker's intake consumer runs
in a thread the worker names `cxhub-intake` for the operating system (see `hub.worker`), so
intake and delivery are told apart inside one process. Backends of other databases and
PostgreSQL's shared background processes are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil

INTAKE_THREAD = "cxhub-intake"


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def postgres_backends(database: str) -> list[psutil.Process]:
    """The backends serving `database` (their title reads `postgres: USER DATABASE ADDRESS STATE`)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if cmdline.startswith("postgres:") and f" {database} " in f"{cmdline} ":
            found.append(process)
    return found


def thread_seconds(process: psutil.Process) -> dict[str, float]:
    """CPU seconds of a process by thread name (threads of one name added up)."""
    seconds: dict[str, float] = {}
    for thread in process.threads():
        try:
            name = Path(f"/proc/{process.pid}/task/{thread.id}/comm").read_text().strip()
        except OSError:  # the thread ended meanwhile
            continue
        seconds[name] = seconds.get(name, 0.0) + thread.user_time + thread.system_time
    return seconds


def process_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return seconds


@dataclass
class CpuMeter:
    """`components`: name -> a function listing its processes now; `intake_of`: the component split by thread."""

    components: dict[str, Callable[[], list[psutil.Process]]]
    split: str | None = None  # this component's `cxhub-intake` threads are reported as "intake"
    before: dict[str, dict[int, float]] = field(default_factory=dict)
    intake_before: dict[int, float] = field(default_factory=dict)

    def start(self) -> None:
        self.before = {name: process_seconds(find()) for name, find in self.components.items()}
        if self.split:
            self.intake_before = self._intake(self.components[self.split]())

    def seconds(self) -> dict[str, float]:
        """CPU seconds of each component since `start` (processes that ended meanwhile are not counted)."""
        spent = {}
        for name, find in self.components.items():
            now = process_seconds(find())
            spent[name] = sum(value - self.before[name].get(pid, 0.0) for pid, value in now.items())
        if self.split:
            intake = self._intake(self.components[self.split]())
            spent["intake"] = sum(value - self.intake_before.get(pid, 0.0) for pid, value in intake.items())
            spent[self.split] -= spent["intake"]
        return spent

    def _intake(self, processes: list[psutil.Process]) -> dict[int, float]:
        found = {}
        for process in processes:
            try:
                found[process.pid] = thread_seconds(process).get(INTAKE_THREAD, 0.0)
            except psutil.NoSuchProcess:
                pass
        return found
