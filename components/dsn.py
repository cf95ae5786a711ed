"""Connection URLs built from parts, with every part percent-encoded.

A password is free text (secret config accepts any characters, and people do choose
`#`, `/`, `?`, `%`, `@`, `:` or quotes). Concatenated raw into a URL, such a character ends
the userinfo early: the URL then names another host, path or fragment, libpq and
redis-py misread it, and the redaction that keeps DSNs out of logs cannot find the password
to hide. Encoding each part (RFC 3986 userinfo, `quote(..., safe="")`) keeps the URL
well-formed; libpq, Prisma, psycopg and redis-py all decode it. Pure functions, applied to
Outputs by the components.
"""

from __future__ import annotations

from urllib.parse import quote


def _part(value: str) -> str:
    return quote(value, safe="")


def postgres_url(user: str, password: str, host: str, port: int, database: str) -> str:
    """postgresql://user:password@host:port/database, each part percent-encoded."""
    return f"postgresql://{_part(user)}:{_part(password)}@{host}:{port}/{_part(database)}"


def redis_url(password: str, host: str, port: int, db: int = 0) -> str:
    """redis://:password@host:port/db with the password percent-encoded."""
    return f"redis://:{_part(password)}@{host}:{port}/{db}"
