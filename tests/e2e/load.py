"""A bounded load generator for the ingress: what a client hammering the app sees.

Open loop at a fixed rate (default 50 requests/s) — a slow server does not slow
the arrivals down — mixed GET /api/clients and POST /api/clients (one in three,
each creating a uniquely named client), from a pool of threads, to 127.0.0.1
only. It stops by itself after `max_seconds` even if nobody calls `stop()`.
Every answer other than 200/201, and every connection error or timeout, is a
failure. Each POST answered 201 is "acknowledged": its id is kept so the test
can check the row is in PostgreSQL afterwards.

Each request opens its own connection (like `hey -disable-keepalive`): this
measures what the server side drops. A client reusing an idle keep-alive
connection at the moment a server closes it can see a reset no server can
prevent; browsers retry those.
"""

from __future__ import annotations

import http.client
import json
import queue
import statistics
import threading
import time
from dataclasses import dataclass, field

from tests.support.probing import basic_auth

POST_EVERY = 3
TIMEOUT_S = 15.0
KEEP_FAILURES = 20


@dataclass
class Report:
    sent: int = 0
    ok: int = 0
    failures: list[str] = field(default_factory=list[str])
    failed: int = 0
    latencies_s: list[float] = field(default_factory=list[float])
    acknowledged: list[str] = field(default_factory=list[str])
    """Ids of the clients whose POST was answered 201."""
    failed_at: list[float] = field(default_factory=list[float])
    """When each failed request was sent, in seconds from the start."""
    seconds: float = 0.0

    @property
    def failing_s(self) -> float:
        """From the first failed request to the last one: how long clients saw errors."""
        return max(self.failed_at) - min(self.failed_at) if self.failed_at else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> str:
        rate = self.sent / self.seconds if self.seconds else 0.0
        median = statistics.median(self.latencies_s) * 1000 if self.latencies_s else float("nan")
        return (
            f"{self.sent} sent in {self.seconds:.1f}s ({rate:.0f}/s), {self.ok} ok, "
            f"{self.failed} failed, p50 {median:.0f} ms, p99 {self.percentile(99) * 1000:.0f} ms"
            + (f"; first failures: {self.failures[:5]}" if self.failures else "")
        )


class Load:
    """`with Load(port, user, password) as load: ...; report = load.report`."""

    def __init__(
        self,
        port: int,
        user: str,
        password: str,
        *,
        rate: float = 50.0,
        max_seconds: float = 300.0,
        workers: int = 16,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.host = host
        self.rate = rate
        self.max_seconds = max_seconds
        self.workers = workers
        self.auth = basic_auth(user, password)
        self.report = Report()
        self._jobs: queue.Queue[int | None] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._schedule, daemon=True)] + [
            threading.Thread(target=self._work, daemon=True) for _ in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> Report:
        """Stop sending, wait for the requests in flight, return the report."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=TIMEOUT_S + 5)
        self.report.seconds = time.monotonic() - self._started
        return self.report

    def _schedule(self) -> None:
        interval = 1.0 / self.rate
        deadline = self._started + self.max_seconds
        n = 0
        next_at = self._started
        while not self._stop.is_set() and next_at < deadline:
            delay = next_at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            self._jobs.put(n)
            n += 1
            next_at += interval
        for _ in range(self.workers):
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            n = self._jobs.get()
            if n is None:
                return
            self._one(n)

    def _one(self, n: int) -> None:
        post = n % POST_EVERY == POST_EVERY - 1
        body = (
            json.dumps({"firstName": "Load", "lastName": f"Client {n}", "phone": f"+52 {n}"})
            if post
            else None
        )
        started = time.monotonic()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
        try:
            headers = {"Authorization": self.auth, "Connection": "close"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request("POST" if post else "GET", "/api/clients", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
            error = None if status == (201 if post else 200) else f"HTTP {status} {payload[:120]!r}"
        except (OSError, http.client.HTTPException) as exc:
            status, payload, error = 0, b"", f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        took = time.monotonic() - started
        with self._lock:
            self.report.sent += 1
            self.report.latencies_s.append(took)
            if error is None:
                self.report.ok += 1
                if post:
                    self.report.acknowledged.append(str(json.loads(payload)["client"]["id"]))
            else:
                self.report.failed += 1
                self.report.failed_at.append(started - self._started)
                if len(self.report.failures) < KEEP_FAILURES:
                    self.report.failures.append(f"{'POST' if post else 'GET'} #{n}: {error}")
