"""Restore a backup, reversibly: verify, confirm, cut writers off, restore, health-check.

Replaces the seed's interactive `restore-db.sh` (list, type "SI", safety backup, stop the
app, `gunzip | psql`, restart, roll back on failure) and keeps every step, done safer:

1. The chosen archive (from the backups volume, or downloaded from the bucket) must match
   the SHA-256 recorded when it was made (sidecar or bucket metadata) and is read through
   by pg_restore BEFORE anything touches the database. An archive with no recorded
   checksum is refused unless `--accept-unverified` (a flipped bit inside compressed data
   reads through pg_restore unnoticed).
2. A typed confirmation (the database name) unless `--yes`; with no terminal and no
   `--yes` the command refuses instead of hanging.
3. Every app container (all replicas) is stopped; then EVERY writer is cut off — new
   sessions refused, existing ones ended — and the live database is moved aside whole by
   renaming it (`<db>_retired_<stamp>`). Every write PostgreSQL acknowledged before is in
   it; every later attempt is refused, never acknowledged and lost. A verified safety
   backup of that retired database is taken.
4. The archive is restored with parallel pg_restore workers into a staging database and
   renamed in (`pg_restore --clean` would keep objects newer than the backup and can trip
   over them). A failure anywhere (an error in the archive, a full disk, a killed
   connection) renames the retired database back: the data is exactly as it was.
5. The app containers are started and must all become healthy; if one does not (e.g. the
   backup predates the schema the app expects), the retired database is put back
   (`revert`) and the app restarted. Meanwhile the ingress answers 502.

The retired database is kept after a successful restore (BACKUP_KEEP_RETIRED, default 1:
the newest), so the way back is one command, `revert`, which is itself reversible (the
database it replaces is retired in turn). A restore interrupted at any point (even
SIGKILL) is repaired by the next restore, revert, backup run or `tidy`: the live database
renamed back if it was moved aside, staging databases, temp files and orphaned pg_restore
workers removed. Safety archives follow the backup retention (their own floor).

Where it runs: the database steps (3-4) need pg tools, the database and the backups
volume; the app steps need the Docker API. With `--stack` or `--agent-container` the
database steps run inside the backup agent container (`docker exec`, it is on the
internal network with the volume mounted — so this works in prod, where no database port
is published) while the app is stopped/started from here through the Docker API. The app
replicas have generated names (new on every deploy): `--stack` reads them from the
`appContainers` output; `--app-container` names them by hand (repeat it, one per replica;
`docker ps --filter label=escalafin.stack=<prefix> --filter label=escalafin.component=app`
lists them). Without them everything runs here (dev with the admin port, or inside the agent).

    python -m lifecycle.restore --stack prod list
    python -m lifecycle.restore --stack prod restore --latest
    python -m lifecycle.restore --stack prod retired          # what revert can go back to
    python -m lifecycle.restore --stack prod revert [NAME] --yes
    python -m lifecycle.restore --database-url ... --backup-dir DIR [--s3-bucket B]
        [--app-container NAME ...] [--docker-host URL]
        restore escalafin-20251016T020000.000000Z.dump

Exit codes: 0 done, app healthy · 1 not confirmed, nothing done · 2 usage or
configuration · 3 refused or failed with the database as before (archive failed
verification or has no recorded checksum; restore put back; or app unhealthy and the
previous database put back) · 4 database or Docker unreachable, nothing done · 7 the
restore failed AND putting the previous database back failed: the message says how.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final, Protocol

import psycopg

from lifecycle import (
    agent_exec,
    backup,
    cli,
    container_health,
    databases,
    db,
    restore_plan,
    retention,
    tidy,
)
from lifecycle.backup import BackupConfig, BackupError
from lifecycle.object_store import ObjectStore, ObjectStoreError

log = logging.getLogger("escalafin.restore")

EXIT_DECLINED: Final = 1
EXIT_ROLLBACK_FAILED: Final = 7
with_database = databases.with_database  # kept here: tests and operators' scripts use it


class RestoreError(RuntimeError):
    def __init__(self, message: str, exit_code: int = cli.EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------- the archive


def fetch(config: BackupConfig, name: str) -> tuple[Path, str | None]:
    """The archive as a local file plus the checksum recorded when it was made, if any.

    The checksum comes from the `.sha256` sidecar, else from the bucket object's metadata
    (an archive copied to the volume without its sidecar); when both exist they must agree.
    Archives missing from the volume are downloaded from the bucket.
    """
    if retention.parse_name(name) is None:
        raise RestoreError(
            f"{name!r} is not a backup name (escalafin-<UTC stamp>.dump)", cli.EXIT_USAGE
        )
    local = config.backup_dir / name
    if local.is_file():
        return local, _recorded_checksum(config, local)
    if config.store is None:
        raise RestoreError(
            f"{name} is not in {config.backup_dir} (and no bucket is configured)", cli.EXIT_USAGE
        )
    partial = config.backup_dir / f".{name}.download"
    started = time.monotonic()
    try:
        stored = ObjectStore(config.store).download(name, partial)
    except ObjectStoreError as exc:
        raise RestoreError(str(exc), cli.EXIT_UNAVAILABLE) from None
    log.info("download %s: %d bytes in %.1fs", name, stored.size, time.monotonic() - started)
    if stored.sha256 is not None:
        backup.write_sidecar(local, stored.sha256)
    backup.publish(partial, local)
    return local, stored.sha256


def _recorded_checksum(config: BackupConfig, local: Path) -> str | None:
    sidecar = backup.read_sidecar(local)
    if config.store is None:
        return sidecar
    try:
        stored = ObjectStore(config.store).find(local.name)
    except ObjectStoreError as exc:
        if sidecar is None:
            log.warning("%s has no sidecar and the bucket cannot be asked: %s", local.name, exc)
        return sidecar
    remote = stored.sha256 if stored is not None else None
    if sidecar is not None and remote is not None and sidecar != remote:
        raise RestoreError(
            f"refusing to restore: {local.name} has two different recorded checksums "
            f"(sidecar {sidecar[:12]}…, bucket metadata {remote[:12]}…)"
        )
    return sidecar or remote


def check(
    path: Path, recorded: str | None, bin_dir: Path | None, *, accept_unverified: bool
) -> int:
    """Refuse an archive that is not exactly what was backed up; return its table count.

    Only a checksum recorded when the archive was made proves that: pg_restore reading an
    archive through does not notice a flipped bit inside compressed data. An archive
    without one is refused unless the operator explicitly accepts it (--accept-unverified).
    """
    if recorded is None and not accept_unverified:
        raise RestoreError(
            f"refusing to restore: {path.name} has no recorded checksum (no .sha256 sidecar "
            "and no sha256 metadata on its bucket object), so its content cannot be trusted; "
            "pass --accept-unverified to restore it anyway"
        )
    if recorded is None:
        log.warning(
            "%s: no recorded checksum; accepted unverified (--accept-unverified)", path.name
        )
    try:
        return backup.verify_archive(path, bin_dir, recorded)
    except BackupError as exc:
        raise RestoreError(f"refusing to restore: {exc}", exc.exit_code) from None


def verify(config: BackupConfig, name: str, *, accept_unverified: bool = False) -> dict[str, Any]:
    """Step 1: the archive's checksum and a full read, before anything is touched."""
    path, recorded = fetch(config, name)
    started = time.monotonic()
    tables = check(path, recorded, config.pg_bin_dir, accept_unverified=accept_unverified)
    log.info(
        "verify %s: checksum %s, %d tables readable in %.1fs",
        name,
        "ok" if recorded else "NOT RECORDED (accepted)",
        tables,
        time.monotonic() - started,
    )
    return {
        "name": name,
        "size": path.stat().st_size,
        "tables": tables,
        "checksum_verified": recorded is not None,
        "database": databases.database_name(config.database_url),
    }


