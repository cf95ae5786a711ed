"""`python -m lifecycle.migrate status|deploy|resolve`: Prisma-compatible migrations.

    python -m lifecycle.migrate deploy  [--migrations DIR] [--database-url URL] [--json]
    python -m lifecycle.migrate status  [...]
    python -m lifecycle.migrate resolve --applied NAME | --rolled-back NAME [...]

DATABASE_URL is read from the environment unless --database-url is given. Exit codes are
documented in lifecycle.cli (0 ok, 1 pending, 2 usage, 3 failed/blocked, 4 lock/connection).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Final

import psycopg

from lifecycle import cli, db, migrations
from lifecycle.migration_plan import MigrationFolderError, Plan, discover

DEFAULT_MIGRATIONS_DIR: Final = Path("app/prisma/migrations")


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    cli.add_database_args(common)
    common.add_argument(
        "--migrations",
        type=Path,
        default=DEFAULT_MIGRATIONS_DIR,
        help=f"migrations folder (default {DEFAULT_MIGRATIONS_DIR})",
    )
    root = argparse.ArgumentParser(
        prog="python -m lifecycle.migrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("status", parents=[common], help="list applied/pending/failed/changed")
    commands.add_parser("deploy", parents=[common], help="apply pending migrations")
    resolve = commands.add_parser("resolve", parents=[common], help="resolve a failed migration")
    which = resolve.add_mutually_exclusive_group(required=True)
    which.add_argument("--applied", metavar="NAME", help="record NAME as applied")
    which.add_argument("--rolled-back", metavar="NAME", help="mark NAME's failed row rolled back")
    return root


def _pending(current: Plan) -> list[str]:
    """Pending migrations not already listed as interrupted (the plan counts an interrupted
    one as pending too, since deploy runs it again; a report names each migration once)."""
    retried = {r.migration_name for r in current.retryable}
    return [m.name for m in current.pending if m.name not in retried]


def plan_summary(current: Plan) -> dict[str, Any]:
    return {
        "applied": current.applied,
        "pending": _pending(current),
        "failed": [r.migration_name for r in current.failed],
        "retryable": [r.migration_name for r in current.retryable],
        "checksum_changed": current.checksum_changed,
        "missing_locally": current.missing_locally,
    }


def status_exit_code(current: Plan) -> int:
    if current.failed:
        return cli.EXIT_REFUSED
    if current.pending or current.retryable or current.checksum_changed or current.missing_locally:
        return cli.EXIT_PENDING
    return cli.EXIT_OK


def _status_text(current: Plan) -> str:
    lines = [f"{len(current.applied)} applied"]
    sections = (
        ("pending", _pending(current)),
        ("failed (blocking)", [r.migration_name for r in current.failed]),
        ("interrupted (retried on deploy)", [r.migration_name for r in current.retryable]),
        ("applied but changed since (checksum differs)", current.checksum_changed),
        ("applied but missing from the folder", current.missing_locally),
    )
    for title, names in sections:
        if names:
            lines.append(f"{len(names)} {title}:")
            lines += [f"  {name}" for name in names]
    if current.up_to_date and not current.checksum_changed:
        lines.append("database schema is up to date")
    return "\n".join(lines)


def _edited(name: str) -> str:
    return (
        f"applied migration {name} was edited since it was applied (checksum differs); "
        "it is not run again: put the change in a new migration"
    )


def execute(
    command: str,
    url: str,
    folder: Path,
    *,
    lock_timeout_s: float = 60.0,
    applied: str | None = None,
    rolled_back: str | None = None,
) -> tuple[int, dict[str, Any], str]:
    """Run one command: (exit code, JSON summary, human text). The CLI, the direct mode of
    the Pulumi providers and the ops container all go through here. Raises on errors."""
    local = discover(folder)
    with db.connect(url, application_name="escalafin-migrate") as conn:
        if command == "status":
            current = migrations.status(conn, local)
            summary = {"ok": True, "command": "status", **plan_summary(current)}
            return status_exit_code(current), summary, _status_text(current)
        if command == "deploy":
            result = migrations.deploy(conn, local, lock_timeout_s)
            warnings = [_edited(name) for name in result.checksum_changed]
            summary = {
                "ok": True,
                "command": "deploy",
                "applied": result.applied,
                "count": len(result.applied),
                "skipped": result.already_applied,
                "recovered": result.recovered,
                "duration_ms": round(result.duration_ms, 1),
                "warnings": warnings,
            }
            text = "\n".join(
                [
                    f"{len(result.applied)} migration(s) applied, {result.already_applied} "
                    f"already applied ({result.duration_ms:.0f} ms)",
                    *(f"warning: {w}" for w in warnings),
                ]
            )
            return cli.EXIT_OK, summary, text
        if applied:
            migrations.resolve_applied(conn, local, applied, lock_timeout_s)
            name, state = applied, "applied"
        elif rolled_back:
            migrations.resolve_rolled_back(conn, rolled_back, lock_timeout_s)
            name, state = rolled_back, "rolled back"
        else:
            raise migrations.UsageError(f"unknown command {command!r}")
        summary = {"ok": True, "command": "resolve", "migration": name, "state": state}
        return cli.EXIT_OK, summary, f"migration {name} marked {state}"


def run(args: argparse.Namespace) -> int:
    code, summary, text = execute(
        args.command,
        cli.database_url(args),
        args.migrations,
        lock_timeout_s=args.lock_timeout,
        applied=getattr(args, "applied", None),
        rolled_back=getattr(args, "rolled_back", None),
    )
    cli.emit(args.json, summary, text)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    try:
        return run(args)
    except (MigrationFolderError, db.DatabaseUrlError) as exc:
        return cli.fail(args.json, cli.EXIT_USAGE, str(exc))
    except migrations.MigrateError as exc:
        return cli.fail(args.json, exc.exit_code, str(exc))
    except db.ConnectionFailed as exc:
        return cli.fail(args.json, cli.EXIT_UNAVAILABLE, str(exc))
    except psycopg.OperationalError as exc:
        url = args.database_url or os.environ.get("DATABASE_URL", "")
        message = db.scrub(str(exc), url)
        return cli.fail(args.json, cli.EXIT_UNAVAILABLE, f"database connection failed: {message}")


if __name__ == "__main__":
    sys.exit(main())
