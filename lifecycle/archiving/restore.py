"""Point-in-time restore from the bucket, with today's restore safety (operator side).

    python -m lifecycle.restore --stack prod restore --to-time "2026-11-29 10:41:07-06:00"
    python -m lifecycle.restore --stack prod restore --latest     (stack with archiving on)

Steps, each logged with its duration:

1. **Verify** (in the agent: `python -m lifecycle.archiving verify`): the target lies in
   the recovery window, no WAL is missing on the way to it, and `pgbackrest verify`
   reads every backup file and WAL segment back against its checksum. Damage refuses
   the restore before anything is touched ("restore refuses to pretend").
2. **Confirm**: the database name typed (unless --yes).
3. **Stop every app replica** (the logical restore's `App`: `--stack` reads the
   `appContainers` output, `--app-container` repeats), then keep the state before the
   restore: a pgBackRest incremental backup marked `safety` (fast: only what changed
   since the last backup). On a brand-new host whose fresh cluster is not the one in
   the bucket (disaster recovery) there is no such backup to take; a logical dump of
   what is there is kept instead.
4. **Stop PostgreSQL** and run `pgbackrest restore --delta` in a one-off container of
   the database's own image, with its data volume, environment and networks (through
   the Docker API, like the app's stop/start: no container gets a Docker socket). The
   target goes in as recovery_target_time with `promote`; `--latest` replays all WAL.
5. **Start PostgreSQL**: it fetches WAL from the bucket (archive-get), replays to the
   target and promotes onto a new timeline. Its healthcheck must pass (with issue 11's
   check, the configured password is enforced again: a physical restore brings back
   old role passwords).
6. **Check where replay ended** (in the agent): not in recovery; for a time target, no
   transaction after it; for --latest, replay reached the newest archived segment seen
   in step 1 (a damaged segment ends replay early: refused, rolled back).
7. **Start every app replica** and wait until all are healthy (the ingress then serves
   them again; until then it answers 502).

Any failure after step 3 rolls back: PostgreSQL is restored to the safety backup
(`--set=<label> --type=immediate`), the app replicas restarted; if that fails too, exit
7 names the safety backup. Exit codes as lifecycle.restore.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NoReturn, Protocol

from lifecycle import agent_exec, backup, cli, container_health
from lifecycle.archiving import window

log = logging.getLogger("escalafin.restore")

EXIT_ROLLBACK_FAILED: Final = 7
FORWARDED_ENV: Final = ("PGBACKREST_", "ESCALAFIN_PEM_")
PGDATA: Final = "/var/lib/postgresql/data"


class PitrError(RuntimeError):
    def __init__(self, message: str, exit_code: int = cli.EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class AppLike(Protocol):
    def stop(self) -> None: ...
    def start_healthy(self) -> bool: ...


@dataclass(frozen=True)
class Agent:
    """`docker exec` into the backup agent (pgBackRest, the database URL, the bucket)."""

    docker: Any
    name: str

    def run(self, *args: str) -> dict[str, Any]:
        code, result = agent_exec.run_json(self.docker, self.name, *args)
        if code != 0:
            raise PitrError(str(result.get("error", f"exit {code}")), int(code or 3))
        return result


@dataclass(frozen=True)
class Database:
    """The PostgreSQL container: stopped, restored into, started (Docker API)."""

    docker: Any
    name: str
    timeout_s: float

    def container(self) -> Any:
        return self.docker.containers.get(self.name)

    def stop(self) -> None:
        started = time.monotonic()
        self.container().stop(timeout=60)
        log.info("postgres %s stopped in %.1fs", self.name, time.monotonic() - started)

    def pgbackrest_restore(self, args: Sequence[str]) -> None:
        """`pgbackrest restore` in a one-off container shaped like the database's own."""
        db = self.container()
        config: dict[str, Any] = db.attrs["Config"]
        every: list[str] = config.get("Env") or []
        env = [e for e in every if e.startswith(FORWARDED_ENV)]
        data = next(m for m in db.attrs["Mounts"] if m["Destination"] == PGDATA)
        networks = list(db.attrs["NetworkSettings"]["Networks"])
        labels: dict[str, str] = {
            **(config.get("Labels") or {}),
            "escalafin.component": "pitr-restore",
        }
        started = time.monotonic()
        job = self.docker.containers.create(
            db.image.id,
            entrypoint=["escalafin-pem-files", "pgbackrest"],
            command=["restore", *args],
            user="postgres",
            environment=env,
            labels=labels,
            network=networks[0],
            volumes={data["Name"]: {"bind": PGDATA, "mode": "rw"}},
        )
        try:
            for extra in networks[1:]:
                self.docker.networks.get(extra).connect(job)
            job.start()
            status = job.wait()
            output = job.logs().decode(errors="replace").strip().splitlines()
        finally:
            job.remove(force=True)
        if int(status.get("StatusCode", 1)) != 0:
            raise PitrError(f"pgbackrest restore failed: {(output or ['no output'])[-1]}")
        log.info("pgbackrest restore %s: %.1fs", " ".join(args), time.monotonic() - started)

    def start_healthy(self) -> None:
        """Start and wait until healthy: replay and promotion happen in between. Replay
        takes as long as the WAL to replay, and PostgreSQL refuses logins meanwhile, so
        unhealthy is tolerated up to the timeout; an exit or a restart ends the wait."""
        try:
            container_health.start_healthy(
                self.docker, self.name, self.timeout_s, unhealthy_grace_s=self.timeout_s
            )
        except container_health.NotHealthy as exc:
            raise PitrError(f"postgres is not healthy after the restore: {exc}") from None