# ---------------------------------------------------------------- the database steps


def apply(config: BackupConfig, name: str, *, accept_unverified: bool = False) -> dict[str, Any]:
    """Steps 3-4 (the app is already stopped): cut writers off, safety backup, restore, swap.

    1. Every writer is cut off and the live database is moved aside, whole, as a retired
       database (databases.cut_off): from here a client is refused, never acknowledged.
    2. The safety backup is a verified dump of that retired database: it holds every write
       acknowledged before the cut, and nothing can change it while it is taken.
    3. The archive is restored with parallel workers into a staging database (same
       encoding and locale), then renamed to the target's name.
    A failure anywhere puts the retired database back under the target's name, exactly as
    it was (no row counts to compare, no second restore). On success the retired database
    is kept (see tidy for how many), so `revert` gets back to the moment of the cut.
    """
    path, recorded = fetch(config, name)
    target = databases.database_name(config.database_url)
    jobs = restore_plan.restore_jobs()
    with backup.run_lock(config.backup_dir):
        tidy.tidy(config)
        check(path, recorded, config.pg_bin_dir, accept_unverified=accept_unverified)
        started = time.monotonic()
        now = config.clock()
        with databases.admin(config.database_url) as conn:
            family = set(databases.family(conn, target))
            if target not in family:
                raise RestoreError(f"database {target!r} does not exist", cli.EXIT_USAGE)
            retired = restore_plan.new_sibling(target, "retired", now, family)
            staging = restore_plan.new_sibling(target, "restore", now, family)
            marker = restore_plan.Marker(restore_plan.IN_PROGRESS, name, at=now.isoformat())
            ended = databases.cut_off(conn, target, retired, marker)
        log.info(
            "writers cut off: %s moved aside as %s (%d sessions ended)", target, retired, ended
        )
        safety: str | None = None
        try:
            safety = _safety_backup(config, retired)
            marker = replace(marker, safety=safety)
            with databases.admin(config.database_url) as conn:
                databases.mark(conn, retired, marker)
                databases.create_like(conn, retired, staging)
            restore_started = time.monotonic()
            databases.restore_into(config, path, staging, jobs)
            log.info(
                "restored %s into %s: %.1fs, %d jobs",
                name,
                staging,
                time.monotonic() - restore_started,
                jobs,
            )
            with databases.admin(config.database_url) as conn:
                databases.mark(conn, retired, replace(marker, state=restore_plan.RETIRED))
                databases.rename(conn, staging, target)
        except BaseException as exc:
            swapped = _put_back(config, target, retired, staging)
            if swapped:
                log.warning("the restored database is in place despite: %s", exc)
            elif isinstance(exc, (BackupError, RestoreError, psycopg.Error)):
                raise RestoreError(
                    f"{exc}; nothing was restored: {target} is back as it was"
                ) from None
            else:
                raise
        seconds = time.monotonic() - started
        log.info("restore %s: %.1fs; the replaced database is kept as %s", name, seconds, retired)
        tidy.tidy(config)  # retired databases beyond BACKUP_KEEP_RETIRED, the new one kept
    return {"restored": name, "safety": safety, "retired": retired, "seconds": round(seconds, 3)}


