"""Which backups to keep: pure rules shared by the volume and the S3 bucket.

The seed's cron job ran `find -mtime +7 -delete`, which empties the directory after a
week of failed dumps. Here a backup is pruned only when it is older than the retention
window AND it is not among the newest `keep_min` backups, so a run of failures never
leaves the stack without its last good copies. Backups are identified by name
(`escalafin-<UTC timestamp>.dump`), so the same decision is made for a file and for the
object it was uploaded as, whatever their mtimes say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

PREFIX: Final = "escalafin-"
SUFFIX: Final = ".dump"
_STAMP_FORMAT: Final = "%Y%m%dT%H%M%SZ"
_NAME: Final = re.compile(r"^escalafin-(\d{8}T\d{6}Z)(?:-([a-z0-9-]+))?\.dump$")


class RetentionError(ValueError):
    """Retention parameters outside what is allowed."""


@dataclass(frozen=True, order=True)
class BackupRef:
    """One backup known by name; `created_at` comes from the name, never from mtime."""

    created_at: datetime
    name: str
    size: int = 0


def backup_name(created_at: datetime, tag: str = "") -> str:
    """`escalafin-20251016T020000Z.dump` (or `...Z-safety.dump` with a tag)."""
    if created_at.tzinfo is None:
        raise RetentionError("backup time must be timezone-aware (UTC)")
    stamp = created_at.astimezone(UTC).strftime(_STAMP_FORMAT)
    suffix = f"-{tag}" if tag else ""
    return f"{PREFIX}{stamp}{suffix}{SUFFIX}"


def parse_name(name: str, size: int = 0) -> BackupRef | None:
    """The backup a file/object name stands for, or None for anything else (temp files...)."""
    match = _NAME.match(name)
    if match is None:
        return None
    created = datetime.strptime(match.group(1), _STAMP_FORMAT).replace(tzinfo=UTC)
    return BackupRef(created, name, size)


def to_prune(
    backups: Iterable[BackupRef], *, now: datetime, retention_days: int, keep_min: int
) -> list[BackupRef]:
    """Backups older than `retention_days`, except the newest `keep_min` (oldest first)."""
    if retention_days < 1:
        raise RetentionError(f"retention_days={retention_days}: expected at least 1")
    if keep_min < 1:
        raise RetentionError(f"keep_min={keep_min}: expected at least 1")
    newest_first = sorted(backups, reverse=True)
    cutoff = now - timedelta(days=retention_days)
    prunable = [b for b in newest_first[keep_min:] if b.created_at < cutoff]
    return sorted(prunable)
