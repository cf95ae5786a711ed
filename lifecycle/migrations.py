"""Apply, inspect and resolve Prisma-compatible migrations on one PostgreSQL connection.

Bookkeeping is exactly Prisma Migrate's (`_prisma_migrations`, advisory lock 72707369, the
same row updates in the same order); planning rules live in `migration_plan` (pure).
Each script is sent as ONE simple-protocol query on an autocommit connection, so PostgreSQL
runs it as one implicit transaction, a lone `CREATE INDEX CONCURRENTLY` works, and scripts
with their own BEGIN/COMMIT keep their meaning. Bookkeeping uses separate statements.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, cast

import psycopg
from psycopg import sql

from lifecycle.migration_plan import (
    LocalMigration,
    MigrationRow,
    Plan,
    apply_error_logs,
    failed_migrations_message,
    plan,
)

log = logging.getLogger("lifecycle.migrate")

ADVISORY_LOCK_ID: Final = 72707369  # Prisma Migrate's lock: mutual exclusion with Prisma too
DEFAULT_LOCK_TIMEOUT_S: Final = 60.0
TABLE: Final = "_prisma_migrations"
# Prisma's DDL (sql-schema-connector, postgres flavour), made idempotent.
CREATE_TABLE: Final = """CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)"""
_INTERRUPTED_NOTE: Final = (
    "Interrupted: the connection or the runner died while the script ran and no failure was "
    "recorded. The script is one implicit transaction, so PostgreSQL rolled it back entirely; "
    "marked rolled back by escalafin lifecycle.migrate and applied again."
)
_CONNECTION_LOST_CLASSES: Final = ("08", "57P")

Conn = psycopg.Connection[tuple[object, ...]]


class MigrateError(RuntimeError):
    """A migration command could not complete; `exit_code` is what the CLI returns."""

    exit_code = 3


class UsageError(MigrateError):
    """The request itself is wrong (unknown migration name, bad folder, ...)."""

    exit_code = 2


class BlockedError(MigrateError):
    """The database refuses further migrations until a person acts (P3009, P3005)."""

    exit_code = 3


class ApplyError(MigrateError):
    """A script failed; its row keeps the error in `logs` and blocks later runs (P3018)."""

    exit_code = 3


class LockTimeoutError(MigrateError):
    """Another runner (or Prisma) held the advisory lock for longer than the timeout."""

    exit_code = 4


class ConnectionLostError(MigrateError):
    """The connection died mid-script; PostgreSQL rolled the script's transaction back."""

    exit_code = 4


@dataclass(frozen=True)
class DeployResult:
    applied: list[str]
    already_applied: int
    recovered: list[str] = field(default_factory=list[str])
    duration_ms: float = 0.0
    checksum_changed: list[str] = field(default_factory=list[str])
    """Applied migrations whose file was edited since: reported, never re-run."""


# --- lock, table, rows ------------------------------------------------------------------------