def _safety_backup(config: BackupConfig, retired: str) -> str:
    started = time.monotonic()
    source = replace(config, database_url=databases.with_database(config.database_url, retired))
    try:
        path, _, _ = backup.dump_verified(source, retention.SAFETY_TAG)
    except BackupError as exc:
        raise BackupError(f"safety backup failed: {exc}", exc.exit_code) from None
    log.info(
        "safety backup %s: %d bytes in %.1fs",
        path.name,
        path.stat().st_size,
        time.monotonic() - started,
    )
    return path.name


def _put_back(config: BackupConfig, target: str, retired: str, staging: str) -> bool:
    """After a failed restore: the retired database back under the target's name. Returns
    True when the swap had in fact happened (the restored database holds the name and the
    staging one is gone: only the acknowledgement was lost), which is then left alone."""
    try:
        with databases.admin(config.database_url) as conn:
            family = databases.family(conn, target)
            if target in family and staging not in family:
                return True
            databases.drop(conn, staging)
            if target not in family:
                databases.rename(conn, retired, target)
            databases.reopen(conn, target)
    except (BackupError, psycopg.Error) as exc:
        raise RestoreError(
            f"the restore failed AND putting {retired} back as {target} failed ({exc}): "
            "run `python -m lifecycle.restore tidy` (it renames it back), or by hand: "
            f'ALTER DATABASE "{retired}" RENAME TO "{target}"',
            EXIT_ROLLBACK_FAILED,
        ) from None
    return False


