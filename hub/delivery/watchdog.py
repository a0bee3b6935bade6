"""Job timeouts for RQ workers running in threads, kept by one watchdog thread per process.

RQ's `TimerDeathPenalty` starts a `threading.Timer` for every job and cancels it after. Starting
a thread waits for that thread to run, and with the process's other threads busy each hand-over
of the interpreter lock can wait a whole switch interval (5 ms): measured here, entering and
leaving one such penalty took 0.2 ms on an idle process and 16 ms beside two busy threads, on
the path of every delivery job. `WatchdogDeathPenalty` registers the job's deadline with a
single long-lived thread instead, which raises the timeout in the job's thread the way RQ's
does (`PyThreadState_SetAsyncExc`) once the deadline passes.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import threading
import time
from functools import cache
from typing import Any

from rq.timeouts import BaseDeathPenalty, JobTimeoutException

log = logging.getLogger("cxhub.worker")


@cache
def timeout_exception(exception: type[BaseException], timeout: float) -> type[BaseException]:
    """`exception` with a message that says the limit (an asynchronous exception is raised from its class)."""
    message = f"Task exceeded maximum timeout value ({timeout:g} seconds)"

    def __init__(self: BaseException, *args: Any) -> None:
        exception.__init__(self, *(args or (message,)))

    return type(exception.__name__, (exception,), {"__init__": __init__, "__module__": exception.__module__})


class Watchdog:
    """Deadlines of running jobs (one a delivery thread at most), and the thread that enforces them."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._armed: dict[int, tuple[float, int, type[BaseException]]] = {}  # ticket -> (deadline, thread, exception)
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, exception: type[BaseException]) -> int:
        """Raise `exception` in the calling thread after `seconds` unless disarmed first; return the ticket."""
        deadline = time.monotonic() + seconds
        with self._lock:
            earliest = min((armed[0] for armed in self._armed.values()), default=None)
            ticket = next(self._tickets)
            self._armed[ticket] = (deadline, threading.get_ident(), exception)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="cxhub-job-watchdog", daemon=True)
                self._thread.start()
            elif earliest is None or deadline < earliest:
                self._lock.notify()  # the watchdog sleeps until the earliest deadline: this one is sooner
            return ticket

    def disarm(self, ticket: int) -> None:
        with self._lock:
            self._armed.pop(ticket, None)

    def _watch(self) -> None:
        with self._lock:
            while True:
                moment = time.monotonic()
                for ticket, (deadline, ident, exception) in list(self._armed.items()):
                    if deadline <= moment:
                        del self._armed[ticket]
                        _raise_in(ident, exception)
                earliest = min((armed[0] for armed in self._armed.values()), default=None)
                self._lock.wait(None if earliest is None else earliest - moment)


def _raise_in(ident: int, exception: type[BaseException]) -> None:
    """Raise `exception` in thread `ident` at its next bytecode, as RQ's TimerDeathPenalty does."""
    found = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exception))
    if found > 1:  # more than one thread state changed: undo, as the C API's documentation says to
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)
        log.error("could not stop the job of thread %d at its timeout", ident)


WATCHDOG = Watchdog()


class WatchdogDeathPenalty(BaseDeathPenalty):
    """RQ's job timeout (`Worker.death_penalty_class`), kept by the process's one `Watchdog` thread."""

    def __init__(self, timeout: float, exception: type[BaseException] = JobTimeoutException, **kwargs: Any) -> None:
        super().__init__(timeout, exception, **kwargs)
        self._ticket: int | None = None

    def setup_death_penalty(self) -> None:
        if self._timeout > 0:
            self._ticket = WATCHDOG.arm(self._timeout, timeout_exception(self._exception, self._timeout))

    def cancel_death_penalty(self) -> None:
        if self._ticket is not None:
            WATCHDOG.disarm(self._ticket)
            self._ticket = None
