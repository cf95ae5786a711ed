"""Restore a backup, reversibly: verify first, confirm, safety backup, restore, health-check.

Replaces the seed's interactive `restore-db.sh` (list, type "SI", safety backup, stop the
app, `gunzip | psql`, restart, roll back on failure) and keeps every step, done safer:

1. The chosen archive (from the backups volume, or downloaded from the bucket) is checked
   against its recorded SHA-256 and read through completely by pg_restore BEFORE anything
   touches the database; a corrupted or truncated archive is refused.
2. A typed confirmation (the database name) unless `--yes`; with no terminal and no
   `--yes` the command refuses instead of hanging.
3. The app container is stopped (so nothing writes during the restore), then a verified
   safety backup of the current database is taken.
4. The archive is restored with parallel pg_restore workers into a staging database next
   to the live one, and only when all of it restored are the two swapped by renaming, in
   one transaction (see `replace_database`; `pg_restore --clean` would keep objects newer
   than the backup and can trip over them). A failure midway (an error in the archive, a
   full disk, a killed connection) therefore leaves the live database exactly as it was:
   safer than restoring the safety backup over a half-restored database, which can fail
   for the same reason, and faster than a one-session restore. After a failure the table
   row counts are compared with those taken before; only if they differ is the safety
   backup restored.
5. The app is started and must become healthy; if it does not (e.g. the backup predates
   the schema the app expects), the safety backup is restored and the app restarted.

Where it runs: the database steps (3-4) need pg tools, the database and the backups
volume; the app steps need the Docker API. With `--stack` or `--agent-container` the
database steps run inside the backup agent container (`docker exec`, it is on the
internal network with the volume mounted — so this works in prod, where no database port
is published) while the app is stopped/started from here through the Docker API.
Without them everything runs here (dev with the admin port, or inside the agent).

    python -m lifecycle.restore --stack prod list
    python -m lifecycle.restore --stack prod restore --latest
    python -m lifecycle.restore --database-url ... --backup-dir DIR [--s3-bucket B]
        [--app-container NAME] [--docker-host URL] restore escalafin-20251016T020000Z.dump

Exit codes: 0 restored, app healthy · 1 not confirmed, nothing done · 2 usage or
configuration · 3 refused or failed with the database as before (archive failed
verification; restore rolled back; or safety backup restored) · 4 database or Docker
unreachable, nothing done · 7 the restore failed AND the safety rollback failed: the
message names the safety backup to restore by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import conninfo, sql

from lifecycle import backup, cli, db, retention
from lifecycle.backup import BackupConfig, BackupError
from lifecycle.object_store import ObjectStore, ObjectStoreError

log = logging.getLogger("escalafin.restore")

EXIT_DECLINED: Final = 1
EXIT_ROLLBACK_FAILED: Final = 7
MAINTENANCE_DATABASE: Final = "postgres"  # where CREATE/ALTER/DROP DATABASE run from
RESTORE_SESSION_OPTIONS: Final = "-c maintenance_work_mem=256MB -c synchronous_commit=off"


class RestoreError(RuntimeError):
    def __init__(self, message: str, exit_code: int = cli.EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------- database steps


def _database_name(url: str) -> str:
    return str(conninfo.conninfo_to_dict(db.to_conninfo(url)).get("dbname") or "")


def fetch(config: BackupConfig, name: str) -> tuple[Path, str | None]:
    """The archive as a local file plus its recorded checksum (downloading it if needed)."""
    if retention.parse_name(name) is None:
        raise RestoreError(
            f"{name!r} is not a backup name (escalafin-<UTC stamp>.dump)", cli.EXIT_USAGE
        )
    local = config.backup_dir / name
    if local.is_file():
        return local, backup.read_sidecar(local)
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
        (config.backup_dir / (name + ".sha256")).write_text(f"{stored.sha256}  {name}\n")
    partial.rename(local)
    return local, stored.sha256


def verify(config: BackupConfig, name: str) -> dict[str, Any]:
    """Step 1: refuse an archive that is not exactly what was backed up."""
    path, sha256 = fetch(config, name)
    started = time.monotonic()
    if sha256 is None:
        log.warning("verify %s: no recorded checksum; checking readability only", name)
    try:
        tables = backup.verify_archive(path, config.pg_bin_dir, sha256)
    except BackupError as exc:
        raise RestoreError(f"refusing to restore: {exc}", exc.exit_code) from None
    log.info(
        "verify %s: checksum %s, %d tables readable in %.1fs",
        name,
        "ok" if sha256 else "not recorded",
        tables,
        time.monotonic() - started,
    )
    return {
        "name": name,
        "size": path.stat().st_size,
        "tables": tables,
        "checksum_verified": sha256 is not None,
        "database": _database_name(config.database_url),
    }


def table_counts(url: str) -> dict[str, int]:
    """Exact row count of every user table: cheap evidence of whether data changed."""
    counts: dict[str, int] = {}
    with db.connect(url, application_name="escalafin-restore") as conn:
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


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name, safe=""), parts.query, ""))


def _sibling(target: str, suffix: str) -> str:
    """A database name next to `target`, within PostgreSQL's 63-byte identifier limit."""
    return f"{target[: 62 - len(suffix)]}_{suffix}"