def revert(config: BackupConfig, retired: str | None = None) -> dict[str, Any]:
    """Go back to a retired database (default: the newest), retiring the current one.

    The operator's way back after a restore (and what `restore` does itself when the app
    is not healthy afterwards): writers are cut off as for a restore, the current database
    is moved aside as a new retired database (so the revert is itself reversible, and
    writes made since the restore are kept), and the retired one takes the target's name.
    """
    target = databases.database_name(config.database_url)
    with backup.run_lock(config.backup_dir):
        tidy.tidy(config)
        with databases.admin(config.database_url) as conn:
            family = databases.family(conn, target)
            candidates = sorted(n for n in family if restore_plan.kind_of(target, n) == "retired")
            chosen = retired or (candidates[-1] if candidates else None)
            if chosen is None or chosen not in candidates:
                raise RestoreError(
                    f"no retired database {chosen or ''} to go back to "
                    f"(retired: {', '.join(candidates) or 'none'})",
                    cli.EXIT_USAGE,
                )
            now = config.clock()
            current = restore_plan.new_sibling(target, "retired", now, set(family))
            marker = restore_plan.Marker(
                restore_plan.IN_PROGRESS, f"revert to {chosen}", at=now.isoformat()
            )
            databases.cut_off(conn, target, current, marker)
            try:
                databases.rename(conn, chosen, target)
                databases.reopen(conn, target)
            except psycopg.Error:
                databases.rename(conn, current, target)
                databases.reopen(conn, target)
                raise
            databases.mark(conn, current, replace(marker, state=restore_plan.RETIRED))
    log.info("reverted %s to %s; the database it replaced is kept as %s", target, chosen, current)
    return {"reverted_to": chosen, "retired": current}


def retired_databases(config: BackupConfig) -> list[dict[str, Any]]:
    """The retired databases `revert` can go back to, newest first, with their markers."""
    target = databases.database_name(config.database_url)
    with databases.admin(config.database_url) as conn:
        family = databases.family(conn, target)
    rows: list[dict[str, Any]] = []
    for name in sorted(family, reverse=True):
        if restore_plan.kind_of(target, name) == "retired":
            marker = restore_plan.Marker.parse(family[name].comment)
            rows.append({"name": name, **(asdict(marker) if marker else {})})
    return rows


def replace_database(config: BackupConfig, path: Path) -> str:
    """The swap alone (benchmarks): restore `path` in place of the live database; return the
    retired database's name. No safety backup, no lock, no checksum."""
    target = databases.database_name(config.database_url)
    now = config.clock()
    with databases.admin(config.database_url) as conn:
        family = set(databases.family(conn, target))
        retired = restore_plan.new_sibling(target, "retired", now, family)
        staging = restore_plan.new_sibling(target, "restore", now, family)
        databases.create_like(conn, target, staging)
    databases.restore_into(config, path, staging, restore_plan.restore_jobs())
    with databases.admin(config.database_url) as conn:
        marker = restore_plan.Marker(restore_plan.RETIRED, path.name, at=now.isoformat())
        databases.cut_off(conn, target, retired, marker)
        databases.rename(conn, staging, target)
    return retired


# ---------------------------------------------------------------- where the steps run