def restore_args(target: datetime | None) -> list[str]:
    """pgBackRest restore options for a time target, or for the end of the archive."""
    if target is None:
        return ["--delta", "--type=default"]
    return [
        "--delta",
        "--type=time",
        f"--target={window.pg_target(target)}",
        "--target-action=promote",
    ]


def check_replay(
    target: datetime | None, newest_archived: str | None, restored: dict[str, Any]
) -> None:
    """Refuse a restore that did not reach what was asked (pure)."""
    if restored.get("in_recovery"):
        raise PitrError("the database is still in recovery after the restore")
    if target is not None:
        replayed = restored.get("last_replayed_at")
        if replayed and datetime.fromisoformat(replayed) > target:
            raise PitrError(f"replay went past the target: last transaction at {replayed}")
        return
    if newest_archived is not None:
        reached = window.Segment.parse(str(restored["current_wal"]))
        if reached.position < window.Segment.parse(newest_archived).position:
            raise PitrError(
                f"replay ended at {reached}, before the newest archived segment "
                f"{newest_archived}: the archive is damaged or incomplete"
            )


@dataclass(frozen=True)
class PitrRestore:
    agent: Agent
    database: Database
    app: AppLike | None
    confirm: Callable[[str, str], None] | None
    """(prompt, word to type back): lifecycle.restore's typed confirmation."""

    def run(self, target: datetime | None) -> dict[str, Any]:
        wanted = ["--to-time", target.isoformat()] if target else ["--latest"]
        checked = self.agent.run("lifecycle.archiving", "verify", *wanted)
        what = f"its state at {target.isoformat()}" if target else "the latest archived state"
        database = str(checked["database"])
        if self.confirm is not None:
            self.confirm(
                f"This REPLACES all data in database {database!r} with {what}, restored from "
                "the bucket. The state before is kept (a safety base backup).",
                database,
            )
        if self.app is not None:
            self.app.stop()
        try:
            safety = self._keep_current(bool(checked["same_cluster"]))
        except PitrError:
            if self.app is not None:
                self.app.start_healthy()
            raise
        try:
            restored = self._restore(restore_args(target))
            check_replay(target, checked.get("newest_archived_wal"), restored)
            if self.app is not None and not self.app.start_healthy():
                raise PitrError("the app did not become healthy after the restore")
        except PitrError as exc:
            self._roll_back(exc, safety)
        return {**checked, **restored, "safety": safety}

    def _keep_current(self, same_cluster: bool) -> dict[str, str]:
        started = time.monotonic()
        if same_cluster:
            label = str(
                self.agent.run("lifecycle.archiving", "backup", "--type=incr", "--safety")["label"]
            )
            log.info("safety base backup %s: %.1fs", label, time.monotonic() - started)
            return {"kind": "base-backup", "label": label}
        # Disaster recovery: the fresh cluster here is not the bucket's; keep what it holds.
        name = str(self.agent.run("lifecycle.backup", "now")["name"])
        log.info("pre-restore logical dump %s: %.1fs", name, time.monotonic() - started)
        return {"kind": "logical-dump", "name": name}

    def _restore(self, args: Sequence[str]) -> dict[str, Any]:
        self.database.stop()
        self.database.pgbackrest_restore(args)
        self.database.start_healthy()
        return self.agent.run("lifecycle.archiving", "restored")

    def _roll_back(self, exc: PitrError, safety: dict[str, str]) -> NoReturn:
        if safety["kind"] != "base-backup":
            raise PitrError(
                f"{exc}; this was a disaster recovery: what the database held before is in "
                f"the logical dump {safety['name']} (restore it with `restore {safety['name']}`)",
                EXIT_ROLLBACK_FAILED,
            ) from None
        label = safety["label"]
        log.error("restore failed (%s); rolling back to the safety backup %s", exc, label)
        try:
            if self.app is not None:
                self.app.stop()
            self._restore(
                ["--delta", f"--set={label}", "--type=immediate", "--target-action=promote"]
            )
        except PitrError as again:
            raise PitrError(
                f"{exc}; restoring the safety backup {label} ALSO failed ({again}): restore it "
                f"by hand with `pgbackrest restore --set={label} --type=immediate`",
                EXIT_ROLLBACK_FAILED,
            ) from None
        healthy = self.app.start_healthy() if self.app is not None else True
        raise PitrError(
            f"{exc}; the safety backup {label} was restored "
            f"(app {'healthy' if healthy else 'STILL unhealthy'})"
        ) from None