def restore_jobs() -> int:
    """Parallel pg_restore workers: BACKUP_RESTORE_JOBS, else one per core (at most 4)."""
    raw = os.environ.get("BACKUP_RESTORE_JOBS", "")
    if raw.strip():
        try:
            jobs = int(raw)
        except ValueError:
            jobs = 0
        if not 1 <= jobs <= 32:
            raise BackupError(
                f"BACKUP_RESTORE_JOBS={raw!r}: expected an integer from 1 to 32", cli.EXIT_USAGE
            )
        return jobs
    return max(1, min(4, os.cpu_count() or 1))


# A new database with the live one's encoding and locale (read through to_jsonb, so the
# query works whichever locale columns this server version has).
_DATABASE_SETTINGS: Final = """
SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, d.datlocprovider::text,
       coalesce(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale')
FROM pg_database d WHERE d.datname = %s
"""


def _create_staging(admin: psycopg.Connection[Any], target: str, staging: str) -> None:
    row = admin.execute(_DATABASE_SETTINGS, (target,)).fetchone()
    if row is None:
        raise BackupError(f"database {target!r} does not exist on the server", cli.EXIT_USAGE)
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
    admin.execute(sql.SQL("CREATE DATABASE {} {}").format(sql.Identifier(staging), options))


def _restore_into(config: BackupConfig, path: Path, staging: str, jobs: int) -> None:
    env = backup.pg_env(with_database(config.database_url, staging))
    # Session settings for the staging database only: bigger sorts for index builds, and
    # no wait for WAL flush per transaction (the swap's commit is flushed as usual).
    env["PGOPTIONS"] = " ".join(filter(None, (env.get("PGOPTIONS"), RESTORE_SESSION_OPTIONS)))
    command = [
        backup.pg_tool("pg_restore", config.pg_bin_dir),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--jobs",
        str(jobs),
        "--dbname",
        staging,
        str(path),
    ]
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"restore failed in pg_restore: {first_error(done.stderr)}")


def first_error(stderr: bytes) -> str:
    """The error that stopped a parallel pg_restore, not the workers' echo of it.

    With --jobs, the last line is the leader's "a worker process died unexpectedly"; the
    cause is the first `error:` line a worker printed.
    """
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    causes = [ln for ln in lines if "error:" in ln and "worker process died" not in ln]
    return causes[0] if causes else backup.last_line(stderr)


def _swap(admin: psycopg.Connection[Any], target: str, staging: str, retired: str) -> int:
    """Rename live → retired and staging → live in one transaction; return sessions ended.

    Renaming needs the live database free of sessions; the app is stopped, but something
    may reconnect between ending sessions and the rename, so it is retried briefly.
    """
    ended = 0
    for attempt in range(10):
        ended += len(
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (target,),
            ).fetchall()
        )
        try:
            with admin.transaction():
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(target), sql.Identifier(retired)
                    )
                )
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(staging), sql.Identifier(target)
                    )
                )
            return ended
        except psycopg.errors.ObjectInUse:
            time.sleep(0.2 * (attempt + 1))
    raise BackupError(f"database {target!r} stayed in use; the restore was not swapped in")


