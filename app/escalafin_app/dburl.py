"""Turn a Prisma-style DATABASE_URL into a libpq connection string.

Why: the deployment hands the same DATABASE_URL to this service and to the real
Next.js + Prisma app. Prisma accepts query parameters libpq rejects
(`?schema=public&connection_limit=5` makes libpq fail with "invalid URI query
parameter"), so they are dropped here; `schema` becomes the search_path.
lifecycle/db.py does the same for the ops tools; it is not imported from here
because the image's build context is app/ alone (the service stays self-contained).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .config import ConfigError

# Query parameters only Prisma's engine understands (libpq would refuse them).
PRISMA_ONLY = frozenset(
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
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class DatabaseTarget:
    conninfo: str = field(repr=False)
    schema: str | None  # None: the server's default search_path

    def options(self, statement_timeout_ms: int) -> str:
        """libpq `options` that bound every statement and select the Prisma schema."""
        opts = f"-c statement_timeout={statement_timeout_ms}"
        return f"{opts} -c search_path={self.schema}" if self.schema else opts


def parse(database_url: str) -> DatabaseTarget:
    parts = urlsplit(database_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for key, value in query if key == "schema"), None)
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise ConfigError(
            f"DATABASE_URL parameter schema={schema!r} is not a plain identifier "
            "(letters, digits, underscore)"
        )
    kept = urlencode([(key, value) for key, value in query if key not in PRISMA_ONLY])
    conninfo = urlunsplit(parts._replace(query=kept))
    return DatabaseTarget(conninfo, None if schema in (None, "public") else schema)
