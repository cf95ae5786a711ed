"""The backup agent: scheduled backups in a container of the stack, with a healthcheck.

Replaces the seed's host crontab line (`0 2 * * * ./backup-db.sh >> log`), which nobody
noticed when it stopped working. The agent runs `lifecycle.backup` on a cron schedule in
a configured time zone (DST handled by croniter), logs one line per step to stdout, and
its healthcheck turns unhealthy when the last successful backup is older than the
schedule allows.

Commands (ops image; its entrypoint is `python -m`):
    python -m lifecycle.backup_agent               run the schedule (the container's command)
    python -m lifecycle.backup_agent healthcheck   exit 0 healthy / 1 unhealthy, one line why
    python -m lifecycle.backup now | list          on demand, e.g. `docker exec <agent> ...`
    python -m lifecycle.restore ...                see lifecycle.restore

Environment contract of the agent container:
    DATABASE_URL            postgresql://user:password@postgres:5432/db (secret; required)
    BACKUP_DIR              backups volume mount point (default /backup-escalafin)
    BACKUP_SCHEDULE         cron expression (default "0 2 * * *")
    BACKUP_TIMEZONE         IANA zone the schedule is read in (default $TZ, else UTC)
    BACKUP_RETENTION_DAYS   prune backups older than this (default 7)
    BACKUP_KEEP_MIN         ... but always keep the newest this many (default 3)
    BACKUP_HEALTH_GRACE_S   seconds a scheduled run may take before it counts as missed
                            (default 3600)
    BACKUP_CATCH_UP         "true" (default): on start, back up at once if the last
                            scheduled run was missed (the agent was down at fire time)
    BACKUP_COMPRESSION      pg_dump --compress value (default zstd:3)
    BACKUP_RESTORE_JOBS     parallel pg_restore workers for restores (default: cores, max 4)
    S3_BUCKET               off-site bucket; unset = volume only
    S3_PREFIX               key prefix inside the bucket (default none)
    S3_ENDPOINT_URL         S3-compatible endpoint (dev: http://objectstore:9000); unset = AWS
    S3_REGION               bucket region
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY   upload credentials (secrets)
    PG_BIN_DIR              where pg_dump/pg_restore/psql are (default: PATH)

Health rule: let `due` be the latest scheduled fire time at least `grace` ago. Healthy if
there is no such time since the agent started (it has not had its chance yet), or the
last success is at or after `due`. So a failed or missed run shows within `grace`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from lifecycle import backup, cli
from lifecycle.backup import BackupConfig, BackupError

log = logging.getLogger("escalafin.backup_agent")

DEFAULT_SCHEDULE: Final = "0 2 * * *"
DEFAULT_GRACE_S: Final = 3600


@dataclass(frozen=True)
class Schedule:
    cron: str
    zone: ZoneInfo
    grace: timedelta

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Schedule:
        cron = env.get("BACKUP_SCHEDULE") or DEFAULT_SCHEDULE
        if not croniter.is_valid(cron):
            raise BackupError(
                f"BACKUP_SCHEDULE={cron!r}: expected a 5-field cron expression such as '0 2 * * *'",
                cli.EXIT_USAGE,
            )
        zone_name = env.get("BACKUP_TIMEZONE") or env.get("TZ") or "UTC"
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise BackupError(
                f"BACKUP_TIMEZONE={zone_name!r}: expected an IANA time zone "
                "such as 'America/Mexico_City'",
                cli.EXIT_USAGE,
            ) from None
        raw_grace = env.get("BACKUP_HEALTH_GRACE_S") or str(DEFAULT_GRACE_S)
        if not raw_grace.isdigit() or int(raw_grace) < 1:
            raise BackupError(
                f"BACKUP_HEALTH_GRACE_S={raw_grace!r}: expected whole seconds >= 1", cli.EXIT_USAGE
            )
        return cls(cron, zone, timedelta(seconds=int(raw_grace)))

    def next_fire(self, after: datetime) -> datetime:
        return croniter(self.cron, after.astimezone(self.zone)).get_next(datetime)

    def previous_fire(self, at_or_before: datetime) -> datetime:
        # croniter's get_prev is strictly before; nudge so a fire exactly at the bound counts.
        bound = at_or_before.astimezone(self.zone) + timedelta(microseconds=1)
        return croniter(self.cron, bound).get_prev(datetime)


def health(schedule: Schedule, state: backup.State, now: datetime) -> tuple[bool, str]:
    """Pure healthcheck decision (see module docstring)."""
    if state.agent_started_at is None:
        return False, "the agent has not started (no agent_started_at in the state file)"
    due = schedule.previous_fire(now - schedule.grace)
    if due < state.agent_started_at:
        return True, f"no scheduled run due yet; next at {schedule.next_fire(now).isoformat()}"
    if state.last_success_at is not None and state.last_success_at >= due:
        return True, f"last backup {state.last_success} at {state.last_success_at.isoformat()}"
    last = state.last_success_at.isoformat() if state.last_success_at else "never"
    why = f"; last failure: {state.last_failure}" if state.last_failure else ""
    return False, f"the run due at {due.isoformat()} did not succeed (last success {last}){why}"


def _backup_once(config: BackupConfig) -> None:
    try:
        backup.run(config)
    except BackupError as exc:
        log.error("backup failed (exit %d): %s", exc.exit_code, exc)


def run_agent(
    config: BackupConfig, schedule: Schedule, catch_up: bool, stop: threading.Event
) -> None:
    started = datetime.now(UTC)
    with backup.run_lock(config.backup_dir):
        backup.remove_partials(config.backup_dir)
    backup.update_state(config.backup_dir, agent_started_at=started.isoformat())
    state = backup.read_state(config.backup_dir)
    missed = schedule.previous_fire(started)
    log.info(
        "agent started: schedule %r (%s), next run %s",
        schedule.cron,
        schedule.zone.key,
        schedule.next_fire(started).isoformat(),
    )
    if catch_up and (state.last_success_at is None or state.last_success_at < missed):
        log.info("catch-up: the run due at %s did not succeed; backing up now", missed.isoformat())
        _backup_once(config)
    while not stop.is_set():
        fire = schedule.next_fire(datetime.now(UTC))
        while not stop.is_set() and datetime.now(UTC) < fire:
            stop.wait(min(60.0, max(0.0, (fire - datetime.now(UTC)).total_seconds()) + 0.05))
        if not stop.is_set():
            _backup_once(config)
    log.info("agent stopping")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lifecycle.backup_agent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", default="run", choices=("run", "healthcheck"))
    args = parser.parse_args(argv)
    cli.setup_logging()
    env = dict(os.environ)
    try:
        schedule = Schedule.from_env(env)
        if args.command == "healthcheck":
            directory = Path(env.get("BACKUP_DIR") or backup.DEFAULT_DIR)
            ok, why = health(schedule, backup.read_state(directory), datetime.now(UTC))
            print(("healthy: " if ok else "unhealthy: ") + why, flush=True)
            return 0 if ok else 1
        config = BackupConfig.from_env(env)
    except BackupError as exc:
        log.error("%s", exc)
        return exc.exit_code
    if not config.backup_dir.is_dir():
        log.error(
            "backups directory %s does not exist (mount the backups volume)", config.backup_dir
        )
        return cli.EXIT_USAGE
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    run_agent(config, schedule, env.get("BACKUP_CATCH_UP", "true").lower() != "false", stop)
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