def _drop(admin: psycopg.Connection[Any], name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def replace_database(config: BackupConfig, path: Path) -> int:
    """Replace the live database with the archive; return the sessions that were ended.

    The archive is restored with parallel workers into a new staging database next to the
    live one (same encoding and locale). Only when every object restored cleanly are the
    two swapped by renaming, in one transaction; the old database is then dropped. Until
    that swap the live database is never touched, so a failure midway (an error in the
    archive, a killed connection, a full disk) leaves its data exactly as it was and only
    the staging database is dropped. Objects created after the backup do not survive, as
    they would with `pg_restore --clean`, which drops only what the archive contains.
    Database-level settings and grants (ALTER DATABASE … SET, GRANT CONNECT) are not
    carried over: pg_dump does not record them either.
    """
    target = _database_name(config.database_url)
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    staging = _sibling(target, f"restore_{stamp}")
    retired = _sibling(target, f"retired_{stamp}")
    jobs = restore_jobs()
    admin_url = with_database(config.database_url, MAINTENANCE_DATABASE)
    try:
        with db.connect(admin_url, application_name="escalafin-restore") as admin:
            _create_staging(admin, target, staging)
    except (db.ConnectionFailed, psycopg.Error) as exc:
        raise BackupError(f"cannot prepare the restore: {exc}", cli.EXIT_UNAVAILABLE) from None
    try:
        started = time.monotonic()
        _restore_into(config, path, staging, jobs)
        log.info("restored into staging database: %.1fs, %d jobs", time.monotonic() - started, jobs)
        with db.connect(admin_url, application_name="escalafin-restore") as admin:
            ended = _swap(admin, target, staging, retired)
    except BaseException:
        with (
            contextlib.suppress(db.ConnectionFailed, psycopg.Error),
            db.connect(admin_url, application_name="escalafin-restore") as admin,
        ):
            _drop(admin, staging)
        raise
    try:
        with db.connect(admin_url, application_name="escalafin-restore") as admin:
            _drop(admin, retired)
    except (db.ConnectionFailed, psycopg.Error) as exc:
        log.warning(
            "restore done; the replaced database %s is left to drop by hand: %s", retired, exc
        )
    return ended


def apply(config: BackupConfig, name: str, *, safety: bool = True) -> dict[str, Any]:
    """Steps 3-4 (the app is already stopped): safety backup, one-transaction restore."""
    path, sha256 = fetch(config, name)
    with backup.run_lock(config.backup_dir):
        safety_name: str | None = None
        if safety:
            started = time.monotonic()
            try:
                safety_path, _, _ = backup.dump_verified(config, retention.SAFETY_TAG)
            except BackupError as exc:
                raise RestoreError(
                    f"safety backup failed, nothing restored: {exc}", exc.exit_code
                ) from None
            safety_name = safety_path.name
            log.info(
                "safety backup %s: %d bytes in %.1fs",
                safety_name,
                safety_path.stat().st_size,
                time.monotonic() - started,
            )
        before = table_counts(config.database_url)
        started = time.monotonic()
        try:
            backup.verify_archive(path, config.pg_bin_dir, sha256)
            ended = replace_database(config, path)
        except BackupError as exc:
            _roll_back(config, exc, before, safety_name)
        log.info(
            "restore %s: %.1fs (%d other sessions ended)", name, time.monotonic() - started, ended
        )
    return {
        "restored": name,
        "safety": safety_name,
        "seconds": round(time.monotonic() - started, 3),
    }


def _roll_back(
    config: BackupConfig, exc: BackupError, before: Mapping[str, int], safety_name: str | None
) -> NoReturn:
    """After a failed restore: prove the data is as before, or put the safety backup back."""
    if table_counts(config.database_url) == dict(before):
        raise RestoreError(
            f"{exc}; the restore ran into a staging database and was rolled back: "
            "the live database is as it was before"
        ) from None
    if safety_name is None:
        raise RestoreError(
            f"{exc}; the database changed and no safety backup was taken", EXIT_ROLLBACK_FAILED
        ) from None
    try:
        replace_database(config, config.backup_dir / safety_name)
    except BackupError as again:
        raise RestoreError(
            f"{exc}; restoring the safety backup {safety_name} ALSO failed "
            f"({again}): restore it by hand",
            EXIT_ROLLBACK_FAILED,
        ) from None
    raise RestoreError(f"{exc}; the safety backup {safety_name} was restored") from None


# ---------------------------------------------------------------- where the steps run


class Steps(Protocol):
    """The database steps, run in this process or inside the backup agent container."""

    def list(self) -> list[dict[str, Any]]: ...
    def verify(self, name: str) -> dict[str, Any]: ...
    def apply(self, name: str, *, safety: bool) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LocalSteps:
    config: BackupConfig

    def list(self) -> list[dict[str, Any]]:
        return backup.listing(self.config)

    def verify(self, name: str) -> dict[str, Any]:
        return verify(self.config, name)

    def apply(self, name: str, *, safety: bool) -> dict[str, Any]:
        return apply(self.config, name, safety=safety)


@dataclass(frozen=True)
class AgentSteps:
    """`docker exec` into the backup agent; it has the tools, the volume and the network."""

    docker: Any  # docker.DockerClient (imported lazily: the agent itself never needs it)
    container: str

    def _run(self, *args: str) -> dict[str, Any]:
        target = self.docker.containers.get(self.container)
        code, (out, err) = target.exec_run(
            ["python", "-m", "lifecycle.restore", *args, "--json"], demux=True
        )
        for line in (err or b"").decode(errors="replace").splitlines():
            print(f"[{self.container}] {line}", file=sys.stderr)
        lines = (out or b"").decode(errors="replace").strip().splitlines()
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
        if code != 0:
            raise RestoreError(str(result.get("error", f"exit {code}")), int(code or 3))
        return result

    def list(self) -> list[dict[str, Any]]:
        return list(self._run("list")["backups"])

    def verify(self, name: str) -> dict[str, Any]:
        return self._run("verify", name)

    def apply(self, name: str, *, safety: bool) -> dict[str, Any]:
        return self._run("apply", name, "--yes", *([] if safety else ["--no-safety"]))


# ---------------------------------------------------------------- the app container


class App:
    """The app container, stopped during the restore and health-checked after it."""

    def __init__(self, docker: Any, name: str, timeout_s: float) -> None:
        self.container = docker.containers.get(name)
        self.name = name
        self.timeout_s = timeout_s

    def stop(self) -> None:
        started = time.monotonic()
        self.container.stop(timeout=30)
        log.info("app %s stopped in %.1fs", self.name, time.monotonic() - started)

    def start_healthy(self) -> bool:
        started = time.monotonic()
        self.container.start()
        while time.monotonic() - started < self.timeout_s:
            self.container.reload()
            state = self.container.attrs["State"]
            health = state.get("Health", {}).get("Status")
            if health == "healthy" or (health is None and state["Status"] == "running"):
                log.info("app %s healthy in %.1fs", self.name, time.monotonic() - started)
                return True
            if state["Status"] in {"exited", "dead"}:
                break
            time.sleep(1)
        log.error(
            "app %s not healthy after %.0fs (status %s)",
            self.name,
            time.monotonic() - started,
            self.container.attrs["State"]["Status"],
        )
        return False


def restore(steps: Steps, name: str, app: App | None, confirm: bool) -> dict[str, Any]:
    """The whole procedure (module docstring, steps 1-5)."""
    checked = steps.verify(name)
    if confirm:
        _confirm(name, str(checked["database"]))
    if app is not None:
        app.stop()
    try:
        result = steps.apply(name, safety=True)
    except RestoreError:
        if app is not None:
            app.start_healthy()
        raise
    if app is None or app.start_healthy():
        return {**checked, **result}
    safety = str(result["safety"])
    app.stop()
    try:
        steps.apply(safety, safety=False)
    except RestoreError as exc:
        raise RestoreError(
            f"the app was not healthy with {name}, and restoring the safety "
            f"backup {safety} failed: {exc}",
            EXIT_ROLLBACK_FAILED,
        ) from None
    healthy = app.start_healthy()
    raise RestoreError(
        f"the app did not become healthy with {name}: the safety backup "
        f"{safety} was restored (app {'healthy' if healthy else 'STILL unhealthy'})"
    )


def _confirm(name: str, database: str) -> None:
    if not sys.stdin.isatty():
        raise RestoreError(
            "refusing to restore without confirmation: stdin is not a terminal "
            "(pass --yes to confirm non-interactively)",
            cli.EXIT_USAGE,
        )
    print(
        f"This REPLACES all data in database {database!r} with backup {name}.\n"
        f"A safety backup is taken first. Type the database name to continue: ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    if sys.stdin.readline().strip() != database:
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
        choices=("list", "restore", "verify", "apply"),
        help="verify/apply are the database steps alone (what --stack runs "
        "inside the agent); use restore",
    )
    p.add_argument("name", nargs="?", help="backup name (see list)")
    p.add_argument("--latest", action="store_true", help="restore the newest backup")
    p.add_argument("--stack", help="read containers and the Docker host from this Pulumi stack")
    p.add_argument("--agent-container", help="run the database steps inside this container")
    p.add_argument("--app-container", help="stop/start this container around the restore")
    p.add_argument("--docker-host", help="Docker API (default: DOCKER_HOST / local socket)")
    p.add_argument("--database-url", help="default $DATABASE_URL (prefer the environment)")
    p.add_argument("--backup-dir", help="default $BACKUP_DIR or /backup-escalafin")
    p.add_argument("--s3-bucket", help="default $S3_BUCKET")
    p.add_argument("--s3-endpoint-url", help="default $S3_ENDPOINT_URL (S3-compatible stores)")
    p.add_argument("--s3-region", help="default $S3_REGION")
    p.add_argument("--health-timeout", type=float, default=300.0, help="seconds (default 300)")
    p.add_argument("--no-safety", action="store_true", help=argparse.SUPPRESS)
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


def _run(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    agent, app_name, host = args.agent_container, args.app_container, args.docker_host
    if args.stack:
        outputs, stack_host = _stack_outputs(args.stack)
        agent = agent or outputs.get("backupAgentContainer")
        app_name = app_name or outputs.get("appContainer")
        host = host or stack_host
        if not agent:
            raise RestoreError(
                f"stack {args.stack} exports no backupAgentContainer", cli.EXIT_USAGE
            )
    docker = _docker(host) if agent or app_name else None
    steps: Steps = AgentSteps(docker, agent) if agent else LocalSteps(_config(args))
    if args.action == "list":
        rows = steps.list()
        human = (
            "\n".join(
                f"{r['where']:6} {r['name']}  {r['size']:>12} B  {r['age_hours']:>7} h old"
                for r in rows
            )
            or "no backups"
        )
        return {"ok": True, "backups": rows}, human
    name = args.name
    if args.latest and not name:
        refs = [
            ref
            for r in steps.list()
            if (ref := retention.parse_name(str(r["name"]))) and ref.tag != retention.SAFETY_TAG
        ]
        if not refs:
            raise RestoreError("no backups to restore", cli.EXIT_USAGE)
        name = max(refs).name
    if not name:
        raise RestoreError("name a backup (see `list`) or pass --latest", cli.EXIT_USAGE)
    if args.action == "verify":
        return {"ok": True, **steps.verify(name)}, f"{name} verified"
    if args.action == "apply":
        if not args.yes:
            raise RestoreError("apply is the unconfirmed database step: pass --yes", cli.EXIT_USAGE)
        return {"ok": True, **steps.apply(name, safety=not args.no_safety)}, f"{name} applied"
    app = App(docker, app_name, args.health_timeout) if app_name else None
    result = restore(steps, name, app, confirm=not args.yes)
    return {"ok": True, **result}, (
        f"restored {name} (safety backup {result['safety']}); "
        f"{'app healthy' if app else 'no app container given'}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cli.setup_logging()
    try:
        result, human = _run(args)
    except RestoreError as exc:
        log.error("restore: %s", exc)
        return cli.fail(args.json, exc.exit_code, str(exc))
    except (BackupError, ObjectStoreError, db.ConnectionFailed) as exc:
        code = exc.exit_code if isinstance(exc, BackupError) else cli.EXIT_UNAVAILABLE
        log.error("restore: %s", exc)
        return cli.fail(args.json, code, str(exc))
    cli.emit(args.json, result, human)
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
