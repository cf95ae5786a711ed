"""Which backups to keep: pure rules shared by the volume and the S3 bucket.

The seed's cron job ran `find -mtime +7 -delete`, which empties the directory after a
week of failed dumps. Here a backup is pruned only when it is older than the retention
window AND it is not among the newest `keep_min` backups of its kind, so a run of failures
never leaves the stack without its last good copies. Scheduled backups and the safety
archives a restore takes are judged separately (each kind keeps its own newest
`keep_min`), so a burst of restore attempts can neither push scheduled backups out of the
floor nor pile up safety archives forever.

Backups are identified by name, so the same decision is made for a file and for the object
it was uploaded as, whatever their mtimes say. Names carry microseconds
(`escalafin-20251016T020000.123456Z.dump`) so two runs in the same second never share a
name; names written before that (`escalafin-20251016T020000Z.dump`, one-second resolution)
are still recognised everywhere a name is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

PREFIX: Final = "escalafin-"
SAFETY_TAG: Final = "safety"  # the archive a restore takes of the database it replaces
SUFFIX: Final = ".dump"
_STAMP_FORMAT: Final = "%Y%m%dT%H%M%S"
_NAME: Final = re.compile(
    r"^escalafin-(?P<stamp>\d{8}T\d{6})(?:\.(?P<micro>\d{6}))?Z(?:-(?P<tag>[a-z0-9-]+))?\.dump$"
)
_ONE_TICK: Final = timedelta(microseconds=1)


class RetentionError(ValueError):
    """Retention parameters outside what is allowed."""


@dataclass(frozen=True, order=True)
class BackupRef:
    """One backup known by name; `created_at` comes from the name, never from mtime."""

    created_at: datetime
    name: str
    size: int = 0

    @property
    def tag(self) -> str:
        """Empty for a scheduled or on-demand backup, SAFETY_TAG for a restore's safety archive."""
        match = _NAME.match(self.name)
        return (match.group("tag") or "") if match else ""


def backup_name(created_at: datetime, tag: str = "") -> str:
    """`escalafin-20251016T020000.000000Z.dump` (or `...Z-safety.dump` with a tag)."""
    if created_at.tzinfo is None:
        raise RetentionError("backup time must be timezone-aware (UTC)")
    utc = created_at.astimezone(UTC)
    suffix = f"-{tag}" if tag else ""
    return f"{PREFIX}{utc.strftime(_STAMP_FORMAT)}.{utc.microsecond:06d}Z{suffix}{SUFFIX}"


def unique_name(created_at: datetime, tag: str, taken: Container[str]) -> str:
    """The first name at or after `created_at` (one microsecond apart) not in `taken`.

    Names are unique by construction whatever the clock does (two runs in the same
    microsecond, a clock stepped back): the caller passes what already exists, and still
    publishes without replacing (see backup.publish).
    """
    at = created_at
    while (name := backup_name(at, tag)) in taken:
        at += _ONE_TICK
    return name


def parse_name(name: str, size: int = 0) -> BackupRef | None:
    """The backup a file/object name stands for, or None for anything else (temp files...).

    Accepts both the current form (microseconds) and the older one-second form.
    """
    match = _NAME.match(name)
    if match is None:
        return None
    created = datetime.strptime(match.group("stamp"), _STAMP_FORMAT).replace(
        tzinfo=UTC, microsecond=int(match.group("micro") or 0)
    )
    return BackupRef(created, name, size)


def to_prune(
    backups: Iterable[BackupRef], *, now: datetime, retention_days: int, keep_min: int
) -> list[BackupRef]:
    """Backups older than `retention_days`, except the newest `keep_min` of each kind
    (scheduled backups and safety archives are judged apart); oldest first."""
    if retention_days < 1:
        raise RetentionError(f"retention_days={retention_days}: expected at least 1")
    if keep_min < 1:
        raise RetentionError(f"keep_min={keep_min}: expected at least 1")
    cutoff = now - timedelta(days=retention_days)
    kinds: dict[str, list[BackupRef]] = {}
    for ref in backups:
        kinds.setdefault(ref.tag, []).append(ref)
    prunable: list[BackupRef] = []
    for refs in kinds.values():
        newest_first = sorted(refs, reverse=True)
        prunable += [b for b in newest_first[keep_min:] if b.created_at < cutoff]
    return sorted(prunable)


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock; tests inject their own (see BackupConfig.clock)."""
    return datetime.now(UTC)
