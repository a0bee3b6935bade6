"""This database's own WAL on a shared PostgreSQL server, read with `pg_waldump -f` as it is written.

The server's WAL position (pg_current_wal_lsn) counts the records of every database, so on a
server others use it says little about one run. pg_waldump names the relation (`rel
SPC/DATABASE/REL`) each record changes: the records of this database, and the commit records of
their transactions, are this run's WAL. It needs the server's `pg_wal` directory readable here
(a local server, the bench run as root or postgres) and the superuser's `SHOW data_directory`;
otherwise `figures` returns None.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import psycopg

from bench.processes import Processes

RECORD = re.compile(r"len \(rec/tot\):\s*\d+/\s*(\d+), tx:\s*(\d+), lsn: ([0-9A-F]+/[0-9A-F]+)")


def lsn_value(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def database_wal(lines: list[str], oid: int, start: int, end: int) -> dict[str, float]:
    """Bytes and full-page images of the pg_waldump records in [start, end) that touch relations of database
    `oid` (`rel SPC/OID/REL` in a block reference), with the commit records of their transactions."""
    ours, transactions, commits = f"/{oid}/", set(), []
    found = {"bytes": 0.0, "records": 0.0, "full_page_images": 0.0}
    for line in lines:
        match = RECORD.search(line)
        if not match or not start <= lsn_value(match[3]) < end:
            continue
        if ours in line and "rel " in line:
            found["bytes"] += int(match[1])
            found["records"] += 1
            found["full_page_images"] += line.count(" FPW")
            transactions.add(match[2])
        elif "COMMIT" in line:
            commits.append((match[2], int(match[1])))
    ours_committed = [size for transaction, size in commits if transaction in transactions]
    found["bytes"] += sum(ours_committed)
    found["records"] += len(ours_committed)
    return found


class DatabaseWal:
    """`pg_waldump -f` reading the server's WAL from a run's start, kept to the lines of this database and
    commits (grep), in a log file; a shared server's WAL then counts this database's records alone."""

    def __init__(self, processes: Processes, query1: Callable[..., Any], database: str, start_lsn: str) -> None:
        """Start following from the WAL segment holding `start_lsn`, if this server's WAL can be read here;
        `query1` runs one query on the database and returns its first value."""
        self.processes, self.process, self.log = processes, None, Path()
        self.oid = int(query1("SELECT oid FROM pg_database WHERE datname = %s", database))
        major = int(query1("SHOW server_version_num")) // 10000  # pg_waldump reads only its own version's WAL
        waldump = next((path for path in (f"/usr/lib/postgresql/{major}/bin/pg_waldump", shutil.which("pg_waldump"))
                        if path and os.access(path, os.X_OK)), None)
        try:
            directory = Path(query1("SHOW data_directory")) / "pg_wal"
        except psycopg.Error:  # not a superuser: the server will not say where it keeps its WAL
            return
        if not waldump or not os.access(directory, os.R_OK):
            return
        segment = lsn_value(start_lsn) & ~0xFFFFFF  # a segment's start always begins a record
        script = (f"{waldump} -f -p {directory} -s {segment >> 32:X}/{segment & 0xFFFFFFFF:X} 2>/dev/null"
                  f" | grep --line-buffered -E 'rel [0-9]+/{self.oid}/|COMMIT'")
        self.process = processes.start("waldump", ["sh", "-c", script])
        self.log = processes.logs / f"waldump-{len(processes.started) - 1}.log"  # where Processes.start logs it

    def figures(self, start_lsn: str, end_lsn: str) -> dict[str, float] | None:
        """This database's WAL between the two positions, once pg_waldump has read past the end (or 15 s)."""
        if self.process is None:
            return None
        start, end = lsn_value(start_lsn), lsn_value(end_lsn)

        def read_past_end() -> bool:
            tail = self.log.read_text(errors="replace").rstrip().rsplit("\n", 1)[-1]
            match = RECORD.search(tail)
            return match is not None and lsn_value(match[3]) >= end

        deadline = time.monotonic() + 15
        while not read_past_end() and time.monotonic() < deadline:
            time.sleep(0.5)
        self.processes.stop(self.process)
        return database_wal(self.log.read_text(errors="replace").splitlines(), self.oid, start, end)
