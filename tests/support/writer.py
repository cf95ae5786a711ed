"""A bounded writer: ~20 acknowledged inserts a second into one table, for restore tests.

It plays every client the restore does not know about (a second replica, a worker, a cron
job): it connects as the database's own user (a superuser in the official image), inserts
one row per tick with autocommit and records the ids PostgreSQL acknowledged. When the
database refuses or drops it, it reconnects on the next tick. It stops by itself after
`max_seconds` (loopback only, bounded in count and time).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import psycopg

TABLE_DDL = "CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"


@dataclass
class Writer:
    url: str
    per_second: float = 20.0
    max_seconds: float = 30.0
    acknowledged: list[int] = field(default_factory=list[int])
    refused: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Writer:
        self._thread = threading.Thread(target=self._run, name="bounded-writer", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait_for(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"writer acknowledged only {self.acknowledged}"
            time.sleep(0.05)

    def _run(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        next_id = 1
        started = time.monotonic()
        tick = 1 / self.per_second
        while not self._stop.is_set() and time.monotonic() - started < self.max_seconds:
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.url, autocommit=True, connect_timeout=2)
                conn.execute("INSERT INTO writes (id) VALUES (%s)", (next_id,))
                self.acknowledged.append(next_id)
            except psycopg.Error:
                self.refused += 1
                if conn is not None:
                    conn.close()
                conn = None
            next_id += 1  # an id whose insert failed is never reused: it was not acknowledged
            self._stop.wait(tick)
        if conn is not None:
            conn.close()
