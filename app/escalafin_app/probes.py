"""PostgreSQL and Redis connections for the process lifetime, and bounded checks.

Why bounded this way: a hung PostgreSQL (paused, network black hole) must not
stall /api/health past the orchestrator's healthcheck timeout. psycopg, when a
query is cancelled, tries to cancel it server-side and waits for it (up to 10 s),
so `asyncio.wait_for` would block on that cleanup. Each check therefore runs as
its own task; on timeout the task is cancelled and left to finish in the
background while the answer goes out. statement_timeout and connect_timeout
bound the server side and the connect phase too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from . import dburl
from .config import Settings
from .report import Probe

CHECK_TIMEOUT_S = 3.0  # whole check, per dependency; both run concurrently
POOL_WAIT_S = 2.0  # waiting for a free pooled connection
CONNECT_TIMEOUT_S = 2  # libpq connect_timeout (its minimum useful value)
STATEMENT_TIMEOUT_MS = 2000
REDIS_TIMEOUT_S = 2.0

log = logging.getLogger("escalafin.health")
T = TypeVar("T")
_detached: set[asyncio.Task[Any]] = set()  # timed-out checks still unwinding


async def bounded(check: Coroutine[Any, Any, T], timeout: float, what: str) -> T | None:
    """The check's result, or None if it failed or missed the deadline.

    Failures are logged by exception class only: messages can carry host names.
    """
    task = asyncio.ensure_future(check)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task not in done:
        task.cancel()
        _detached.add(task)
        task.add_done_callback(_forget)
        log.warning("%s check timed out after %.1fs", what, timeout)
        return None
    if task.cancelled():
        return None
    error = task.exception()
    if error is not None:
        log.warning("%s check failed (%s)", what, type(error).__name__)
        return None
    return task.result()


def _forget(task: asyncio.Task[Any]) -> None:
    _detached.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it with its message


class Dependencies:
    """Owns the connection pool and the Redis client; opened and closed by the lifespan."""

    def __init__(self, settings: Settings) -> None:
        target = dburl.parse(settings.database_url)
        self._pool = AsyncConnectionPool(
            target.conninfo,
            min_size=1,
            max_size=4,
            timeout=POOL_WAIT_S,
            open=False,
            name="escalafin",
            check=AsyncConnectionPool.check_connection,
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT_S,
                "options": target.options(STATEMENT_TIMEOUT_MS),
                "application_name": "escalafin-app",
            },
        )
        self._redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        return self._pool

    @property
    def redis(self) -> Redis:
        return self._redis

    async def open(self) -> None:
        # wait=False: start even while PostgreSQL is down; /api/health reports it.
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close(timeout=5.0)
        await self._redis.aclose()

    async def probe(self) -> Probe:
        database, redis_ok = await asyncio.gather(
            bounded(self._database(), CHECK_TIMEOUT_S, "database"),
            bounded(self._ping(), CHECK_TIMEOUT_S, "redis"),
        )
        connected, users = database if database is not None else (False, None)
        return Probe(database=connected, redis=bool(redis_ok), users=users)

    async def _database(self) -> tuple[bool, int | None]:
        """(answered SELECT 1, user count or None when the users table is unusable)."""
        async with self._pool.connection() as conn:
            await conn.execute("SELECT 1")
            try:
                cursor = await conn.execute('SELECT count(*) FROM "users"')
                row = await cursor.fetchone()
            except psycopg.Error as error:  # e.g. no schema yet: migrations not applied
                log.warning("users count failed (%s)", type(error).__name__)
                return True, None
            return True, int(row[0]) if row else 0

    async def _ping(self) -> bool:
        return bool(await self._redis.ping())
