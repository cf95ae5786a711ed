"""Continuous-archiving commands, run inside the backup agent (ops image).

    python -m lifecycle.archiving status [--json]      recovery window, base backups, lag, health
    python -m lifecycle.archiving backup [--type full|diff|incr] [--safety] [--json]
    python -m lifecycle.archiving verify [--to-time T | --latest] [--json]
    python -m lifecycle.archiving restored [--json]    after a restore: where replay ended

`python -m lifecycle.restore --stack S restore --to-time T` drives these through
`docker exec` (lifecycle.archiving.restore). Exit codes as lifecycle.cli: 0 ok, 2 usage,
3 refused (verification found damage, target outside the window), 4 unreachable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from lifecycle import cli, db
from lifecycle.archiving import agent, pgbackrest, window
from lifecycle.archiving.pgbackrest import PgBackRestError
from lifecycle.backup import BackupError


def _config() -> agent.ArchivingConfig:
    from lifecycle.backup_agent import archiving_config  # noqa: PLC0415 - avoid an import cycle

    config = archiving_config(os.environ)
    if config is None:
        raise PgBackRestError("continuous archiving is off in this stack", cli.EXIT_USAGE)
    return config


def _verify(config: agent.ArchivingConfig, target: datetime | None) -> dict[str, Any]:
    database = str(conninfo_to_dict(db.to_conninfo(config.database_url)).get("dbname") or "")
    info = pgbackrest.info()
    if not info.ok:
        raise PgBackRestError(f"refusing to restore: {info.message}")
    wal, system_id = agent.database_facts(config.database_url)
    w = window.window(info, pgbackrest.archived(), wal)
    if target is not None:
        try:
            window.check_target(w, target)
        except window.WindowError as exc:
            raise PgBackRestError(f"refusing to restore: {exc}") from None
    elif w.latest is None:
        raise PgBackRestError("refusing to restore: the repository has no complete base backup")
    problems = pgbackrest.verify()
    if problems:
        raise PgBackRestError(
            "refusing to restore: pgbackrest verify found damage in the repository: "
            + "; ".join(problems[:5])
        )
    return {
        "database": database,
        "target": target.isoformat() if target else "latest",
        "newest_archived_wal": w.newest_archived,
        # False on a brand-new host: its fresh cluster is not the one in the bucket.
        "same_cluster": system_id is not None and system_id == info.system_id,
        "earliest_restorable": w.earliest.isoformat() if w.earliest else None,
        "latest_restorable": w.latest.isoformat() if w.latest else None,
    }


def _restored(config: agent.ArchivingConfig) -> dict[str, Any]:
    with db.connect(config.database_url, application_name="escalafin-archiving") as conn:
        row = conn.execute(
            "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), "
            "pg_walfile_name(pg_current_wal_lsn()), "
            "(SELECT timeline_id FROM pg_control_checkpoint())"
        ).fetchone()
    assert row is not None
    in_recovery, replayed_at, current, timeline = row
    return {
        "in_recovery": bool(in_recovery),
        "last_replayed_at": replayed_at.isoformat() if isinstance(replayed_at, datetime) else None,
        "current_wal": str(current),
        "timeline": int(str(timeline)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.archiving", description=__doc__)
    parser.add_argument("command", choices=("status", "backup", "verify", "restored"))
    parser.add_argument("--type", choices=("full", "diff", "incr"))
    parser.add_argument("--safety", action="store_true", help="mark as a pre-restore backup")
    parser.add_argument("--to-time", help="restore target, e.g. '2026-11-29 10:41:07-06:00'")
    parser.add_argument("--latest", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cli.setup_logging()
    try:
        config = _config()
        result, human = _COMMANDS[args.command](config, args)
    except (PgBackRestError, BackupError) as exc:
        return cli.fail(args.json, exc.exit_code, str(exc))
    except window.WindowError as exc:
        return cli.fail(args.json, cli.EXIT_USAGE, str(exc))
    except (db.ConnectionFailed, psycopg.Error) as exc:
        return cli.fail(args.json, cli.EXIT_UNAVAILABLE, str(exc))
    cli.emit(args.json, {"ok": True, **result}, human)
    return cli.EXIT_OK


def _status(config: agent.ArchivingConfig, _args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    result = agent.status(config)
    state = {**agent.read_state(config.state_dir), "status": result}
    healthy, why = agent.health(config, state, datetime.now(UTC))
    out = {**result, "healthy": healthy, "health": why}
    return out, _human_status(out)


def _backup_cmd(
    config: agent.ArchivingConfig, args: argparse.Namespace
) -> tuple[dict[str, Any], str]:
    label = agent.backup(config, args.type, safety=args.safety)
    return {"label": label}, f"base backup {label}"


def _verify_cmd(
    config: agent.ArchivingConfig, args: argparse.Namespace
) -> tuple[dict[str, Any], str]:
    out = _verify(config, window.parse_target(args.to_time) if args.to_time else None)
    return out, f"verified; restorable to {out['target']}"


def _restored_cmd(
    config: agent.ArchivingConfig, _args: argparse.Namespace
) -> tuple[dict[str, Any], str]:
    out = _restored(config)
    return out, str(out)


_COMMANDS = {
    "status": _status,
    "backup": _backup_cmd,
    "verify": _verify_cmd,
    "restored": _restored_cmd,
}


def _human_status(s: dict[str, Any]) -> str:
    lines = [
        f"{'healthy' if s['healthy'] else 'UNHEALTHY'}: {s['health']}",
        f"earliest restorable: {s.get('earliest_restorable') or '-'}",
        f"latest restorable:   {s.get('latest_restorable') or '-'}",
        f"archiving lag:       {s.get('archiving_lag_seconds')}s "
        f"(newest WAL {s.get('newest_archived_wal') or '-'})",
    ]
    listed: list[dict[str, Any]] = list(s.get("base_backups") or [])
    for b in listed:
        lines.append(
            f"  {b['label']:24} {b['type']:4} {b['kind']:9} {b['stopped_at']}  "
            f"{b['size']:>12} B ({b['repo_size']} B in the bucket)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