def acquire_lock(conn: Conn, timeout_s: float) -> None:
    """Session-level advisory lock 72707369, waiting at most `timeout_s`.

    Polls pg_try_advisory_lock instead of blocking in pg_advisory_lock: a session blocked
    inside a statement holds a snapshot, and the other runner's `CREATE INDEX CONCURRENTLY`
    waits for every such snapshot — a deadlock PostgreSQL resolves by killing one of them.
    """
    started = time.monotonic()
    delay = 0.02
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(72707369)").fetchone()
        if row == (True,):
            break
        if time.monotonic() - started >= timeout_s:
            raise LockTimeoutError(
                f"timed out after {timeout_s:g}s waiting for the migration advisory lock "
                f"{ADVISORY_LOCK_ID}: another runner (this tool or `prisma migrate`) is applying "
                "migrations on this database; retry when it finishes"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    log.debug(
        "advisory lock %s acquired in %.1f ms",
        ADVISORY_LOCK_ID,
        (time.monotonic() - started) * 1000,
    )


def release_lock(conn: Conn) -> None:
    if not conn.closed:
        conn.execute("SELECT pg_advisory_unlock(72707369)")


def _table_state(conn: Conn) -> tuple[bool, list[str]]:
    """(migrations table exists, other tables in the current schema) in one round trip."""
    row = conn.execute(
        "SELECT coalesce(bool_or(tablename = %(t)s), false), "
        "coalesce(array_agg(tablename::text ORDER BY tablename) "
        "FILTER (WHERE tablename <> %(t)s), '{}') "
        "FROM pg_tables WHERE schemaname = current_schema()",
        {"t": TABLE},
    ).fetchone()
    assert row is not None
    return cast(bool, row[0]), cast(list[str], row[1])


def fetch_rows(conn: Conn) -> list[MigrationRow]:
    """All bookkeeping rows in one query, oldest first (empty when the table is missing)."""
    exists, _ = _table_state(conn)
    return _rows(conn) if exists else []


def _rows(conn: Conn) -> list[MigrationRow]:
    cur = conn.execute(
        "SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, "
        "applied_steps_count FROM _prisma_migrations ORDER BY started_at ASC"
    )
    return [
        MigrationRow(
            id=cast(str, r[0]),
            checksum=cast(str, r[1]),
            finished_at=cast("datetime | None", r[2]),
            migration_name=cast(str, r[3]),
            logs=cast("str | None", r[4]),
            rolled_back_at=cast("datetime | None", r[5]),
            started_at=cast(datetime, r[6]),
            applied_steps_count=cast(int, r[7]),
        )
        for r in cur.fetchall()
    ]


def _initialize(conn: Conn) -> list[MigrationRow]:
    """Prisma's `initialize`: create the table on an empty schema, refuse a non-empty one."""
    exists, others = _table_state(conn)
    if exists:
        return _rows(conn)
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise BlockedError(
            f"the database schema is not empty (tables: {shown}) and has no {TABLE} table "
            "(Prisma P3005): baseline it first by marking the migrations that already "
            "exist as applied: `python -m lifecycle.migrate resolve --applied NAME`"
        )
    conn.execute(CREATE_TABLE)
    return []


# --- commands -----------------------------------------------------------------------------------


def status(conn: Conn, local: Sequence[LocalMigration]) -> Plan:
    """The plan as of now, without the lock (read only)."""
    return plan(local, fetch_rows(conn))


def deploy(
    conn: Conn, local: Sequence[LocalMigration], lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
) -> DeployResult:
    """Apply every pending migration in order under the advisory lock (`migrate deploy`)."""
    started = time.monotonic()
    acquire_lock(conn, lock_timeout_s)
    try:
        current = plan(local, _initialize(conn))
        if current.failed:
            raise BlockedError(failed_migrations_message(current.failed))
        for row in current.retryable:
            conn.execute(
                "UPDATE _prisma_migrations SET rolled_back_at = now(), logs = %s WHERE id = %s",
                (_INTERRUPTED_NOTE, row.id),
            )
            log.warning(
                "migration %s was interrupted earlier; marked rolled back, retrying",
                row.migration_name,
            )
        for name in current.checksum_changed:
            log.warning(
                "migration %s was edited after it was applied (checksum differs): it is not "
                "run again; put the change in a new migration",
                name,
            )
        applied = [_apply_one(conn, migration) for migration in current.pending]
    finally:
        if not conn.closed:
            release_lock(conn)
    total_ms = (time.monotonic() - started) * 1000
    log.info(
        "deploy: %d applied, %d already applied, %.1f ms",
        len(applied),
        len(current.applied),
        total_ms,
    )
    return DeployResult(
        applied,
        len(current.applied),
        [r.migration_name for r in current.retryable],
        total_ms,
        current.checksum_changed,
    )


def _apply_one(conn: Conn, migration: LocalMigration) -> str:
    started = time.monotonic()
    migration_id = str(uuid.uuid4())
    # The start row is committed without waiting for the WAL flush: the script's own commit
    # (or the failure/finish update) right after is synchronous and flushes it too, because
    # WAL is written in order. Saves one fsync per migration, loses no guarantee.
    conn.execute(
        sql.SQL(
            "BEGIN; SET LOCAL synchronous_commit = off; INSERT INTO _prisma_migrations "
            "(id, checksum, started_at, migration_name) VALUES ({}, {}, now(), {}); COMMIT"
        ).format(
            sql.Literal(migration_id), sql.Literal(migration.checksum), sql.Literal(migration.name)
        )
    )
    script = migration.sql
    try:
        # The file's exact bytes and no parameters: psycopg sends one simple-protocol Query.
        conn.cursor().execute(migration.script)
    except psycopg.Error as exc:
        if conn.closed or (exc.sqlstate or "").startswith(_CONNECTION_LOST_CLASSES):
            raise ConnectionLostError(
                f"lost the database connection while applying `{migration.name}` "
                f"({_first_line(exc)}). PostgreSQL rolls back the unfinished script; the next "
                "run retries it (or reports it blocking if the script manages its own "
                "transactions)"
            ) from None
        logs = apply_error_logs(
            migration.name, exc.sqlstate, _database_error(exc), script, _position(exc)
        )
        conn.execute("UPDATE _prisma_migrations SET logs = %s WHERE id = %s", (logs, migration_id))
        raise ApplyError(
            f"migration `{migration.name}` failed (Prisma P3018), database error "
            f"{exc.sqlstate or 'none'}: {_first_line(exc)}. It is recorded as failed and blocks "
            "further runs until resolved (fix it, then `resolve --rolled-back` and redeploy)"
        ) from None
    # Prisma records the step and the finish in two updates; one gives the same row.
    conn.execute(
        "UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1, "
        "finished_at = now() WHERE id = %s",
        (migration_id,),
    )
    log.info(
        "applied %s in %.1f ms (%d bytes)",
        migration.name,
        (time.monotonic() - started) * 1000,
        len(migration.script),
    )
    return migration.name


def resolve_applied(
    conn: Conn,
    local: Sequence[LocalMigration],
    name: str,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> None:
    """`migrate resolve --applied NAME`: record NAME as applied without running it."""
    migration = next((m for m in local if m.name == name), None)
    if migration is None:
        raise UsageError(
            f"migration `{name}` is not in the migrations folder (P3017); pass the whole "
            "folder name, e.g. 20201207184859_initial_migration"
        )
    acquire_lock(conn, lock_timeout_s)
    try:
        exists, _ = _table_state(conn)
        if not exists:
            conn.execute(CREATE_TABLE)
        rows = [r for r in (_rows(conn) if exists else []) if r.migration_name == name]
        if any(r.finished_at is not None for r in rows):
            raise UsageError(
                f"the migration `{name}` is already recorded as applied in the database (P3008)"
            )
        for row in rows:
            if row.unfinished:
                conn.execute(
                    "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = %s", (row.id,)
                )
        conn.execute(
            "INSERT INTO _prisma_migrations "
            "(id, checksum, logs, started_at, finished_at, migration_name) "
            "VALUES (%s, %s, '', now(), now(), %s)",
            (str(uuid.uuid4()), migration.checksum, name),
        )
    finally:
        release_lock(conn)
    log.info("resolved %s as applied", name)


def resolve_rolled_back(
    conn: Conn, name: str, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
) -> None:
    """`migrate resolve --rolled-back NAME`: mark NAME's failed row rolled back."""
    acquire_lock(conn, lock_timeout_s)
    try:
        rows = [r for r in fetch_rows(conn) if r.migration_name == name]
        if not rows:
            raise UsageError(
                f"migration `{name}` cannot be rolled back because it was never applied to "
                "the database (P3011)"
            )
        if all(r.finished_at is not None for r in rows):
            raise UsageError(
                f"migration `{name}` cannot be rolled back because it is not in a failed "
                "state (P3012)"
            )
        for row in rows:
            if row.unfinished:
                conn.execute(
                    "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = %s", (row.id,)
                )
    finally:
        release_lock(conn)
    log.info("resolved %s as rolled back", name)


# --- error text ----------------------------------------------------------------------------------


def _first_line(exc: psycopg.Error) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _database_error(exc: psycopg.Error) -> str:
    """Like tokio-postgres' DbError display: `SEVERITY: message`, then DETAIL/HINT lines."""
    diag = exc.diag
    text = f"{diag.severity or 'ERROR'}: {diag.message_primary or _first_line(exc)}"
    if diag.message_detail:
        text += f"\nDETAIL: {diag.message_detail}"
    if diag.message_hint:
        text += f"\nHINT: {diag.message_hint}"
    return text


def _position(exc: psycopg.Error) -> int | None:
    position = exc.diag.statement_position
    return int(position) if position and position.isdigit() else None
