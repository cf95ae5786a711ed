"""Restore drill: prove the latest backup restores, without touching the live database.

"A backup is not a restore test." The checksum proves an archive is what pg_dump wrote;
only restoring it proves pg_dump wrote something usable. A drill takes the newest backup
(from the volume, else from the bucket), checks its recorded checksum (an archive without
one fails the drill), restores it with parallel workers into a scratch database next to
the live one (`<db>_drill_<stamp>`), checks that every table the archive carries data for
is there and readable (an exact row count of each, which reads every page), and drops the
scratch database. The outcome is recorded in the agent state: a failed drill turns the
agent unhealthy until a drill succeeds.

The backup agent runs a drill on BACKUP_DRILL_SCHEDULE (default weekly); on demand:
    docker exec <agent> python -m lifecycle.drill [--json]
Exit codes as lifecycle.backup (0 ok, 3 the drill failed, 4 database unreachable).
It needs room for one more copy of the database while it runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from lifecycle import agent_state, backup, cli, databases, db, restore, restore_plan, tidy
from lifecycle.backup import BackupConfig, BackupError
from lifecycle.object_store import ObjectStoreError

log = logging.getLogger("escalafin.drill")


@dataclass(frozen=True)
class DrillResult:
    archive: str
    tables: int
    rows: int
    seconds: float


def table_counts(url: str) -> dict[str, int]:
    """Exact row count of every user table (reads every page of every table)."""
    counts: dict[str, int] = {}
    with db.connect(url, application_name="escalafin-drill") as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN "
            "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            query = sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(str(schema), str(table))
            )
            row = conn.execute(query).fetchone()
            counts[f"{schema}.{table}"] = int(str(row[0])) if row else 0
    return counts


def _drill(config: BackupConfig) -> DrillResult:
    started = time.monotonic()
    rows, warnings = backup.listing(config)
    for warning in warnings:
        log.warning("%s", warning)
    name = restore.latest(rows)
    path, recorded = restore.fetch(config, name)
    restore.check(path, recorded, config.pg_bin_dir, accept_unverified=False)
    expected = backup.archive_tables(path, config.pg_bin_dir)
    target = databases.database_name(config.database_url)
    with databases.admin(config.database_url) as conn:
        family = set(databases.family(conn, target))
        scratch = restore_plan.new_sibling(target, "drill", config.clock(), family)
        databases.create_like(conn, target, scratch)
    try:
        databases.restore_into(config, path, scratch, restore_plan.restore_jobs())
        counts = table_counts(databases.with_database(config.database_url, scratch))
    finally:
        with databases.admin(config.database_url) as conn:
            databases.drop(conn, scratch)
    missing = sorted(expected - set(counts))
    if missing:
        raise BackupError(f"drill of {name}: tables missing after restore: {', '.join(missing)}")
    return DrillResult(
        name, len(counts), sum(counts.values()), round(time.monotonic() - started, 1)
    )


def run(config: BackupConfig) -> DrillResult:
    """One drill under the run lock; the outcome is recorded in the agent state."""
    try:
        with backup.run_lock(config.backup_dir):
            tidy.tidy(config)
            result = _drill(config)
    except (
        BackupError,
        restore.RestoreError,
        restore_plan.PlanError,
        ObjectStoreError,
        psycopg.Error,
        OSError,
    ) as exc:
        code = getattr(exc, "exit_code", cli.EXIT_REFUSED)
        detail = f"restore drill failed: {exc}"
        agent_state.record(config.backup_dir, "drill", ok=False, detail=detail, at=config.clock())
        raise BackupError(detail, code if isinstance(code, int) else cli.EXIT_REFUSED) from None
    detail = (
        f"{result.archive} restored into a scratch database: {result.tables} tables, "
        f"{result.rows} rows in {result.seconds:.1f}s"
    )
    agent_state.record(config.backup_dir, "drill", ok=True, detail=detail, at=config.clock())
    log.info("restore drill: %s", detail)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.drill", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    args = parser.parse_args(argv)
    cli.setup_logging()
    try:
        result = run(BackupConfig.from_env())
    except BackupError as exc:
        log.error("%s", exc)
        return cli.fail(args.json, exc.exit_code, str(exc))
    out: dict[str, Any] = {"ok": True, **result.__dict__}
    cli.emit(
        args.json, out, f"drill ok: {result.archive}, {result.tables} tables, {result.rows} rows"
    )
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
