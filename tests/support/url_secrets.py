"""A database role whose password holds every character that breaks a hand-made URL, for
the end-to-end tests that secrets of any shape work and are never printed (issue 10,
item 3)."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import psycopg
from psycopg import sql

from components.dsn import postgres_url
from tests.support import services

# What a person may well choose; every one of these characters means something in a URL.
SPECIAL = "#/?%@:'"


def special_role(server: services.Postgres) -> tuple[str, str]:
    """A new superuser (like the stack's POSTGRES_USER) and its password."""
    role = f"esc_{uuid.uuid4().hex[:8]}"
    password = f"p{SPECIAL}x{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    return role, password


def url_as(role: str, password: str, host: str, port: int, database: str) -> str:
    return postgres_url(role, password, host, port, database)


def leaks(text: str, password: str) -> list[str]:
    """The forms of the password found in `text` (raw, encoded, or its distinctive tail)."""
    forms = {password, quote(password, safe=""), password[len(SPECIAL) + 1 :]}
    return [form for form in forms if form in text]
