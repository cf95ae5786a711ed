"""/api/clients: list the most recent clients (Redis-cached) and create one (PostgreSQL).

A real database-backed route, so a deploy under load exercises both stores.
The list is cached in Redis for a few seconds and invalidated by every create;
Redis being down only costs the cache (the list comes from PostgreSQL), while
a create is acknowledged (201 with the new id) only after its INSERT committed.
Parsing is pure (`parse_new_client`) and unit-tested without servers.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError

RECENT_KEY = "escalafin:clients:recent"
RECENT_TTL_S = 5
RECENT_LIMIT = 50
MAX_FIELD = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COLUMNS = ("id", "firstName", "lastName", "email", "phone", "status", "createdAt")

log = logging.getLogger("escalafin.clients")


class InvalidClient(ValueError):
    """The request body is not a valid new client; the message says which field and why."""


@dataclass(frozen=True)
class NewClient:
    first_name: str
    last_name: str
    phone: str
    email: str | None


def parse_new_client(body: bytes) -> NewClient:
    """{"firstName", "lastName", "phone", "email"?} → NewClient, or InvalidClient."""
    try:
        data: Any = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidClient("body must be a JSON object") from None
    if not isinstance(data, dict):
        raise InvalidClient("body must be a JSON object")
    fields: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    email = _text(fields, "email", required=False)
    if email is not None and not _EMAIL.match(email):
        raise InvalidClient("email must look like name@example.com")
    return NewClient(
        first_name=str(_text(fields, "firstName")),
        last_name=str(_text(fields, "lastName")),
        phone=str(_text(fields, "phone")),
        email=email,
    )


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidClient(f"{key} is required (a non-empty string)")
    if len(value) > MAX_FIELD:
        raise InvalidClient(f"{key} is longer than {MAX_FIELD} characters")
    return value.strip()


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    record: dict[str, Any] = dict(zip(COLUMNS, row, strict=True))
    created = record["createdAt"]
    if isinstance(created, datetime):
        record["createdAt"] = created.isoformat()
    return record


_SELECT = ", ".join(f'"{c}"' for c in COLUMNS)


class ClientStore:
    def __init__(self, pool: AsyncConnectionPool, redis: Redis) -> None:
        self._pool = pool
        self._redis = redis

    async def recent(self) -> tuple[list[dict[str, Any]], bool]:
        """(the newest clients, whether they came from the cache)."""
        try:
            cached = await self._redis.get(RECENT_KEY)
        except RedisError as error:
            log.warning("clients cache read failed (%s)", type(error).__name__)
            cached = None
        if cached:
            return json.loads(cached), True
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f'SELECT {_SELECT} FROM "clients" ORDER BY "createdAt" DESC, "id" LIMIT %s',
                (RECENT_LIMIT,),
            )
            clients = [_row(row) for row in await cursor.fetchall()]
        try:
            await self._redis.set(RECENT_KEY, json.dumps(clients), ex=RECENT_TTL_S)
        except RedisError as error:
            log.warning("clients cache write failed (%s)", type(error).__name__)
        return clients, False

    async def create(self, new: NewClient, advisor_id: str | None) -> dict[str, Any]:
        """INSERT (committed: the pool's connections autocommit), then drop the cached list."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                'INSERT INTO "clients" ("id", "firstName", "lastName", "email", "phone", '
                f'"advisorId", "updatedAt") VALUES (%s, %s, %s, %s, %s, %s, now()) '
                f"RETURNING {_SELECT}",
                (
                    str(uuid.uuid4()),
                    new.first_name,
                    new.last_name,
                    new.email,
                    new.phone,
                    advisor_id,
                ),
            )
            row = await cursor.fetchone()
        if row is None:
            raise RuntimeError("INSERT ... RETURNING returned no row")
        try:
            await self._redis.delete(RECENT_KEY)
        except RedisError as error:  # the cached list expires within RECENT_TTL_S anyway
            log.warning("clients cache invalidation failed (%s)", type(error).__name__)
        return _row(row)