def run_cli(
    args: Any,
    docker: Any,
    *,
    agent_name: str,
    database_name: str,
    app: AppLike | None,
    confirm: Callable[[str, str], None] | None,
) -> tuple[dict[str, Any], str]:
    """`lifecycle.restore` with continuous archiving: `list` (logical dumps and the
    recovery window) and `restore --to-time T | --latest`. Raises PitrError."""
    agent = Agent(docker, agent_name)
    if args.action == "list":
        listed = agent.run("lifecycle.restore", "list")
        for warning in listed.get("warnings", []):
            log.warning("%s", warning)
        status = agent.run("lifecycle.archiving", "status")
        dumps: list[dict[str, Any]] = list(listed["backups"])
        return {"ok": True, "backups": dumps, "pitr": status}, _human_list(dumps, status)
    if args.action != "restore":
        raise PitrError(f"{args.action} takes a dump name (see list)", cli.EXIT_USAGE)
    try:
        target = window.parse_target(args.to_time) if args.to_time else None
    except window.WindowError as exc:
        raise PitrError(str(exc), cli.EXIT_USAGE) from None
    database = Database(docker, database_name, args.health_timeout)
    result = PitrRestore(agent, database, app, confirm).run(target)
    where = target.isoformat() if target else "the latest archived state"
    return {"ok": True, **result}, f"restored to {where} (pre-restore state: {result['safety']})"


def _human_list(dumps: list[dict[str, Any]], s: dict[str, Any]) -> str:
    lines = [
        "logical dumps:",
        *(f"  {line}" for line in backup.listing_text(dumps).splitlines()),
        "point-in-time recovery:",
        f"  {'healthy' if s.get('healthy') else 'UNHEALTHY'}: {s.get('health')}",
        f"  earliest restorable: {s.get('earliest_restorable') or '-'}",
        f"  latest restorable:   {s.get('latest_restorable') or '-'}",
        f"  archiving lag:       {s.get('archiving_lag_seconds')} s",
        "  base backups:",
    ]
    listed: list[dict[str, Any]] = list(s.get("base_backups") or [])
    lines += [
        f"    {b['label']:24} {b['type']:4} {b['kind']:9} {b['stopped_at']}  {b['size']:>12} B"
        for b in listed
    ]
    return "\n".join(lines)
