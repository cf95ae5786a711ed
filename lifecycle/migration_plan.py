"""Pure planning for Prisma-compatible migrations: no database, no network.

Mirrors Prisma Migrate's rules (prisma-engines schema-engine) so a database can move
between `prisma migrate deploy` and this runner:

- a migration is each direct subdirectory holding `migration.sql`, ordered by name;
  `migration_lock.toml`, when present, must name provider `postgresql`;
- the checksum is the lowercase hex SHA-256 of the file's bytes as they are; when comparing,
  CRLF/LF variants and the old non-zero-padded hex format also match (as Prisma does);
- a row with neither `finished_at` nor `rolled_back_at` is unfinished and blocks (P3009);
- pending = no row for that name with `rolled_back_at IS NULL`.

Beyond Prisma: an unfinished row with no `logs` was *interrupted* (the connection or the
runner died, no failure was recorded). If its script is one implicit transaction,
PostgreSQL rolled it back entirely, so the runner may mark it rolled back and retry it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

MIGRATION_FILE: Final = "migration.sql"
LOCK_FILE: Final = "migration_lock.toml"
EXPECTED_PROVIDER: Final = "postgresql"
MAX_NAME_LENGTH: Final = 200  # Prisma P3010 (bytes)
PRISMA_RESOLVE_URL: Final = "https://pris.ly/d/migrate-resolve"


class MigrationFolderError(ValueError):
    """The migrations folder breaks Prisma's layout rules."""


@dataclass(frozen=True)
class LocalMigration:
    """One migration folder: its name and the exact bytes of migration.sql."""

    name: str
    script: bytes

    @property
    def checksum(self) -> str:
        return checksum(self.script)

    @property
    def sql(self) -> str:
        return self.script.decode("utf-8")


@dataclass(frozen=True)
class MigrationRow:
    """One `_prisma_migrations` row."""

    id: str
    checksum: str
    finished_at: datetime | None
    migration_name: str
    logs: str | None
    rolled_back_at: datetime | None
    started_at: datetime
    applied_steps_count: int

    @property
    def unfinished(self) -> bool:
        return self.finished_at is None and self.rolled_back_at is None

    @property
    def interrupted(self) -> bool:
        """Unfinished and no failure was ever recorded: the run died mid-script."""
        return self.unfinished and not (self.logs or "").strip()


@dataclass(frozen=True)
class Plan:
    """What a deploy would do, and what status reports."""

    applied: list[str] = field(default_factory=list[str])
    pending: list[LocalMigration] = field(default_factory=list[LocalMigration])
    failed: list[MigrationRow] = field(default_factory=list[MigrationRow])
    retryable: list[MigrationRow] = field(default_factory=list[MigrationRow])
    checksum_changed: list[str] = field(default_factory=list[str])
    missing_locally: list[str] = field(default_factory=list[str])

    @property
    def blocked(self) -> bool:
        return bool(self.failed)

    @property
    def up_to_date(self) -> bool:
        return not (self.pending or self.failed or self.retryable)


def checksum(script: bytes) -> str:
    """Prisma's checksum: lowercase hex SHA-256 of the script bytes, no normalisation."""
    return hashlib.sha256(script).hexdigest()


def checksum_matches(script: bytes, recorded: str) -> bool:
    """Prisma's comparison: line-ending agnostic, accepts the old unpadded hex format."""
    variants = (script, script.replace(b"\r\n", b"\n"), script.replace(b"\n", b"\r\n"))
    for variant in variants:
        digest = hashlib.sha256(variant).digest()
        rendered = (
            digest.hex()
            if not recorded or len(recorded) == 64
            else "".join(f"{b:x}" for b in digest)
        )
        if rendered == recorded:
            return True
    return False


def lock_file_provider(text: str) -> str:
    """The provider named in migration_lock.toml, read the way Prisma reads it."""
    for line in text.splitlines():
        if line.startswith("provider"):
            return line.removeprefix("provider = ").strip('"')
    return "<PROVIDER NOT FOUND>"


def discover(folder: Path) -> list[LocalMigration]:
    """All migrations in `folder`, ordered by name; raises MigrationFolderError on bad layout."""
    if not folder.is_dir():
        raise MigrationFolderError(f"migrations folder {folder} does not exist or is not a folder")
    lock = folder / LOCK_FILE
    if lock.is_file():
        provider = lock_file_provider(lock.read_text(encoding="utf-8"))
        if provider != EXPECTED_PROVIDER:
            raise MigrationFolderError(
                f"{lock} names provider {provider!r}; this runner only applies "
                f"{EXPECTED_PROVIDER!r} migrations (Prisma P3019)"
            )
    migrations: list[LocalMigration] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.is_dir():
            continue
        script = entry / MIGRATION_FILE
        if not script.is_file():
            raise MigrationFolderError(
                f"migration folder {entry.name!r} has no {MIGRATION_FILE}; every direct "
                f"subfolder of {folder} must hold one"
            )
        if len(entry.name.encode()) > MAX_NAME_LENGTH:
            raise MigrationFolderError(
                f"migration name {entry.name[:40]!r}... is longer than {MAX_NAME_LENGTH} "
                "bytes (P3010)"
            )
        data = script.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationFolderError(f"{script} is not UTF-8: {exc}") from None
        migrations.append(LocalMigration(entry.name, data))
    return migrations


