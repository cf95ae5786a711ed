"""Verified PostgreSQL backups: stream, verify, publish atomically, copy off-site, prune.

Replaces the seed's cron `backup-db.sh` (`pg_dump > file.sql; gzip`, `find -mtime +7
-delete`), which wrote a plaintext dump to disk first and reported success even when
pg_dump failed. One run here:

1. `pg_dump -Fc` (custom format, zstd-compressed by pg_dump itself) streams into a hidden
   temp file in the backups directory while its SHA-256 is computed; no plaintext copy
   ever exists; fsync.
2. The archive is verified by reading it back completely with `pg_restore` (its table
   of contents and every data block), before it counts as a backup.
3. The checksum sidecar (`<name>.sha256`, `sha256sum` format) and then the archive are
   renamed into place (`escalafin-<UTC timestamp>.dump`); the directory is fsynced.
4. The archive is uploaded to the bucket (multipart, checksummed; see object_store).
5. Retention (age with a floor of the newest K, see retention) prunes the directory and
   the bucket — only after a successful run, so failures never delete anything.

A failure at any step exits non-zero with one log line saying what failed, removes its
temp file / partial object and leaves earlier backups untouched. If only the upload
fails, the verified local archive is kept (it is a good backup) but the run still fails,
so the agent's healthcheck turns unhealthy until off-site copies work again.
Runs are serialized with a lock file, so `backup now` during a scheduled run waits.

Database credentials reach pg_dump through libpq environment variables (PGPASSWORD...),
never through argv. pg_dump/pg_restore are taken from $PG_BIN_DIR or $PATH.

Commands (exit codes as in lifecycle.cli, plus 5):
    python -m lifecycle.backup now [--json]    one backup now
    python -m lifecycle.backup list [--json]   backups in the directory and the bucket
Exit: 0 ok · 2 configuration · 3 dump or verification failed (nothing written) ·
4 database unreachable or login refused (nothing written) · 5 off-site upload failed
(verified local copy kept) · 6 prune failed after a good backup.

Environment: see lifecycle.backup_agent (the agent's contract is this module's).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from psycopg import conninfo

from lifecycle import agent_state, cli, db, retention
from lifecycle.object_store import ObjectStore, ObjectStoreError, StoreSettings

log = logging.getLogger("escalafin.backup")

EXIT_OFFSITE: Final = 5
EXIT_PRUNE: Final = 6
DEFAULT_DIR: Final = "/backup-escalafin"
DEFAULT_COMPRESSION: Final = "zstd:3"
LOCK_FILE: Final = ".escalafin-backup.lock"
CHUNK: Final = 1024 * 1024

# conninfo keyword -> libpq environment variable (so secrets never appear in argv).
_LIBPQ_ENV: Final = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class BackupError(RuntimeError):
    """A step failed; `exit_code` says which kind (see module docstring)."""

    def __init__(self, message: str, exit_code: int = cli.EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class BackupConfig:
    database_url: str
    backup_dir: Path
    retention_days: int = 7
    keep_min: int = 3
    store: StoreSettings | None = None
    pg_bin_dir: Path | None = None
    compression: str = DEFAULT_COMPRESSION
    clock: retention.Clock = field(default=retention.utc_now, compare=False)
    """Where names and ages come from; tests pass a fixed clock instead of sleeping."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BackupConfig:
        e = dict(os.environ if env is None else env)
        url = e.get("DATABASE_URL", "")
        if not url:
            raise BackupError(
                "DATABASE_URL is not set (postgresql://user@host:5432/db; "
                "the password may come from PGPASSWORD)",
                cli.EXIT_USAGE,
            )
        try:
            db.check_userinfo(url)
        except db.DatabaseUrlError as exc:
            raise BackupError(f"DATABASE_URL: {exc}", cli.EXIT_USAGE) from None
        return cls(
            database_url=url,
            backup_dir=Path(e.get("BACKUP_DIR", DEFAULT_DIR)),
            retention_days=_env_int(e, "BACKUP_RETENTION_DAYS", 7),
            keep_min=_env_int(e, "BACKUP_KEEP_MIN", 3),
            store=StoreSettings.from_env(e),
            pg_bin_dir=Path(e["PG_BIN_DIR"]) if e.get("PG_BIN_DIR") else None,
            compression=e.get("BACKUP_COMPRESSION", DEFAULT_COMPRESSION),
        )


