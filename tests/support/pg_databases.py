"""A fresh database per test inside a shared PostgreSQL server (cheap isolation)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.support.services import Postgres


def url_for(server: Postgres, database: str, host: str | None = None) -> str:
    base = server.url_in_network(host) if host else server.url
    return base.rsplit("/", 1)[0] + f"/{database}"


@contextmanager
def fresh_database(server: Postgres) -> Iterator[str]:
    """Create an empty database, yield its URL (127.0.0.1), drop it afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield url_for(server, name)
    finally:
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
