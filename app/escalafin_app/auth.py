"""HTTP Basic authentication against the seeded `users` table (bcrypt hashes).

The client routes carry personal data, so they need a user: ADMIN or ADVISOR,
status ACTIVE. A successful check is remembered for a minute per (email,
password digest), and concurrent requests with the same credentials share one
check, so load does not mean one bcrypt per request — nor a queue of them
when a fresh replica takes its first burst. bcrypt runs in a worker thread, at
most two at a time, so bad passwords cannot starve the event loop. Parsing is
pure and unit-tested.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from dataclasses import dataclass

import bcrypt
from psycopg_pool import AsyncConnectionPool

ALLOWED_ROLES = frozenset({"ADMIN", "ADVISOR"})
REMEMBER_S = 60.0
CHALLENGE = 'Basic realm="EscalaFin", charset="UTF-8"'


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """`Basic base64(email:password)` → (email, password); None for anything else."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, sep, password = decoded.partition(":")
    if not sep or not email or not password:
        return None
    return email, password


class Authenticator:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._remembered: dict[bytes, tuple[float, Principal]] = {}
        self._bcrypt_slots = asyncio.Semaphore(2)
        self._checking: dict[bytes, asyncio.Future[Principal | None]] = {}

    async def authenticate(self, header: str | None) -> Principal | None:
        """The user behind the header (any role), or None: unknown, inactive, wrong password."""
        credentials = parse_basic(header)
        if credentials is None:
            return None
        email, password = credentials
        key = hashlib.sha256(f"{email}\0{password}".encode()).digest()
        remembered = self._remembered.get(key)
        if remembered and remembered[0] > time.monotonic():
            return remembered[1]
        pending = self._checking.get(key)
        if pending is None:  # one check per credentials at a time; the others wait for it
            pending = asyncio.ensure_future(self._check(key, email, password))
            self._checking[key] = pending
            pending.add_done_callback(lambda _: self._checking.pop(key, None))
        return await asyncio.shield(pending)

    async def _check(self, key: bytes, email: str, password: str) -> Principal | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                'SELECT "id", "password", "role"::text, "status"::text FROM "users" '
                'WHERE "email" = %s',
                (email,),
            )
            row = await cursor.fetchone()
        if row is None or row[3] != "ACTIVE":
            return None
        async with self._bcrypt_slots:
            matches = await asyncio.to_thread(bcrypt.checkpw, password.encode(), row[1].encode())
        if not matches:
            return None
        principal = Principal(user_id=str(row[0]), role=str(row[2]))
        self._remembered[key] = (time.monotonic() + REMEMBER_S, principal)
        return principal
