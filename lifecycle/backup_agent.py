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
    DATABASE_URL            postgresql://user:password@postgres:5432/db (secret; required;
                            user and password percent-encoded)
    BACKUP_DIR              backups volume mount point (default /backup-escalafin)
    BACKUP_SCHEDULE         cron expression (default "0 2 * * *")
    BACKUP_TIMEZONE         IANA zone the schedules are read in (default $TZ, else UTC)
    BACKUP_RETENTION_DAYS   prune backups older than this (default 7)
    BACKUP_KEEP_MIN         ... but always keep the newest this many of each kind (default 3)
    BACKUP_HEALTH_GRACE_S   seconds a scheduled run may take before it counts as missed
                            (default 3600)
    BACKUP_CATCH_UP         "true" (default): on start, back up at once if the last
                            scheduled run was missed (the agent was down at fire time)
    BACKUP_DRILL_SCHEDULE   cron expression of restore drills (lifecycle.drill; default
                            "30 3 * * 0", Sundays 03:30); "off" disables them
    BACKUP_UPLOAD_RETRY_S   while off-site uploads are pending (S3 was down), retry them
                            this often (default 300)
    BACKUP_COMPRESSION      pg_dump --compress value (default zstd:3)
    BACKUP_RESTORE_JOBS     parallel pg_restore workers for restores (default: cores, max 4)
    BACKUP_KEEP_RETIRED     databases replaced by restores kept for `revert` (default 1)
    S3_BUCKET               off-site bucket; unset = volume only
    S3_PREFIX               key prefix inside the bucket (default none)
    S3_ENDPOINT_URL         S3-compatible endpoint (dev: http://objectstore:9000); unset = AWS
    S3_REGION               bucket region
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY   upload credentials (secrets)
    PG_BIN_DIR              where pg_dump/pg_restore/psql are (default: PATH)

Health rule (`health`), unhealthy when: the last backup run failed (any failure: disk full,
S3 down with uploads pending, pg_dump killed, a run interrupted by the agent's own death)
until a run succeeds; the last restore drill failed until one succeeds; or a scheduled
backup or drill due at least `grace` ago did not happen. A fresh agent is healthy until its
first scheduled run is due.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from lifecycle import agent_state, backup, cli, tidy
from lifecycle.backup import BackupConfig, BackupError
from lifecycle.drill import run as drill_run
from lifecycle.schedule import Schedule

if TYPE_CHECKING:
    from lifecycle.archiving.agent import ArchivingConfig

log = logging.getLogger("escalafin.backup_agent")

DEFAULT_UPLOAD_RETRY_S: Final = 300
POLL_S: Final = 5.0


def health(
    schedule: Schedule, state: agent_state.State, now: datetime, drill: Schedule | None = None
) -> tuple[bool, str]:
    """Pure healthcheck decision (see module docstring): (healthy, one line why)."""
    problem = next(_problems(schedule, state, now, drill), None)
    if problem is not None:
        return False, problem
    if state.last_success_at is None:
        return True, f"no scheduled run due yet; next at {schedule.next_fire(now).isoformat()}"
    return True, f"last backup {state.last_success} at {state.last_success_at.isoformat()}"


def _problems(
    schedule: Schedule, state: agent_state.State, now: datetime, drill: Schedule | None
) -> Iterator[str]:
    started = state.agent_started_at
    if started is None:
        yield "the agent has not started (no agent_started_at in the state file)"
        return
    if state.failing and state.last_failure_at is not None:
        at = state.last_failure_at.isoformat()
        yield f"the last backup run failed at {at}: {state.last_failure}"
    if state.drill_failing and state.drill_failure_at is not None:
        yield (
            f"the last restore drill failed at {state.drill_failure_at.isoformat()}: "
            f"{state.drill_failure}"
        )
    due = schedule.previous_fire(now - schedule.grace)
    if due >= started and (state.last_success_at is None or state.last_success_at < due):
        last = state.last_success_at.isoformat() if state.last_success_at else "never"
        yield f"the run due at {due.isoformat()} did not happen (last success {last})"
    if drill is not None:
        drill_due = drill.previous_fire(now - drill.grace)
        if drill_due >= started and (
            state.drill_success_at is None or state.drill_success_at < drill_due
        ):
            yield f"the restore drill due at {drill_due.isoformat()} did not happen"


class Waiter(Protocol):
    """What the loop waits on (threading.Event; tests pass one that moves a fake clock)."""

    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class Agent:
    """The agent's loop: backups on `schedule`, drills on `drill`, off-site retries.

    Every job is guarded: whatever it raises (a full disk, S3 down, pg_dump killed, out of
    memory) is logged in one line and recorded, and the loop goes on. A run that killed the
    agent itself is recorded as interrupted at the next start and not re-run at once, so
    a run that cannot succeed never turns into a crash loop.
    """

    config: BackupConfig
    schedule: Schedule
    drill: Schedule | None = None
    catch_up: bool = True
    retry_uploads_s: float = DEFAULT_UPLOAD_RETRY_S
    poll_s: float = POLL_S
    backup_job: Callable[[BackupConfig], object] = backup.run
    drill_job: Callable[[BackupConfig], object] = drill_run
    retry_job: Callable[[BackupConfig], object] = backup.retry_uploads
    tidy_job: Callable[[BackupConfig], object] = tidy.tidy_locked

    def start(self) -> None:
        config = self.config
        started = config.clock()
        state = agent_state.read_state(config.backup_dir)
        if state.interrupted and state.last_attempt_at is not None:
            detail = (
                f"the run started at {state.last_attempt_at.isoformat()} was interrupted "
                "(the agent was killed: out of memory, or stopped mid-run)"
            )
            log.error("%s", detail)
            agent_state.record(config.backup_dir, "backup", ok=False, detail=detail, at=started)
        agent_state.update_state(config.backup_dir, agent_started_at=started)
        self._guard("tidy", self.tidy_job)
        log.info(
            "agent started: schedule %r (%s), next run %s; restore drill %s",
            self.schedule.cron,
            self.schedule.zone.key,
            self.schedule.next_fire(started).isoformat(),
            f"{self.drill.cron!r}" if self.drill else "off",
        )
        missed = self.schedule.previous_fire(started)
        if (
            self.catch_up
            and (state.last_success_at is None or state.last_success_at < missed)
            and (state.last_attempt_at is None or state.last_attempt_at < missed)
        ):
            log.info("catch-up: the run due at %s did not happen; backing up now", missed)
            self._backup()

    def loop(self, stop: Waiter) -> None:
        """Run each job when its time comes. The plan is looked at again every poll_s, so
        uploads left pending by `backup now` (another process) are retried promptly."""
        config = self.config
        now = config.clock()
        planned = {"backup": self.schedule.next_fire(now)}
        if self.drill is not None:
            planned["drill"] = self.drill.next_fire(now)
        while not stop.is_set():
            now = config.clock()
            if agent_state.read_state(config.backup_dir).upload_pending:
                planned.setdefault("retry", now + timedelta(seconds=self.retry_uploads_s))
            else:
                planned.pop("retry", None)
            job, fire = min(planned.items(), key=lambda item: item[1])
            if now < fire:
                stop.wait(min(self.poll_s, (fire - now).total_seconds() + 0.05))
                continue
            if job == "backup":
                self._backup()
                planned[job] = self.schedule.next_fire(config.clock())
            elif job == "drill" and self.drill is not None:
                self._guard("restore drill", self.drill_job, kind="drill")
                planned[job] = self.drill.next_fire(config.clock())
            else:
                self._guard("off-site retry", self.retry_job)
                planned.pop(job)
        log.info("agent stopping")

    def _backup(self) -> None:
        self._guard("tidy", self.tidy_job)
        self._guard("backup", self.backup_job)

    def _guard(
        self,
        what: str,
        job: Callable[[BackupConfig], object],
        kind: agent_state.Kind = "backup",
    ) -> None:
        try:
            job(self.config)
        except BackupError as exc:
            log.error("%s failed (exit %d): %s", what, exc.exit_code, exc)
        except Exception as exc:  # the agent must outlive any failure of a job
            detail = f"{what} failed: {type(exc).__name__}: {exc}"
            log.error("%s", detail)
            if what != "tidy":
                agent_state.record(
                    self.config.backup_dir, kind, ok=False, detail=detail, at=self.config.clock()
                )


# --- continuous archiving (issue 13): lifecycle.archiving.agent, when the stack enables it


def archiving_config(env: Mapping[str, str]) -> ArchivingConfig | None:
    """The archiving duties' config, or None when the stack did not enable archiving."""
    from lifecycle.archiving import agent, pgbackrest  # noqa: PLC0415 - only when enabled

    if not pgbackrest.enabled(env):
        return None
    pitr = Schedule.from_env({**env, "BACKUP_SCHEDULE": env.get("PITR_BACKUP_SCHEDULE", "")})
    return agent.ArchivingConfig.from_env(env, pitr)


def _start_archiving(env: Mapping[str, str], stop: threading.Event) -> None:
    from lifecycle.archiving import agent  # noqa: PLC0415

    config = archiving_config(env)
    if config is not None:
        agent.run(config, stop)


def _with_archiving(env: Mapping[str, str], ok: bool, why: str) -> tuple[bool, str]:
    """The logical backups' health and, when enabled, continuous archiving's: both must hold."""
    from lifecycle.archiving import agent  # noqa: PLC0415

    config = archiving_config(env)
    if config is None:
        return ok, why
    pitr_ok, pitr_why = agent.health(config, agent.read_state(config.state_dir), datetime.now(UTC))
    return ok and pitr_ok, f"{why}; {pitr_why}"


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
        drill = Schedule.drill_from_env(env, schedule)
        if args.command == "healthcheck":
            directory = Path(env.get("BACKUP_DIR") or backup.DEFAULT_DIR)
            state = agent_state.read_state(directory)
            ok, why = health(schedule, state, datetime.now(UTC), drill)
            ok, why = _with_archiving(env, ok, why)
            print(("healthy: " if ok else "unhealthy: ") + why, flush=True)
            return 0 if ok else 1
        config = BackupConfig.from_env(env)
        retry_s = _retry_seconds(env)
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
    catch_up = env.get("BACKUP_CATCH_UP", "true").lower() != "false"
    agent = Agent(config, schedule, drill, catch_up, retry_s)
    agent.start()
    _start_archiving(env, stop)
    agent.loop(stop)
    return cli.EXIT_OK


def _retry_seconds(env: Mapping[str, str]) -> float:
    raw = env.get("BACKUP_UPLOAD_RETRY_S") or str(DEFAULT_UPLOAD_RETRY_S)
    if not raw.isdigit() or int(raw) < 1:
        raise BackupError(
            f"BACKUP_UPLOAD_RETRY_S={raw!r}: expected whole seconds >= 1", cli.EXIT_USAGE
        )
    return float(raw)


if __name__ == "__main__":
    sys.exit(main())