class Steps(Protocol):
    """The database steps, run in this process or inside the backup agent container."""

    def list(self) -> dict[str, Any]: ...
    def verify(self, name: str, *, accept_unverified: bool) -> dict[str, Any]: ...
    def apply(self, name: str, *, accept_unverified: bool) -> dict[str, Any]: ...
    def revert(self, retired: str | None) -> dict[str, Any]: ...
    def retired(self) -> list[dict[str, Any]]: ...
    def tidy(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LocalSteps:
    config: BackupConfig

    def list(self) -> dict[str, Any]:
        rows, warnings = backup.listing(self.config)
        return {"backups": rows, "warnings": warnings}

    def verify(self, name: str, *, accept_unverified: bool = False) -> dict[str, Any]:
        return verify(self.config, name, accept_unverified=accept_unverified)

    def apply(self, name: str, *, accept_unverified: bool = False) -> dict[str, Any]:
        return apply(self.config, name, accept_unverified=accept_unverified)

    def revert(self, retired: str | None = None) -> dict[str, Any]:
        return revert(self.config, retired)

    def retired(self) -> list[dict[str, Any]]:
        return retired_databases(self.config)

    def tidy(self) -> dict[str, Any]:
        with backup.run_lock(self.config.backup_dir):
            return tidy.tidy(self.config)


@dataclass(frozen=True)
class AgentSteps:
    """`docker exec` into the backup agent; it has the tools, the volume and the network."""

    docker: Any  # docker.DockerClient (imported lazily: the agent itself never needs it)
    container: str

    def _run(self, *args: str) -> dict[str, Any]:
        code, result = agent_exec.run_json(self.docker, self.container, "lifecycle.restore", *args)
        if code != 0:
            raise RestoreError(str(result.get("error", f"exit {code}")), int(code or 3))
        return result

    def list(self) -> dict[str, Any]:
        return self._run("list")

    def verify(self, name: str, *, accept_unverified: bool = False) -> dict[str, Any]:
        return self._run("verify", name, *_unverified_flag(accept_unverified))

    def apply(self, name: str, *, accept_unverified: bool = False) -> dict[str, Any]:
        return self._run("apply", name, "--yes", *_unverified_flag(accept_unverified))

    def revert(self, retired: str | None = None) -> dict[str, Any]:
        return self._run("revert", *([retired] if retired else []), "--yes")

    def retired(self) -> list[dict[str, Any]]:
        return list(self._run("retired")["retired"])

    def tidy(self) -> dict[str, Any]:
        return self._run("tidy")


def _unverified_flag(accept: bool) -> list[str]:
    return ["--accept-unverified"] if accept else []


# ---------------------------------------------------------------- the app container


class App:
    """Every app replica: stopped during the restore, started and health-checked after it
    (container_health: the health gates' rules, so a failing replica is seen at once).
    Both restores use it: the logical one here and the point-in-time one."""

    def __init__(self, docker: Any, names: Sequence[str], timeout_s: float) -> None:
        if not names:
            raise RestoreError("no app container to stop and start", cli.EXIT_USAGE)
        from docker.errors import NotFound  # noqa: PLC0415 (the ops image's tools need no Docker SDK)

        self.docker = docker
        try:
            self.containers = [docker.containers.get(name) for name in names]
        except NotFound as exc:
            raise RestoreError(
                f"app container not found on the Docker host: {exc.explanation or exc}",
                cli.EXIT_USAGE,
            ) from None
        self.names = list(names)
        self.timeout_s = timeout_s

    def stop(self) -> None:
        """All of them, so no replica keeps writing; each gets its graceful stop timeout."""
        started = time.monotonic()
        for container in self.containers:
            container.stop(timeout=30)
        log.info("app %s stopped in %.1fs", ", ".join(self.names), time.monotonic() - started)

    def start_healthy(self) -> bool:
        """Start all, then wait until every one is healthy (False at the first that cannot be,
        its last logs logged); one deadline for all of them."""
        started = time.monotonic()
        for container in self.containers:
            container.start()
        try:
            for name in self.names:
                left = max(self.timeout_s - (time.monotonic() - started), 0.0)
                container_health.wait_healthy(self.docker, name, left)
        except container_health.NotHealthy as exc:
            log.error("app %s", exc)
            return False
        took = time.monotonic() - started
        log.info("app %s healthy in %.1fs", ", ".join(self.names), took)
        return True


def restore(
    steps: Steps, name: str, app: App | None, confirm: bool, *, accept_unverified: bool = False
) -> dict[str, Any]:
    """The whole procedure (module docstring, steps 1-5)."""
    checked = steps.verify(name, accept_unverified=accept_unverified)
    if confirm:
        database = str(checked["database"])
        _confirm(
            f"This REPLACES all data in database {database!r} with backup {name}.\n"
            "The current database is kept aside (retired) and a safety backup is taken first.",
            database,
        )
    if app is not None:
        app.stop()
    try:
        result = steps.apply(name, accept_unverified=accept_unverified)
    except RestoreError:
        if app is not None:
            app.start_healthy()
        raise
    if app is None or app.start_healthy():
        return {**checked, **result}
    retired = str(result["retired"])
    app.stop()
    try:
        steps.revert(retired)
    except RestoreError as exc:
        raise RestoreError(
            f"the app was not healthy with {name}, and putting back the database it "
            f"replaced ({retired}) failed: {exc}",
            EXIT_ROLLBACK_FAILED,
        ) from None
    healthy = app.start_healthy()
    raise RestoreError(
        f"the app did not become healthy with {name}: the database it replaced was put "
        f"back (app {'healthy' if healthy else 'STILL unhealthy'}; the restored one is kept "
        "as a retired database, see `retired`)"
    )


def _confirm(prompt: str, word: str) -> None:
    """A typed confirmation: `word` must be typed back; no terminal means no."""
    if not sys.stdin.isatty():
        raise RestoreError(
            "refusing to go on without confirmation: stdin is not a terminal "
            "(pass --yes to confirm non-interactively)",
            cli.EXIT_USAGE,
        )
    print(f"{prompt}\nType {word!r} to continue: ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip() != word:
        raise RestoreError("not confirmed; nothing was changed", EXIT_DECLINED)


# ---------------------------------------------------------------- CLI


def _stack_outputs(stack: str) -> tuple[dict[str, Any], str | None]:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise RestoreError(
            "--stack needs the pulumi CLI on PATH (or pass explicit settings)", cli.EXIT_USAGE
        )
    out = subprocess.run(
        [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RestoreError(
            f"pulumi stack output --stack {stack} failed: {out.stderr.strip()}", cli.EXIT_USAGE
        )
    host = subprocess.run(
        [pulumi, "config", "get", "docker:host", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    docker_host = host.stdout.strip() if host.returncode == 0 else ""
    return json.loads(out.stdout), docker_host or None


def _config(args: argparse.Namespace) -> BackupConfig:
    env = dict(os.environ)
    for flag, var in (
        ("database_url", "DATABASE_URL"),
        ("backup_dir", "BACKUP_DIR"),
        ("s3_bucket", "S3_BUCKET"),
        ("s3_endpoint_url", "S3_ENDPOINT_URL"),
        ("s3_region", "S3_REGION"),
    ):
        if getattr(args, flag):
            env[var] = str(getattr(args, flag))
    try:
        return BackupConfig.from_env(env)
    except BackupError as exc:
        raise RestoreError(str(exc), cli.EXIT_USAGE) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lifecycle.restore",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "action",
        choices=("list", "restore", "verify", "apply", "revert", "retired", "tidy"),
        help="restore: the whole procedure; revert [RETIRED]: back to the database a restore "
        "replaced; retired: what revert can go back to; tidy: repair what an interrupted "
        "run left; verify/apply: the database steps alone (what --stack runs in the agent)",
    )
    p.add_argument("name", nargs="?", help="backup name (see list), or for revert a retired db")
    p.add_argument(
        "--latest",
        action="store_true",
        help="restore the newest backup; with continuous archiving: the latest archived state",
    )
    p.add_argument(
        "--to-time",
        help="point-in-time restore (continuous archiving), e.g. '2026-11-29 10:41:07-06:00'",
    )
    p.add_argument(
        "--database-container",
        help="the PostgreSQL container a point-in-time restore stops, restores and starts",
    )
    p.add_argument(
        "--accept-unverified",
        action="store_true",
        help="restore an archive that has no recorded checksum (its content cannot be proven)",
    )
    p.add_argument("--stack", help="read containers and the Docker host from this Pulumi stack")
    p.add_argument("--agent-container", help="run the database steps inside this container")
    p.add_argument(
        "--app-container",
        action="append",
        default=[],
        help="stop/start this container around the restore (repeat it for every replica)",
    )
    p.add_argument("--docker-host", help="Docker API (default: DOCKER_HOST / local socket)")
    p.add_argument("--database-url", help="default $DATABASE_URL (prefer the environment)")
    p.add_argument("--backup-dir", help="default $BACKUP_DIR or /backup-escalafin")
    p.add_argument("--s3-bucket", help="default $S3_BUCKET")
    p.add_argument("--s3-endpoint-url", help="default $S3_ENDPOINT_URL (S3-compatible stores)")
    p.add_argument("--s3-region", help="default $S3_REGION")
    p.add_argument("--health-timeout", type=float, default=300.0, help="seconds (default 300)")
    p.add_argument("--yes", action="store_true", help="skip the typed confirmation")
    p.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    return p


def _docker(host: str | None) -> Any:
    import docker  # noqa: PLC0415 - only the operator side needs the Docker API
    from docker.errors import DockerException  # noqa: PLC0415

    try:
        client = docker.DockerClient(base_url=host) if host else docker.from_env()
        client.ping()
    except DockerException as exc:
        raise RestoreError(
            f"Docker API unreachable ({host or 'DOCKER_HOST'}): {exc}", cli.EXIT_UNAVAILABLE
        ) from None
    return client


def stack_app_containers(outputs: dict[str, Any]) -> list[str]:
    """Every app replica the stack runs: `appContainers`, else (older stacks) `appContainer`."""
    names: list[Any] = list(outputs.get("appContainers") or [])
    if not names and outputs.get("appContainer"):
        names = [outputs["appContainer"]]
    return [str(n) for n in names]


def existing_app_containers(docker: Any, names: Sequence[str]) -> list[str]:
    """The stack's replicas that exist on the host. Outputs keep the names of the last
    successful `up`: after a host loss the `up` on the new host may end at a gate before
    any replica exists (disaster recovery, docs/operations.md §6), and then there is
    nothing to stop, which is said, not an error."""
    from docker.errors import NotFound  # noqa: PLC0415

    found: list[str] = []
    for name in names:
        try:
            docker.containers.get(name)
        except NotFound:
            log.warning("app container %s (stack outputs) is not on the Docker host: skipped", name)
            continue
        found.append(name)
    return found


def latest(rows: Sequence[dict[str, Any]]) -> str:
    """The newest backup (not a safety archive) in a listing, wherever it is."""
    refs = [
        ref
        for r in rows
        if (ref := retention.parse_name(str(r["name"]))) and ref.tag != retention.SAFETY_TAG
    ]
    if not refs:
        raise RestoreError("no backups to restore", cli.EXIT_USAGE)
    return max(refs).name


def _pitr(
    args: argparse.Namespace,
    docker: Any,
    agent: str | None,
    database: str | None,
    app_names: Sequence[str],
) -> tuple[dict[str, Any], str]:
    """Continuous archiving (issue 13): the recovery window and point-in-time restores."""
    from lifecycle.archiving import restore as pitr  # noqa: PLC0415 - archiving stacks only

    if not (database and agent):
        raise RestoreError(
            "--to-time needs a stack with continuous archiving (or --agent-container "
            "and --database-container)",
            cli.EXIT_USAGE,
        )
    try:
        return pitr.run_cli(
            args,
            docker,
            agent_name=agent,
            database_name=database,
            app=App(docker, app_names, args.health_timeout) if app_names else None,
            confirm=None if args.yes else _confirm,
        )
    except pitr.PitrError as exc:
        raise RestoreError(str(exc), exc.exit_code) from None


def _run(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    agent, app_names, host = args.agent_container, list(args.app_container), args.docker_host
    database = args.database_container
    if args.stack:
        outputs, stack_host = _stack_outputs(args.stack)
        agent = agent or outputs.get("backupAgentContainer")
        app_names = app_names or stack_app_containers(outputs)
        host = host or stack_host
        monitoring: dict[str, Any] = outputs.get("backupMonitoring") or {}
        if monitoring.get("rpoSeconds"):  # continuous archiving is on
            database = database or outputs.get("databaseContainer")
        if not agent:
            raise RestoreError(
                f"stack {args.stack} exports no backupAgentContainer", cli.EXIT_USAGE
            )
    docker = _docker(host) if agent or app_names else None
    if args.stack and not args.app_container and app_names:
        app_names = existing_app_containers(docker, app_names)
    if args.to_time or (
        database and agent and args.action in ("list", "restore") and not args.name
    ):
        return _pitr(args, docker, agent, database, app_names)
    steps: Steps = AgentSteps(docker, agent) if agent else LocalSteps(_config(args))
    app = App(docker, app_names, args.health_timeout) if app_names else None
    if args.action in ("list", "retired", "tidy", "revert"):
        return _database_action(args, steps, app)
    name = args.name or (latest(steps.list()["backups"]) if args.latest else None)
    if not name:
        raise RestoreError("name a backup (see `list`) or pass --latest", cli.EXIT_USAGE)
    unverified = bool(args.accept_unverified)
    if args.action == "verify":
        return {"ok": True, **steps.verify(name, accept_unverified=unverified)}, f"{name} verified"
    if args.action == "apply":
        if not args.yes:
            raise RestoreError("apply is the unconfirmed database step: pass --yes", cli.EXIT_USAGE)
        return {"ok": True, **steps.apply(name, accept_unverified=unverified)}, f"{name} applied"
    result = restore(steps, name, app, confirm=not args.yes, accept_unverified=unverified)
    return {"ok": True, **result}, (
        f"restored {name} (safety backup {result['safety']}; the replaced database is kept as "
        f"{result['retired']}, `revert` goes back to it); "
        f"{'app healthy' if app else 'no app container given'}"
    )


def _database_action(
    args: argparse.Namespace, steps: Steps, app: App | None
) -> tuple[dict[str, Any], str]:
    """list, retired, tidy, revert: the actions that take no archive."""
    if args.action == "list":
        listed = steps.list()
        for warning in listed.get("warnings", []):
            log.warning("%s", warning)
        return {"ok": True, **listed}, backup.listing_text(listed["backups"])
    if args.action == "retired":
        rows = steps.retired()
        human = "\n".join(f"{r['name']}  {r.get('archive', '')}  {r.get('at', '')}" for r in rows)
        return {"ok": True, "retired": rows}, human or "no retired databases"
    if args.action == "tidy":
        return {"ok": True, **steps.tidy()}, "tidy: done"
    if not args.yes:
        _confirm(
            f"This puts back {args.name or 'the newest retired database'} in place of the "
            "current database (which is kept aside, retired, so this can be undone).",
            "revert",
        )
    if app is not None:
        app.stop()
    try:
        done = steps.revert(args.name)
    finally:
        healthy = app.start_healthy() if app is not None else None
    return {"ok": True, **done, "app_healthy": healthy}, (
        f"reverted to {done['reverted_to']}; the replaced database is kept as {done['retired']}"
        + ("" if healthy is None else f"; app {'healthy' if healthy else 'NOT healthy'}")
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cli.setup_logging()
    try:
        result, human = _run(args)
    except RestoreError as exc:
        log.error("restore: %s", exc)
        return cli.fail(args.json, exc.exit_code, str(exc))
    except (BackupError, restore_plan.PlanError) as exc:
        log.error("restore: %s", exc)
        return cli.fail(args.json, exc.exit_code, str(exc))
    except (ObjectStoreError, db.ConnectionFailed) as exc:
        log.error("restore: %s", exc)
        return cli.fail(args.json, cli.EXIT_UNAVAILABLE, str(exc))
    except psycopg.Error as exc:  # the server went away mid-step; the next run repairs (tidy)
        url = args.database_url or os.environ.get("DATABASE_URL", "")
        message = db.scrub(f"database error: {exc}", url)
        log.error("restore: %s", message)
        return cli.fail(args.json, cli.EXIT_UNAVAILABLE, message)
    cli.emit(args.json, result, human)
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
