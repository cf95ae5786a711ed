"""Connections to PostgreSQL from Prisma-style URLs.

Teams keep one DATABASE_URL for Prisma and for these tools. Prisma URLs carry query
parameters libpq rejects (`schema`, `connection_limit`, ...); this module turns them into
a libpq conninfo (the `schema` becomes the session's search_path, as Prisma does) so the
same URL works everywhere. Shared by migrations, seed, backup and restore.
"""

from __future__ import annotations

import contextlib
import re
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
# A dead or partitioned server is noticed within ~25 s even while a long statement (a
# migration building an index) sends nothing: TCP keepalive probes after 10 s idle, every
# 5 s, 3 unanswered = dead; and data left unacknowledged for 30 s closes the connection.
# A live server answers probes from its kernel, so long statements are never cut short.
# Each can be overridden in the URL's query (libpq keywords).
CONNECTION_DEFAULTS: Final = {
    "connect_timeout": str(DEFAULT_CONNECT_TIMEOUT_S),
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}
_UNENCODED: Final = (
    "the database URL's user or password contains characters that must be percent-encoded "
    "(one of @ / ? # or a % not followed by two hex digits): encode them, e.g. with "
    "urllib.parse.quote(password, safe=''), as the stack does (the URL is not shown: it "
    "holds a secret)"
)


class DatabaseUrlError(ValueError):
    """The database URL is not a usable PostgreSQL URL (message never contains the password)."""


def _split(url: str) -> tuple[str, dict[str, str]]:
    """Validate a URL and return (url without query, query params)."""
    check_userinfo(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise DatabaseUrlError(f"database URL is malformed: {scrub(str(exc), url)}") from None
    if parts.scheme not in URL_SCHEMES:
        raise DatabaseUrlError(
            f"database URL scheme {parts.scheme!r} is not supported; "
            f"allowed: {', '.join(s + '://' for s in URL_SCHEMES)}"
        )
    if not parts.hostname:
        raise DatabaseUrlError("database URL has no host")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return base, dict(parse_qsl(parts.query, keep_blank_values=True))


def check_userinfo(url: str) -> None:
    """Refuse a URL whose user or password was not percent-encoded, without echoing it.

    A raw `/`, `?` or `#` ends the authority early (the rest of the password becomes a
    path, query or fragment, and the "host" is part of the password); a raw `@` splits it
    in another place for libpq than for Python; a stray `%` decodes to something else.
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    authority, after = rest[: min(ends, default=len(rest))], rest[min(ends, default=len(rest)) :]
    if "@" not in authority:
        if "@" in after:
            raise DatabaseUrlError(_UNENCODED)
        return
    userinfo = authority.rsplit("@", 1)[0]
    if "@" in userinfo or re.search(r"%(?![0-9A-Fa-f]{2})", userinfo):
        raise DatabaseUrlError(_UNENCODED)


def scrub(text: str, url: str) -> str:
    """`text` with the URL's password (as written, decoded or encoded) replaced by ***."""
    password = ""
    with contextlib.suppress(ValueError):
        password = urlsplit(url).password or ""
    rest = url.split("://", 1)[-1]
    raw_userinfo = rest.rsplit("@", 1)[0] if "@" in rest else ""
    raw_password = raw_userinfo.split(":", 1)[1] if ":" in raw_userinfo else ""
    for secret in sorted({password, unquote(password), raw_password, url}, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def schema_of(url: str) -> str:
    """The schema Prisma would use for this URL (`?schema=`, default `public`)."""
    return _split(url)[1].get("schema") or "public"


def to_conninfo(url: str, *, application_name: str = "escalafin-lifecycle") -> str:
    """A libpq conninfo for a Prisma-style URL: Prisma-only params dropped, schema → search_path."""
    base, params = _split(url)
    schema = params.get("schema")
    libpq_params = {k: v for k, v in params.items() if k not in PRISMA_ONLY_PARAMS}
    for key, value in CONNECTION_DEFAULTS.items():
        libpq_params.setdefault(key, value)
    libpq_params.setdefault("application_name", application_name)
    # Text must come back as str even from SQL_ASCII servers (psycopg returns bytes there).
    libpq_params.setdefault("client_encoding", "UTF8")
    if schema:
        quoted = '"' + schema.replace('"', '""') + '"'
        options = libpq_params.get("options", "")
        libpq_params["options"] = f"{options} -c search_path={quoted}".strip()
    try:
        return conninfo.make_conninfo(f"{base}?{urlencode(libpq_params, quote_via=quote)}")
    except psycopg.Error as exc:
        raise DatabaseUrlError(f"libpq rejects the database URL: {scrub(str(exc), url)}") from None


def redact(url: str) -> str:
    """The URL with its password replaced, safe for logs and error messages."""
    try:
        check_userinfo(url)
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except (DatabaseUrlError, ValueError):
        return "<database URL not shown: malformed, and it may hold a secret>"
    if parts.password is None:
        return url
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
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
        raise ConnectionFailed(f"cannot connect to {redact(url)}: {scrub(message, url)}") from None


class ConnectionFailed(RuntimeError):
    """PostgreSQL could not be reached or refused the login."""