def _env_int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BackupError(f"{key}={raw!r}: expected a whole number >= 1", cli.EXIT_USAGE) from None
    if value < 1:
        raise BackupError(f"{key}={raw!r}: expected a whole number >= 1", cli.EXIT_USAGE)
    return value


@dataclass(frozen=True)
class BackupResult:
    name: str
    path: Path
    size: int
    sha256: str
    tables: int
    uploaded_to: str | None
    seconds: float
    pruned_local: list[str] = field(default_factory=list[str])
    pruned_remote: list[str] = field(default_factory=list[str])


# ---------------------------------------------------------------- pg tools


def pg_env(database_url: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for pg_dump/pg_restore/psql: connection settings as PG* variables."""
    env = dict(os.environ if base is None else base)
    params = conninfo.conninfo_to_dict(
        db.to_conninfo(database_url, application_name="escalafin-backup")
    )
    for key, value in params.items():
        var = _LIBPQ_ENV.get(key)
        if var and value is not None:
            env[var] = str(value)
    return env


def pg_tool(name: str, bin_dir: Path | None) -> str:
    """Path of pg_dump/pg_restore/psql; a clear error when it is missing."""
    if bin_dir is not None:
        candidate = bin_dir / name
        if candidate.is_file():
            return str(candidate)
        raise BackupError(f"{name} not found in PG_BIN_DIR={bin_dir}", cli.EXIT_USAGE)
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found on PATH (install postgresql-client-<server major>)", cli.EXIT_USAGE
        )
    return found


def last_line(stderr: bytes) -> str:
    """The line of a tool's stderr that says what went wrong (its last error, else its end)."""
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if any(m in ln for m in ("ERROR:", "FATAL:", "error:"))]
    return (errors or lines or ["no error output"])[-1]


def _failure_code(stderr: bytes) -> int:
    text = stderr.decode(errors="replace")
    unreachable = (
        "connection to server",
        "could not connect",
        "could not translate host name",
        "authentication failed",
        "Connection refused",
        "timeout expired",
    )
    return cli.EXIT_UNAVAILABLE if any(s in text for s in unreachable) else cli.EXIT_REFUSED


