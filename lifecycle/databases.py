"""Whole databases on the server, for restores and drills: create one like another, restore an
archive into it, cut every writer off, rename, mark, drop; and the pg_restore workers a
killed run left behind.

Statements run from a maintenance database (`postgres`, or `template1` when the target is
`postgres` itself), as the stack's database user, which owns the database (the official image
makes POSTGRES_USER a superuser). Names and decisions come from lifecycle.restore_plan.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import conninfo, sql

from lifecycle import backup, cli, db, restore_plan
from lifecycle.backup import BackupConfig, BackupError

log = logging.getLogger("escalafin.databases")

Conn = psycopg.Connection[Any]
RESTORE_SESSION_OPTIONS: Final = "-c maintenance_work_mem=256MB -c synchronous_commit=off"
PGID_FILE: Final = ".escalafin-restore.pgid"
_PR_SET_PDEATHSIG: Final = 1
TERMINATE_WAIT_MS: Final = 5000


def database_name(url: str) -> str:
    return str(conninfo.conninfo_to_dict(db.to_conninfo(url)).get("dbname") or "")


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name, safe=""), parts.query, ""))


@contextlib.contextmanager
def admin(url: str) -> Generator[Conn]:
    """An autocommit session on the maintenance database of `url`'s server."""
    maintenance = "template1" if database_name(url) == "postgres" else "postgres"
    try:
        with db.connect(with_database(url, maintenance), application_name="escalafin-restore") as c:
            yield c
    except db.ConnectionFailed as exc:
        raise BackupError(str(exc), cli.EXIT_UNAVAILABLE) from None


@dataclass(frozen=True)
class Info:
    comment: str | None
    allow_connections: bool


def family(conn: Conn, target: str) -> dict[str, Info]:
    """The target and its siblings (staging, retired, drill databases), with their markers."""
    rows = conn.execute(
        "SELECT datname, shobj_description(oid, 'pg_database'), datallowconn FROM pg_database"
    ).fetchall()
    return {
        str(name): Info(None if comment is None else str(comment), bool(allow))
        for name, comment, allow in rows
        if name == target or restore_plan.kind_of(target, str(name)) is not None
    }


# A new database with another's encoding and locale (read through to_jsonb, so the query
# works whichever locale columns this server version has).
_DATABASE_SETTINGS: Final = """
SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, d.datlocprovider::text,
       coalesce(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale')
FROM pg_database d WHERE d.datname = %s
"""


def create_like(conn: Conn, model: str, new: str) -> None:
    row = conn.execute(_DATABASE_SETTINGS, (model,)).fetchone()
    if row is None:
        raise BackupError(f"database {model!r} does not exist on the server", cli.EXIT_USAGE)
    encoding, collate, ctype, provider, locale = (str(v) if v is not None else None for v in row)
    options = sql.SQL("TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
        sql.Literal(encoding), sql.Literal(collate), sql.Literal(ctype)
    )
    if provider in {"i", "b"} and locale:
        options = sql.SQL("{} LOCALE_PROVIDER {} {} {}").format(
            options,
            sql.SQL("icu" if provider == "i" else "builtin"),
            sql.SQL("ICU_LOCALE" if provider == "i" else "BUILTIN_LOCALE"),
            sql.Literal(locale),
        )
    conn.execute(sql.SQL("CREATE DATABASE {} {}").format(sql.Identifier(new), options))


def drop(conn: Conn, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def rename(conn: Conn, old: str, new: str) -> None:
    conn.execute(
        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(old), sql.Identifier(new))
    )


def allow_connections(conn: Conn, name: str, allow: bool) -> None:
    conn.execute(
        sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
            sql.Identifier(name), sql.SQL("true" if allow else "false")
        )
    )


def mark(conn: Conn, name: str, marker: restore_plan.Marker | None) -> None:
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name),
            sql.Literal(marker.comment()) if marker else sql.SQL("NULL"),
        )
    )


def reopen(conn: Conn, name: str) -> None:
    """The target as applications expect it: accepting connections, no restore marker."""
    allow_connections(conn, name, True)
    mark(conn, name, None)


def cut_off(conn: Conn, target: str, retired: str, marker: restore_plan.Marker) -> int:
    """Refuse every writer, then move the target aside as `retired`; return sessions ended.

    All writers, not just the app container: another replica, a worker, a cron job or an
    admin session may be connected, and the app's role is a superuser, for which neither
    CONNECTION LIMIT nor default_transaction_read_only holds. ALLOW_CONNECTIONS false
    refuses every new session (superusers included: PostgreSQL checks datallowconn for
    everyone); then every session still in the database is terminated (waiting until it
    has exited, so its transaction is either committed or rolled back); then the database is
    renamed, which PostgreSQL only allows with no session in it. From here on a client
    asking for the target gets "database does not exist": every write acknowledged before
    this point is in `retired`, exactly as it was; nothing is acknowledged and then lost.
    """
    allow_connections(conn, target, False)
    mark(conn, target, marker)
    ended = 0
    for attempt in range(5):
        ended += len(
            conn.execute(
                "SELECT pg_terminate_backend(pid, %s) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (TERMINATE_WAIT_MS, target),
            ).fetchall()
        )
        try:
            rename(conn, target, retired)
            break
        except psycopg.errors.ObjectInUse:
            if attempt == 4:
                reopen(conn, target)
                raise BackupError(
                    f"database {target!r} stayed in use; nothing was restored"
                ) from None
            time.sleep(0.2 * (attempt + 1))
    allow_connections(conn, retired, True)  # for the safety dump; nobody else knows the name
    return ended


# ---------------------------------------------------------------- pg_restore


def _die_with_parent() -> None:
    """In the pg_restore leader: be killed when the restoring process dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def restore_into(config: BackupConfig, path: Path, dbname: str, jobs: int) -> None:
    """pg_restore the archive into `dbname` with `jobs` parallel workers.

    pg_restore runs in its own process group, recorded in PGID_FILE for the duration, so
    the next run can kill workers a killed run left behind (`kill_orphans`); the leader
    also dies with this process (PR_SET_PDEATHSIG).
    """
    env = backup.pg_env(with_database(config.database_url, dbname))
    # Session settings for this database only: bigger sorts for index builds, and no wait
    # for WAL flush per transaction (the database is not in use until it is renamed in).
    env["PGOPTIONS"] = " ".join(filter(None, (env.get("PGOPTIONS"), RESTORE_SESSION_OPTIONS)))
    command = [
        backup.pg_tool("pg_restore", config.pg_bin_dir),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--jobs",
        str(jobs),
        "--dbname",
        dbname,
        str(path),
    ]
    pgid_file = config.backup_dir / PGID_FILE
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            process_group=0,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - single-threaded here
        )
        pgid_file.write_text(f"{proc.pid}\n")
        try:
            code = proc.wait()
        finally:
            pgid_file.unlink(missing_ok=True)
        err.seek(0)
        stderr = err.read()
    if code != 0:
        raise BackupError(f"restore failed in pg_restore: {restore_plan.first_error(stderr)}")


def kill_orphans(backup_dir: Path) -> int:
    """Kill the pg_restore process group a killed restore left running; return processes."""
    pgid_file = backup_dir / PGID_FILE
    try:
        pgid = int(pgid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return 0
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            pgrp = int(stat.rsplit(")", 1)[1].split()[2])
            if pgrp == pgid and b"pg_restore" in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    pgid_file.unlink(missing_ok=True)
    if killed:
        log.warning("killed %d pg_restore process(es) left by an interrupted restore", killed)
    return killed
