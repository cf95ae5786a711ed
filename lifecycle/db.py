"""Connections to PostgreSQL from Prisma-style URLs.

Teams keep one DATABASE_URL for Prisma and for these tools. Prisma URLs carry query
parameters libpq rejects (`schema`, `connection_limit`, ...); this module turns them into
a libpq conninfo (the `schema` becomes the session's search_path, as Prisma does) so the
same URL works everywhere. Shared by migrations, seed, backup and restore.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import conninfo

# Query parameters only Prisma understands; libpq would reject them.
PRISMA_ONLY_PARAMS: Final = frozenset(
    {
        "schema",
        "connection_limit",
        "pool_timeout",
        "pgbouncer",
        "statement_cache_size",
        "socket_timeout",
        "sslaccept",
        "sslidentity",
    }
)
DEFAULT_CONNECT_TIMEOUT_S: Final = 10
URL_SCHEMES: Final = ("postgresql", "postgres")


class DatabaseUrlError(ValueError):
    """The database URL is not a usable PostgreSQL URL (message never contains the password)."""


def _split(url: str) -> tuple[str, dict[str, str]]:
    """Validate a URL and return (url without query, query params)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise DatabaseUrlError(f"database URL is malformed: {exc}") from None
    if parts.scheme not in URL_SCHEMES:
        raise DatabaseUrlError(
            f"database URL scheme {parts.scheme!r} is not supported; "
            f"allowed: {', '.join(s + '://' for s in URL_SCHEMES)}"
        )
    if not parts.hostname:
        raise DatabaseUrlError("database URL has no host")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return base, dict(parse_qsl(parts.query, keep_blank_values=True))


def schema_of(url: str) -> str:
    """The schema Prisma would use for this URL (`?schema=`, default `public`)."""
    return _split(url)[1].get("schema") or "public"


def to_conninfo(url: str, *, application_name: str = "escalafin-lifecycle") -> str:
    """A libpq conninfo for a Prisma-style URL: Prisma-only params dropped, schema → search_path."""
    base, params = _split(url)
    schema = params.get("schema")
    libpq_params = {k: v for k, v in params.items() if k not in PRISMA_ONLY_PARAMS}
    libpq_params.setdefault("connect_timeout", str(DEFAULT_CONNECT_TIMEOUT_S))
    libpq_params.setdefault("application_name", application_name)
    # Text must come back as str even from SQL_ASCII servers (psycopg returns bytes there).
    libpq_params.setdefault("client_encoding", "UTF8")
    if schema:
        quoted = '"' + schema.replace('"', '""') + '"'
        options = libpq_params.get("options", "")
        libpq_params["options"] = f"{options} -c search_path={quoted}".strip()
    return conninfo.make_conninfo(f"{base}?{urlencode(libpq_params, quote_via=quote)}")


def redact(url: str) -> str:
    """The URL with its password replaced, safe for logs and error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed database URL>"
    if parts.password is None:
        return url
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, ""))


def connect(
    url: str, *, autocommit: bool = True, application_name: str = "escalafin-lifecycle"
) -> psycopg.Connection[tuple[object, ...]]:
    """Open one connection; errors name the redacted URL, never the password."""
    try:
        return psycopg.connect(
            to_conninfo(url, application_name=application_name), autocommit=autocommit
        )
    except psycopg.OperationalError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConnectionFailed(f"cannot connect to {redact(url)}: {message}") from None


class ConnectionFailed(RuntimeError):
    """PostgreSQL could not be reached or refused the login."""