def verify_archive(
    path: Path, bin_dir: Path | None, expected_sha256: str | None = None, *, full_read: bool = True
) -> int:
    """Read the whole archive back with pg_restore; return its table count.

    `pg_restore --list` alone only reads the table of contents at the head of the file, so
    a truncated archive would pass; rendering it to /dev/null reads every data block.
    """
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise BackupError(
                f"{path.name}: checksum mismatch (expected {expected_sha256[:12]}…, "
                f"file has {actual[:12]}…): the archive is corrupted or truncated"
            )
    tables = len(archive_tables(path, bin_dir))
    if not full_read:
        return tables
    with path.open("rb") as archive:
        full = subprocess.run(
            [pg_tool("pg_restore", bin_dir), "--file", os.devnull],
            stdin=archive,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
    if full.returncode != 0:
        raise BackupError(
            f"{path.name} is damaged (pg_restore cannot read it through): {last_line(full.stderr)}"
        )
    return tables


def _data_tables(listing: bytes) -> set[str]:
    """`schema.table` of every TABLE DATA entry of a `pg_restore --list` listing
    (`3367; 0 16390 TABLE DATA public User owner`)."""
    tables: set[str] = set()
    for line in listing.decode(errors="replace").splitlines():
        if line.startswith(";") or " TABLE DATA " not in line:
            continue
        words = line.split(" TABLE DATA ", 1)[1].split()
        if len(words) >= 3:
            tables.add(f"{words[0]}.{' '.join(words[1:-1])}")
    return tables


def archive_tables(path: Path, bin_dir: Path | None) -> set[str]:
    """The tables an archive carries data for (its table of contents)."""
    with path.open("rb") as archive:
        listing = subprocess.run(
            [pg_tool("pg_restore", bin_dir), "--list"],
            stdin=archive,
            capture_output=True,
            check=False,
        )
    if listing.returncode != 0:
        raise BackupError(
            f"{path.name} is not a readable pg_dump archive: {last_line(listing.stderr)}"
        )
    return _data_tables(listing.stdout)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_sidecar(archive: Path, sha256: str) -> Path:
    """Record an archive's checksum beside it (`sha256sum` format), atomically and without
    replacing an existing record; return the sidecar's path."""
    sidecar = archive.with_name(archive.name + ".sha256")
    temp = archive.with_name(f".{sidecar.name}.partial")
    try:
        with temp.open("x") as out:
            out.write(f"{sha256}  {archive.name}\n")
            out.flush()
            os.fsync(out.fileno())
        publish(temp, sidecar)
    finally:
        temp.unlink(missing_ok=True)
    return sidecar


def remove_partials(directory: Path) -> list[str]:
    """Temp files a killed run left behind (never a finished backup); the caller holds the
    run lock, so no run is writing them."""
    removed: list[str] = []
    for leftover in [
        *directory.glob(".escalafin-*.partial"),
        *directory.glob(".escalafin-*.download"),
    ]:
        leftover.unlink(missing_ok=True)
        removed.append(leftover.name)
        log.info("removed leftover %s from an interrupted run", leftover.name)
    return removed


def read_sidecar(path: Path) -> str | None:
    """The recorded checksum of an archive (`<archive>.sha256`), if any."""
    sidecar = path.with_name(path.name + ".sha256")
    try:
        return sidecar.read_text().split()[0]
    except (FileNotFoundError, IndexError):
        return None


# ---------------------------------------------------------------- the run


@contextlib.contextmanager
def run_lock(backup_dir: Path) -> Generator[None]:
    """One backup or restore at a time per backups directory."""
    with (backup_dir / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stream_dump(
    cmd: Sequence[str], env: Mapping[str, str], out: IO[bytes], bin_dir: Path | None
) -> tuple[str, int]:
    """Run pg_dump into `out` while pg_restore reads the same bytes through (on the other
    core), so the full-read verification costs no extra wall time. Returns (sha256, bytes).
    """
    digest = hashlib.sha256()
    size = 0
    reader_cmd = [pg_tool("pg_restore", bin_dir), "--file", os.devnull]
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as reader_err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=dict(env))
        reader = subprocess.Popen(
            reader_cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=reader_err
        )
        assert proc.stdout is not None and reader.stdin is not None
        try:
            with proc.stdout:
                while chunk := proc.stdout.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    with contextlib.suppress(BrokenPipeError):
                        reader.stdin.write(chunk)
        finally:
            with contextlib.suppress(BrokenPipeError):
                reader.stdin.close()
            code = proc.wait()
            read_code = reader.wait()
        err.seek(0)
        stderr = err.read()
        reader_err.seek(0)
        read_stderr = reader_err.read()
    if code != 0:
        raise BackupError(
            f"pg_dump failed (exit {code}): {last_line(stderr)}", _failure_code(stderr)
        )
    if read_code != 0:
        raise BackupError(f"the new archive does not read back: {last_line(read_stderr)}")
    return digest.hexdigest(), size


def _taken_names(directory: Path) -> set[str]:
    """Names in use in the directory, including those of runs still writing (`.NAME.partial`)."""
    names: set[str] = set()
    for path in directory.iterdir():
        names.add(path.name)
        names.add(path.name.removeprefix(".").removesuffix(".partial"))
    return names


def publish(temp: Path, final: Path) -> None:
    """Give `temp` its final name without ever replacing an existing file (link + unlink:
    atomic, and fails instead of overwriting, unlike rename)."""
    try:
        os.link(temp, final)
    except FileExistsError:
        raise BackupError(
            f"{final.name} already exists in {final.parent}; refusing to replace it"
        ) from None
    temp.unlink()


def dump_verified(config: BackupConfig, tag: str = "") -> tuple[Path, str, int]:
    """Steps 1-3: a verified archive in the backups directory; nothing left on failure.

    The name is unique in the directory (see retention.unique_name) and is published with
    `publish`, so a backup never replaces another. Any OS error on the volume (a full disk
    above all) becomes a BackupError after the temp files are removed, so the space they
    took is freed before the failure is recorded.
    """
    directory = config.backup_dir
    name = retention.unique_name(config.clock(), tag, _taken_names(directory))
    final = directory / name
    temp = directory / f".{name}.partial"
    cmd = [
        pg_tool("pg_dump", config.pg_bin_dir),
        "--format=custom",
        f"--compress={config.compression}",
        "--no-password",
    ]
    published: list[Path] = []
    try:
        started = time.monotonic()
        with temp.open("xb") as out:
            sha256, size = _stream_dump(cmd, pg_env(config.database_url), out, config.pg_bin_dir)
            out.flush()
            os.fsync(out.fileno())
        log.info(
            "dump %s: %d bytes in %.1fs (%s)",
            name,
            size,
            time.monotonic() - started,
            db.redact(config.database_url),
        )
        started = time.monotonic()
        tables = verify_archive(temp, config.pg_bin_dir, full_read=False)  # read while streaming
        log.info(
            "verify %s: read through, %d tables listed in %.1fs",
            name,
            tables,
            time.monotonic() - started,
        )
        published.append(write_sidecar(final, sha256))
        publish(temp, final)
        published.append(final)
        _fsync_dir(directory)
    except BaseException as exc:
        for leftover in (temp, *published):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise BackupError(
                f"writing {name} to {directory} failed: {exc.strerror or exc} "
                "(nothing was kept; a full backups volume is the usual cause)"
            ) from None
        raise
    return final, sha256, tables


def local_backups(directory: Path) -> list[retention.BackupRef]:
    refs: list[retention.BackupRef] = []
    for path in directory.iterdir() if directory.is_dir() else ():
        ref = retention.parse_name(path.name, path.stat().st_size)
        if ref is not None:
            refs.append(ref)
    return sorted(refs, reverse=True)


def prune(
    config: BackupConfig, store: ObjectStore | None, now: datetime
) -> tuple[list[str], list[str]]:
    """Retention applied to the directory and the bucket, each judged on its own contents."""
    local = retention.to_prune(
        local_backups(config.backup_dir),
        now=now,
        retention_days=config.retention_days,
        keep_min=config.keep_min,
    )
    for ref in local:
        (config.backup_dir / ref.name).unlink(missing_ok=True)
        (config.backup_dir / (ref.name + ".sha256")).unlink(missing_ok=True)
    remote: list[retention.BackupRef] = []
    if store is not None:
        remote = retention.to_prune(
            store.backups(), now=now, retention_days=config.retention_days, keep_min=config.keep_min
        )
        for ref in remote:
            store.delete(ref.name)
    if local or remote:
        log.info(
            "prune: %d local, %d off-site older than %d days (newest %d always kept)",
            len(local),
            len(remote),
            config.retention_days,
            config.keep_min,
        )
    return [r.name for r in local], [r.name for r in remote]


def run(config: BackupConfig) -> BackupResult:
    """One complete backup run (steps 1-5). Raises BackupError; records the outcome.

    Every failure is a BackupError (OS errors such as a full volume included) and is
    recorded in the agent state before it is raised, so the agent never crashes on one and
    its healthcheck reports it.
    """
    started = time.monotonic()
    if not config.backup_dir.is_dir():
        raise BackupError(
            f"backups directory {config.backup_dir} does not exist "
            "(mount the backups volume there or set BACKUP_DIR)",
            cli.EXIT_USAGE,
        )
    try:
        with run_lock(config.backup_dir):
            agent_state.update_state(config.backup_dir, last_attempt_at=config.clock())
            path, sha256, tables = dump_verified(config)
            size = path.stat().st_size
            store = ObjectStore(config.store) if config.store is not None else None
            uploaded = upload_pending(config, store, path.name)
            try:
                pruned_local, pruned_remote = prune(config, store, config.clock())
            except (OSError, ObjectStoreError) as exc:
                raise BackupError(
                    f"prune failed after backup {path.name}: {exc}", EXIT_PRUNE
                ) from None
    except BackupError as exc:
        agent_state.record(
            config.backup_dir, "backup", ok=False, detail=str(exc), at=config.clock()
        )
        raise
    except OSError as exc:
        detail = f"backup failed on {config.backup_dir}: {exc.strerror or exc}"
        agent_state.record(config.backup_dir, "backup", ok=False, detail=detail, at=config.clock())
        raise BackupError(detail) from None
    result = BackupResult(
        path.name,
        path,
        size,
        sha256,
        tables,
        uploaded,
        round(time.monotonic() - started, 3),
        pruned_local,
        pruned_remote,
    )
    agent_state.record(config.backup_dir, "backup", ok=True, detail=path.name, at=config.clock())
    log.info(
        "backup %s done: %d bytes, %d tables, %.1fs total", path.name, size, tables, result.seconds
    )
    return result


def upload_pending(config: BackupConfig, store: ObjectStore | None, new: str | None) -> str | None:
    """Upload `new` and every archive whose upload failed before (S3 was down); return
    where `new` went. The caller holds the run lock.

    Names that still fail stay in the state's `upload_pending`, so the next run (or the
    agent's retry, see backup_agent) uploads them once S3 is back; then the run fails
    with EXIT_OFFSITE, keeping the verified local copies.
    """
    if store is None:
        return None
    state = agent_state.read_state(config.backup_dir)
    names = [n for n in state.upload_pending if (config.backup_dir / n).is_file()]
    names += [new] if new and new not in names else []
    failed: list[str] = []
    errors: list[str] = []
    for name in names:
        path = config.backup_dir / name
        sha256 = read_sidecar(path)
        if sha256 is None:
            log.warning("%s has no checksum sidecar; not uploaded", name)
            continue
        started = time.monotonic()
        try:
            store.upload(path, sha256)
        except ObjectStoreError as exc:
            failed.append(name)
            errors.append(str(exc))
            continue
        log.info(
            "upload %s: %d bytes in %.1fs%s",
            store.settings.where(name),
            path.stat().st_size,
            time.monotonic() - started,
            "" if name == new else " (pending since an earlier run)",
        )
    if tuple(failed) != state.upload_pending:
        agent_state.update_state(config.backup_dir, upload_pending=failed)
    if failed:
        raise BackupError(
            f"{errors[0]} (verified local copies kept and retried later: {', '.join(failed)})",
            EXIT_OFFSITE,
        )
    return store.settings.where(new) if new else None


def retry_uploads(config: BackupConfig) -> list[str]:
    """Upload what earlier runs could not (the agent calls this while uploads are pending);
    record a success once nothing is pending. Returns the names uploaded."""
    with run_lock(config.backup_dir):
        pending = agent_state.read_state(config.backup_dir).upload_pending
        if not pending or config.store is None:
            return []
        try:
            upload_pending(config, ObjectStore(config.store), None)
        except BackupError as exc:
            log.warning("off-site upload still failing: %s", exc)
            return []
    detail = f"uploaded {', '.join(pending)} once S3 was back"
    agent_state.record(config.backup_dir, "backup", ok=True, detail=detail, at=config.clock())
    log.info("%s", detail)
    return list(pending)


# ---------------------------------------------------------------- CLI


def listing(config: BackupConfig) -> tuple[list[dict[str, object]], list[str]]:
    """Backups on the volume and in the bucket, newest first, and warnings.

    An unreachable bucket is a warning, not a failure: the verified local archives are
    still listed (and restorable) while S3 is down.
    """
    now = config.clock()
    places = [("volume", local_backups(config.backup_dir))]
    warnings: list[str] = []
    if config.store is not None:
        try:
            places.append(("s3", sorted(ObjectStore(config.store).backups(), reverse=True)))
        except ObjectStoreError as exc:
            warnings.append(f"off-site copies not listed: {exc}")
    rows: list[dict[str, object]] = [
        {
            "where": where,
            "name": r.name,
            "size": r.size,
            "age_hours": round((now - r.created_at).total_seconds() / 3600, 1),
        }
        for where, refs in places
        for r in refs
    ]
    return rows, warnings


def listing_text(rows: Sequence[Mapping[str, object]]) -> str:
    lines = [
        f"{r['where']!s:6} {r['name']}  {r['size']!s:>12} B  {r['age_hours']!s:>7} h old"
        for r in rows
    ]
    return "\n".join(lines) or "no backups"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lifecycle.backup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=("now", "list"))
    parser.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    args = parser.parse_args(argv)
    cli.setup_logging()
    try:
        config = BackupConfig.from_env()
        if args.command == "list":
            rows, warnings = listing(config)
            for warning in warnings:
                log.warning("%s", warning)
            human = listing_text(rows)
            cli.emit(args.json, {"ok": True, "backups": rows, "warnings": warnings}, human)
            return cli.EXIT_OK
        # Repair what an interrupted restore left first (its database moved aside...).
        # Imported here: lifecycle.tidy builds on this module.
        from lifecycle import tidy  # noqa: PLC0415

        tidy.tidy_locked(config)
        result = run(config)
    except BackupError as exc:
        log.error("backup failed: %s", exc)
        return cli.fail(args.json, exc.exit_code, str(exc))
    except ObjectStoreError as exc:
        return cli.fail(args.json, cli.EXIT_UNAVAILABLE, str(exc))
    cli.emit(
        args.json,
        {"ok": True, **asdict(result), "path": str(result.path)},
        f"backup {result.name}: {result.size} bytes, sha256 {result.sha256}, "
        f"{result.tables} tables"
        + (f", uploaded to {result.uploaded_to}" if result.uploaded_to else ""),
    )
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