def plan(local: Sequence[LocalMigration], rows: Iterable[MigrationRow]) -> Plan:
    """Compare the folder with the table (rows in started_at order)."""
    rows = list(rows)
    by_name = {m.name: m for m in local}
    live = [r for r in rows if r.rolled_back_at is None]
    live_names = {r.migration_name for r in live}
    failed: list[MigrationRow] = []
    retryable: list[MigrationRow] = []
    for row in live:
        if not row.unfinished:
            continue
        script = by_name.get(row.migration_name)
        if row.interrupted and script is not None and is_single_transaction(script.sql):
            retryable.append(row)
        else:
            failed.append(row)
    retry_names = {r.migration_name for r in retryable}
    finished = [r for r in live if r.finished_at is not None]
    changed = sorted(
        {
            r.migration_name
            for r in finished
            if r.migration_name in by_name
            and not checksum_matches(by_name[r.migration_name].script, r.checksum)
        }
    )
    return Plan(
        applied=[r.migration_name for r in finished],
        pending=[m for m in local if m.name not in live_names or m.name in retry_names],
        failed=failed,
        retryable=retryable,
        checksum_changed=changed,
        missing_locally=sorted({r.migration_name for r in finished} - set(by_name)),
    )


def failed_migrations_message(rows: Sequence[MigrationRow]) -> str:
    """Prisma's P3009 text, naming each blocking migration and its logs."""
    details = ""
    for row in rows:
        logs = (row.logs or "").strip()
        if logs:
            suffix = f" with the following logs:\n{logs}"
        else:
            suffix = " (interrupted; its script is not a single transaction, so check by hand)"
        details += (
            f"The `{row.migration_name}` migration started at {row.started_at} failed{suffix}\n"
        )
    return (
        "migrate found failed migrations in the target database, new migrations will not be "
        f"applied. Read more about how to resolve migration issues in a production database: "
        f"{PRISMA_RESOLVE_URL}\n{details}"
        "Resolve with `python -m lifecycle.migrate resolve --rolled-back NAME` (after undoing "
        "its partial effects) or `--applied NAME` (after finishing it by hand)."
    )


def apply_error_logs(
    name: str, code: str | None, error: str, script: str, position: int | None
) -> str:
    """Prisma's P3018 text, stored in `logs` when a script fails."""
    return (
        "A migration failed to apply. New migrations cannot be applied before the error is "
        "recovered from. Read more about how to resolve migration issues in a production "
        f"database: {PRISMA_RESOLVE_URL}\n\nMigration name: {name}\n\n"
        f"Database error code: {code or 'none'}\n\nDatabase error:\n{error}"
        f"{error_position(script, position)}\n"
    )


def error_position(script: str, position: int | None) -> str:
    """The failing line with up to five lines before it, like Prisma (without colours)."""
    if not position:
        return ""
    lines = script.split("\n")
    offset = 0
    for index, line in enumerate(lines):
        offset += len(line) + 1
        if position <= offset:
            first = max(0, index - 5)
            context = [f"{n + 1:>3} {lines[n]}".rstrip() for n in range(first, index)]
            context.append(f"{index + 1:>3} {line}")
            return "\n\nPosition:\n" + "\n".join(context)
    return ""


# --- is a script one implicit transaction? -------------------------------------------------

_TOKEN = re.compile(
    r"""--[^\n]*                       # line comment
      | /\*                            # block comment start (nesting handled below)
      | '(?:[^']|'')*'                 # string literal
      | "(?:[^"]|"")*"                 # quoted identifier
      | \$(?P<tag>[A-Za-z_][A-Za-z_0-9]*)?\$   # dollar quote start
    """,
    re.VERBOSE,
)
_NON_TRANSACTIONAL_START = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|ABORT|END|START\s+TRANSACTION|VACUUM|PREPARE\s+TRANSACTION"
    r"|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|CREATE\s+TABLESPACE|CALL)\b",
    re.IGNORECASE,
)
_CONCURRENTLY = re.compile(r"\bCONCURRENTLY\b", re.IGNORECASE)


def strip_comments_and_literals(sql: str) -> str:
    """The SQL with comments, strings, quoted identifiers and dollar bodies blanked out."""
    out: list[str] = []
    pos = 0
    while True:
        match = _TOKEN.search(sql, pos)
        if match is None:
            out.append(sql[pos:])
            return "".join(out)
        out.append(sql[pos : match.start()])
        text = match.group(0)
        if text.startswith("/*"):
            depth, i = 1, match.end()
            while depth and i < len(sql):
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            pos = i
        elif text.startswith("$"):
            end = sql.find(text, match.end())
            pos = len(sql) if end < 0 else end + len(text)
        else:
            pos = match.end()
        out.append(" ")


def is_single_transaction(sql: str) -> bool:
    """True when PostgreSQL runs the whole script as one implicit transaction (all or nothing):
    no transaction control, nothing that cannot run inside a transaction block."""
    code = strip_comments_and_literals(sql)
    if _CONCURRENTLY.search(code):
        return False
    return not any(_NON_TRANSACTIONAL_START.match(stmt) for stmt in code.split(";"))


def folder_hash(folder: Path) -> str:
    """Content hash of a migrations folder (names, scripts, lock file): any new or edited
    migration changes it, so Pulumi sees an update to apply."""
    digest = hashlib.sha256()
    lock = folder / LOCK_FILE
    if lock.is_file():
        digest.update(b"lock\0" + lock.read_bytes() + b"\0")
    for migration in discover(folder):
        digest.update(f"{migration.name}\0{migration.checksum}\0".encode())
    return digest.hexdigest()
