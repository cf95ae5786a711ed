"""The /api/health document, built from probe outcomes only.

Why pure: the body may contain nothing but these fixed fields, so no exception
text, DSN, host name or stack trace can ever leak into it; tests check that
directly without any server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Probe:
    database: bool  # PostgreSQL answered SELECT 1 in time
    redis: bool  # Redis answered PING in time
    users: int | None  # rows in "users"; None when unknown (down, slow, no schema yet)


def iso_timestamp(now: datetime) -> str:
    """Millisecond UTC timestamp, the shape JavaScript's toISOString() gives."""
    utc = now.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def health(
    probe: Probe, *, version: str, environment: str, now: datetime
) -> tuple[int, dict[str, object]]:
    """HTTP status and body: 200 only when every dependency and the schema answer."""
    healthy = probe.database and probe.redis and probe.users is not None
    body: dict[str, object] = {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": iso_timestamp(now),
        "database": "connected" if probe.database else "disconnected",
        "redis": "connected" if probe.redis else "disconnected",
        "users": probe.users,
        "version": version,
        "environment": environment,
    }
    return (200 if healthy else 503), body
