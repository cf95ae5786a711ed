"""Continuous archiving in the backup agent: base backups, retention, the lag watch, health.

PostgreSQL archives WAL itself (archive_command = async `pgbackrest archive-push`, in its
own container). The agent, a pgBackRest repository host, does the rest:

- at start: `stanza-create` (idempotent; it refuses a bucket that holds ANOTHER cluster,
  e.g. a brand-new host before its disaster-recovery restore) and, when the repository
  has no base backup yet, a full one at once (nothing is restorable without one);
- on `PITR_BACKUP_SCHEDULE`: a base backup — full when the newest scheduled full is
  `PITR_FULL_EVERY_DAYS` old, differential otherwise — then retention: full backups by
  age (`PITR_RETENTION_DAYS`) never below the newest `PITR_KEEP_MIN`, and with them
  every diff/incr and WAL segment only they needed (`window.fulls_to_keep`);
- every `PITR_CHECK_INTERVAL_S`: the recovery window and the archiving lag measured
  against the bucket (`window.window`), written to a state file the healthcheck reads,
  so the healthcheck itself never waits on a bucket that does not answer. A WAL gap
  (WAL dropped by `archive-push-queue-max` while the bucket was down) triggers a full
  backup, the only way to make the time after it restorable again; so does a new
  timeline (after a point-in-time restore, older backups cannot follow it).

Health (`health`): unhealthy when the last check is stale, the repository is unreachable
or refuses this database, the lag exceeds `PITR_RPO_S`, WAL is missing since the newest
base backup, a base backup failed after the last success, or a scheduled one is missed.

Environment (besides the PGBACKREST_* options, see lifecycle.archiving.pgbackrest):
    PITR_BACKUP_SCHEDULE    cron of base backups (default "30 3 * * *"), in BACKUP_TIMEZONE
    PITR_FULL_EVERY_DAYS    a full backup at least this often (default 7)
    PITR_RETENTION_DAYS     full backups older than this are expired (default 14) ...
    PITR_KEEP_MIN           ... but never the newest this many (default 2)
    PITR_RPO_S              archiving lag beyond this is unhealthy (default 60)
    PITR_CHECK_INTERVAL_S   how often the lag is measured (default 15)
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import psycopg

from lifecycle import db
from lifecycle.archiving import pgbackrest, window
from lifecycle.archiving.pgbackrest import PgBackRestError

if TYPE_CHECKING:
    from lifecycle.schedule import Schedule

log = logging.getLogger("escalafin.archiving")

STATE_FILE: Final = ".escalafin-pitr-state.json"
DEFAULT_SCHEDULE: Final = "30 3 * * *"


@dataclass(frozen=True)
class ArchivingConfig:
    database_url: str
    state_dir: Path
    schedule: Schedule
    full_every_days: int = 7
    retention_days: int = 14
    keep_min: int = 2
    rpo_s: int = 60
    check_interval_s: int = 15

    @classmethod
    def from_env(cls, env: Mapping[str, str], schedule: Schedule) -> ArchivingConfig:
        """The PITR_* contract (module docstring); a bad number names its variable."""
        numbers: dict[str, int] = {}
        for key, default in (
            ("PITR_FULL_EVERY_DAYS", 7),
            ("PITR_RETENTION_DAYS", 14),
            ("PITR_KEEP_MIN", 2),
            ("PITR_RPO_S", 60),
            ("PITR_CHECK_INTERVAL_S", 15),
        ):
            raw = env.get(key) or str(default)
            if not raw.isdigit() or int(raw) < 1:
                raise PgBackRestError(f"{key}={raw!r}: expected a whole number >= 1", 2)
            numbers[key] = int(raw)
        return cls(
            database_url=env.get("DATABASE_URL", ""),
            state_dir=Path(env.get("BACKUP_DIR") or "/backup-escalafin"),
            schedule=schedule,
            full_every_days=numbers["PITR_FULL_EVERY_DAYS"],
            retention_days=numbers["PITR_RETENTION_DAYS"],
            keep_min=numbers["PITR_KEEP_MIN"],
            rpo_s=numbers["PITR_RPO_S"],
            check_interval_s=numbers["PITR_CHECK_INTERVAL_S"],
        )


# ---------------------------------------------------------------- state


def read_state(state_dir: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return loaded


_state_lock = threading.Lock()


def update_state(state_dir: Path, **fields: Any) -> None:
    """Atomically rewrite the state file with `fields` changed."""
    if not state_dir.is_dir():
        return
    with _state_lock:
        state = {**read_state(state_dir), **fields}
        temp = state_dir / f"{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.partial"
        temp.write_text(json.dumps(state, default=str))
        temp.replace(state_dir / STATE_FILE)


def _now() -> str:
    return datetime.now(UTC).isoformat()


# ---------------------------------------------------------------- facts


def database_facts(database_url: str) -> tuple[window.DatabaseWal | None, int | None]:
    """The WAL insert position and the cluster's system identifier (None while down or in
    recovery: no WAL position to compare then)."""
    try:
        with db.connect(database_url, application_name="escalafin-archiving") as conn:
            row = conn.execute(
                "SELECT CASE WHEN pg_is_in_recovery() THEN NULL "
                "ELSE pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint END, "
                "now(), (SELECT system_identifier FROM pg_control_system()), "
                "(SELECT timeline_id FROM pg_control_checkpoint())"
            ).fetchone()
    except (db.ConnectionFailed, psycopg.Error) as exc:
        log.warning("database not reachable for the lag check: %s", exc)
        return None, None
    if row is None:
        return None, None
    position, checked_at, system_id, timeline = row
    wal = (
        None
        if position is None or not isinstance(checked_at, datetime)
        else window.DatabaseWal(int(str(position)), checked_at, int(str(timeline)))
    )
    return wal, int(str(system_id))


def status(config: ArchivingConfig) -> dict[str, Any]:
    """The recovery window and lag now, from the repository and the database."""
    checked_at = datetime.now(UTC)
    try:
        info = pgbackrest.info()
        archived = pgbackrest.archived() if info.ok else []
    except PgBackRestError as exc:
        return {"checked_at": checked_at.isoformat(), "ok": False, "error": str(exc)}
    wal, system_id = database_facts(config.database_url)
    w = window.window(info, archived, wal)
    error = None if info.ok else info.message
    if info.system_id is not None and system_id is not None and info.system_id != system_id:
        error = (
            f"the repository holds another cluster (system id {info.system_id}, this database "
            f"is {system_id}): restore from it (`restore --latest`) or point the stack at a "
            "new bucket"
        )
    return {
        "checked_at": checked_at.isoformat(),
        "ok": error is None,
        "error": error,
        **w.as_json(),
    }


# ---------------------------------------------------------------- health


def health(config: ArchivingConfig, state: Mapping[str, Any], now: datetime) -> tuple[bool, str]:
    """Pure decision over the state file (see module docstring)."""
    started = _parse(state.get("agent_started_at"))
    if started is None:
        return False, "archiving: the agent has not started"
    s: Mapping[str, Any] = state.get("status") or {}
    checked = _parse(s.get("checked_at"))
    stale_after = timedelta(seconds=max(3 * config.check_interval_s, 90))
    if checked is None or now - checked > stale_after:
        if now - started <= stale_after:
            return True, "archiving: first check pending"
        return False, f"archiving: not checked since {checked.isoformat() if checked else 'start'}"
    listed: list[Mapping[str, Any]] = list(s.get("base_backups") or [])
    scheduled = [b for b in listed if b.get("kind") != "safety"]
    newest = _parse(scheduled[-1]["stopped_at"]) if scheduled else None
    failed_at = _parse(state.get("last_backup_failure_at"))
    due = config.schedule.previous_fire(now - config.schedule.grace)
    lag = s.get("archiving_lag_seconds")
    gaps: list[Any] = list(s.get("wal_gaps") or [])
    problems = [
        (not s.get("ok"), str(s.get("error"))),
        (
            isinstance(lag, int | float) and lag > config.rpo_s,
            f"lag {lag}s exceeds the RPO of {config.rpo_s}s",
        ),
        (bool(gaps), f"WAL missing from the bucket {gaps[:1]}; a full backup is due"),
        (
            failed_at is not None and (newest is None or failed_at > newest),
            f"base backup failed: {state.get('last_backup_failure')}",
        ),
        (
            newest is None and now - started > config.schedule.grace,
            "no base backup in the repository",
        ),
        (
            due >= started and (newest is None or newest < due),
            f"the base backup due at {due.isoformat()} did not succeed",
        ),
    ]
    failing = [why for bad, why in problems if bad]
    if failing:  # every reason: a lag and a hole in the WAL can both be true
        return False, "archiving: " + "; ".join(failing)
    shown = newest.isoformat() if newest else "-"
    return True, f"archiving: lag {lag}s, newest base backup {shown}"


def _parse(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# ---------------------------------------------------------------- actions

_backup_lock = threading.Lock()


def ensure_stanza(config: ArchivingConfig) -> bool:
    try:
        pgbackrest.run(["stanza-create"], timeout=120)
    except PgBackRestError as exc:
        update_state(config.state_dir, stanza_error=str(exc))
        log.error("stanza-create: %s", exc)
        return False
    update_state(config.state_dir, stanza_error=None)
    return True


def backup(config: ArchivingConfig, kind: str | None = None, *, safety: bool = False) -> str:
    """One base backup (type by `window.next_backup_type` unless given); returns its label."""
    with _backup_lock:
        try:
            info = pgbackrest.info()
            now = datetime.now(UTC)
            chosen = kind or window.next_backup_type(info.backups, now, config.full_every_days)
            args = ["backup", f"--type={chosen}", "--start-fast"]
            if safety:
                args.append(f"--annotation={window.SAFETY_ANNOTATION}={window.SAFETY_KIND}")
            pgbackrest.run(args)
        except PgBackRestError as exc:
            update_state(
                config.state_dir, last_backup_failure_at=_now(), last_backup_failure=str(exc)
            )
            raise
        after = pgbackrest.info()
        newest = after.backups[-1]
        log.info(
            "base backup %s (%s%s): %d bytes, %d in the bucket",
            newest.label,
            chosen,
            ", safety" if safety else "",
            newest.size,
            newest.repo_size,
        )
        update_state(config.state_dir, last_backup_at=_now(), last_backup=newest.label)
        if not safety:
            expire(config, after)
        return newest.label


def expire(config: ArchivingConfig, info: window.RepoInfo) -> None:
    keep = window.fulls_to_keep(
        info.backups,
        now=datetime.now(UTC),
        retention_days=config.retention_days,
        keep_min=config.keep_min,
    )
    pgbackrest.run(["expire", f"--repo1-retention-full={keep}"])


def check(config: ArchivingConfig) -> dict[str, Any]:
    """One lag/window measurement, recorded for the healthcheck."""
    result = status(config)
    update_state(config.state_dir, status=result)
    if not result.get("ok"):
        log.warning("archiving: %s", result.get("error"))
    return result


# ---------------------------------------------------------------- the agent's threads


def run(config: ArchivingConfig, stop: threading.Event) -> list[threading.Thread]:
    """Start the watch and the base-backup schedule; they end when `stop` is set."""
    update_state(config.state_dir, agent_started_at=_now())
    full_now = threading.Event()

    def watch() -> None:
        stanza_ok = False
        while not stop.is_set():
            stanza_ok = stanza_ok or ensure_stanza(config)
            result = check(config)
            wants_full = (
                result.get("wal_gaps")
                or result.get("new_timeline")
                or not result.get("base_backups")
            )
            if stanza_ok and result.get("ok") and wants_full and not _backup_lock.locked():
                full_now.set()
            stop.wait(config.check_interval_s)

    def schedule() -> None:
        while not stop.is_set():
            fire = config.schedule.next_fire(datetime.now(UTC))
            while not stop.is_set() and datetime.now(UTC) < fire and not full_now.is_set():
                stop.wait(min(5.0, max(0.0, (fire - datetime.now(UTC)).total_seconds()) + 0.05))
            if stop.is_set():
                break
            kind = "full" if full_now.is_set() else None
            full_now.clear()
            try:
                backup(config, kind)
            except PgBackRestError as exc:
                log.error("base backup failed: %s", exc)
                stop.wait(60)  # no tight loop while the repository refuses
            full_now.clear()  # a request made while this backup ran is answered by it

    threads = [
        threading.Thread(target=watch, name="archiving-watch", daemon=True),
        threading.Thread(target=schedule, name="archiving-schedule", daemon=True),
    ]
    for t in threads:
        t.start()
    return threads
