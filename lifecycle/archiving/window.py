"""The recovery window, archiving lag, WAL gaps and base-backup plans: pure rules.

Everything here reads facts pgBackRest and PostgreSQL report (`pgbackrest info` and
`repo-ls` JSON, `pg_walfile_name(pg_current_wal_lsn())`) and decides; nothing here does
I/O, so every rule is unit-tested without a server.

- A WAL segment name is `TTTTTTTTLLLLLLLLSSSSSSSS` (timeline, log, segment, hex). With the
  default 16 MiB segments a log holds 256 segments, so the successor of `...000000FF` is
  the next log's `...00000000` (PostgreSQL's XLogFileName).
- **Earliest restorable time**: the stop time of the oldest complete base backup (a
  restore needs a consistent base). **Latest restorable time**: when the newest archived
  WAL segment reached the bucket (its object time: every commit in it is older); when
  the database has written nothing past that segment, the bucket holds everything and
  the latest restorable time is now.
- **Archiving lag**: 0 when the bucket holds all WAL written so far; otherwise how long
  ago the newest archived segment arrived, an upper bound on the age of the oldest
  commit not yet in the bucket (with steady writes it saws between 0 and
  `archive_timeout` + the upload). Measured against the bucket, not `pg_stat_archiver`: when
  the local queue exceeds `archive-push-queue-max`, pgBackRest reports WAL as archived
  and drops it, which only the bucket shows (as a gap).
- **Gaps**: every segment from the newest base backup's first WAL to the newest archived
  one must be in the bucket (per timeline); a gap means no restore past it is possible
  until the next full backup, so the agent turns unhealthy and takes one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from lifecycle import retention

SEGMENTS_PER_LOG: Final = 0x100  # 4 GiB per log / 16 MiB per segment
_SEGMENT: Final = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$")
SAFETY_ANNOTATION: Final = "escalafin-kind"
SAFETY_KIND: Final = "safety"


class WindowError(ValueError):
    """A value pgBackRest or the user gave is not what these rules understand."""


@dataclass(frozen=True, order=True)
class Segment:
    timeline: int
    log: int
    seg: int

    @classmethod
    def parse(cls, name: str) -> Segment:
        match = _SEGMENT.match(name[:24].upper())
        if match is None:
            raise WindowError(f"{name!r} is not a WAL segment name (24 hex digits)")
        return cls(int(match.group(1), 16), int(match.group(2), 16), int(match.group(3), 16))

    @property
    def position(self) -> int:
        """Segment number across logs (timeline-independent)."""
        return self.log * SEGMENTS_PER_LOG + self.seg

    def successor(self) -> Segment:
        return self.at(self.position + 1)

    def predecessor(self) -> Segment:
        return self.at(self.position - 1)

    def at(self, position: int) -> Segment:
        return Segment(self.timeline, position // SEGMENTS_PER_LOG, position % SEGMENTS_PER_LOG)

    def __str__(self) -> str:
        return f"{self.timeline:08X}{self.log:08X}{self.seg:08X}"


@dataclass(frozen=True)
class BaseBackup:
    label: str
    type: str  # full | diff | incr
    started_at: datetime
    stopped_at: datetime
    wal_start: str
    wal_stop: str
    size: int
    repo_size: int
    annotations: Mapping[str, str] = field(default_factory=dict[str, str])

    @property
    def is_safety(self) -> bool:
        return self.annotations.get(SAFETY_ANNOTATION) == SAFETY_KIND

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "type": self.type,
            "kind": "safety" if self.is_safety else "scheduled",
            "started_at": self.started_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat(),
            "wal_start": self.wal_start,
            "wal_stop": self.wal_stop,
            "size": self.size,
            "repo_size": self.repo_size,
        }


@dataclass(frozen=True)
class RepoInfo:
    ok: bool
    message: str
    backups: tuple[BaseBackup, ...]
    system_id: int | None


def _time(epoch: object) -> datetime:
    if not isinstance(epoch, int | float):
        raise WindowError(f"expected an epoch timestamp, got {epoch!r}")
    return datetime.fromtimestamp(epoch, UTC)


def _obj(value: object) -> dict[str, Any]:
    """A JSON object from pgBackRest's output (an empty one where it has none)."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return cast("list[Any]", value) if isinstance(value, list) else []


def _backup(b: dict[str, Any]) -> BaseBackup:
    archive, info, stamps = _obj(b.get("archive")), _obj(b.get("info")), _obj(b.get("timestamp"))
    repository = _obj(info.get("repository"))
    return BaseBackup(
        label=str(b["label"]),
        type=str(b["type"]),
        started_at=_time(stamps.get("start")),
        stopped_at=_time(stamps.get("stop")),
        wal_start=str(archive.get("start") or ""),
        wal_stop=str(archive.get("stop") or ""),
        size=int(info.get("size") or 0),
        repo_size=int(repository.get("delta") or repository.get("size") or 0),
        annotations={str(k): str(v) for k, v in _obj(b.get("annotation")).items()},
    )


def parse_info(document: Sequence[Mapping[str, Any]], stanza: str) -> RepoInfo:
    """`pgbackrest info --output=json` for one stanza (complete backups only: pgBackRest
    never lists a backup that did not finish)."""
    matches = [s for s in document if s.get("name") == stanza]
    if not matches:
        return RepoInfo(False, f"stanza {stanza!r} does not exist in the repository", (), None)
    s = matches[0]
    status = _obj(s.get("status"))
    code = int(status.get("code", 99))
    backups = sorted((_backup(_obj(b)) for b in _list(s.get("backup"))), key=lambda x: x.stopped_at)
    dbs = _list(s.get("db"))
    system_id = int(_obj(dbs[-1])["system-id"]) if dbs else None
    # 0 = ok, 2 = no valid backups yet: the stanza itself is usable in both cases.
    return RepoInfo(code in (0, 2), str(status.get("message", "")), tuple(backups), system_id)


@dataclass(frozen=True)
class ArchivedSegment:
    segment: Segment
    archived_at: datetime


def parse_repo_ls(listing: Mapping[str, Mapping[str, Any]]) -> list[ArchivedSegment]:
    """`pgbackrest repo-ls --recurse --output=json archive/<stanza>`: WAL segment files
    (not .history/.backup files) with the time they reached the bucket."""
    found: list[ArchivedSegment] = []
    for path, raw in listing.items():
        entry = _obj(raw)
        name = path.rsplit("/", 1)[-1]
        if entry.get("type") != "file" or not _SEGMENT.match(name[:24]) or name[24:25] != "-":
            continue
        found.append(ArchivedSegment(Segment.parse(name), _time(entry.get("time"))))
    return sorted(found, key=lambda a: (a.segment.position, a.segment.timeline))


def gaps(archived: Iterable[ArchivedSegment], since: str | None) -> list[tuple[str, str]]:
    """Missing segment ranges (first, last), per timeline, that a restore from the base
    backup whose WAL starts at `since` would need (from `since` to the newest)."""
    start = Segment.parse(since) if since else None
    by_timeline: dict[int, set[int]] = {}
    for a in archived:
        by_timeline.setdefault(a.segment.timeline, set()).add(a.segment.position)
    missing: list[tuple[str, str]] = []
    for tli, present in sorted(by_timeline.items()):
        if start is not None and tli < start.timeline:
            continue  # before the base backup: no restore replays it
        first = start.position if start is not None and tli == start.timeline else min(present)
        run: int | None = None
        for pos in range(first, max(present) + 2):
            if pos not in present and pos <= max(present):
                run = pos if run is None else run
            elif run is not None:
                base = Segment(tli, 0, 0)
                missing.append((str(base.at(run)), str(base.at(pos - 1))))
                run = None
    return missing


@dataclass(frozen=True)
class DatabaseWal:
    """What PostgreSQL says about its WAL right now."""

    insert_position: int
    """pg_current_wal_insert_lsn() in bytes (LSNs run on across timelines)."""
    checked_at: datetime
    timeline: int = 1


SEGMENT_BYTES: Final = 16 * 1024 * 1024
# A segment switched to while idle holds only its page header; a commit adds far more.
HEADER_SLACK: Final = 64


@dataclass(frozen=True)
class Window:
    earliest: datetime | None
    latest: datetime | None
    lag_seconds: float | None
    newest_archived: str | None
    gaps: tuple[tuple[str, str], ...]
    """Missing WAL since the newest base backup (what the healthcheck watches)."""
    backups: tuple[BaseBackup, ...]
    archived: tuple[ArchivedSegment, ...] = ()
    new_timeline: bool = False
    """The database runs on a newer timeline than the newest base backup (after a
    point-in-time restore): backups from before the branch cannot follow it, so the agent
    takes a full backup on the new timeline."""

    def as_json(self) -> dict[str, Any]:
        return {
            "new_timeline": self.new_timeline,
            "earliest_restorable": self.earliest.isoformat() if self.earliest else None,
            "latest_restorable": self.latest.isoformat() if self.latest else None,
            "archiving_lag_seconds": None
            if self.lag_seconds is None
            else round(self.lag_seconds, 1),
            "newest_archived_wal": self.newest_archived,
            "wal_gaps": [list(g) for g in self.gaps],
            "base_backups": [b.as_json() for b in self.backups],
        }


def window(info: RepoInfo, archived: Sequence[ArchivedSegment], db: DatabaseWal | None) -> Window:
    """The recovery window and the lag now (see module docstring)."""
    backups = info.backups
    newest = archived[-1] if archived else None
    since = backups[-1].wal_start if backups else None
    missing = tuple(gaps(archived, since)) if archived else ()
    lag: float | None = None
    latest: datetime | None = None
    if newest is not None:
        # The bucket holds everything up to the end of the newest segment, which arrived
        # at `archived_at`; anything written after that is at most that old.
        archived_end = (newest.segment.position + 1) * SEGMENT_BYTES
        everything = db is not None and db.insert_position <= archived_end + HEADER_SLACK
        latest = db.checked_at if db is not None and everything else newest.archived_at
        if db is not None:
            lag = 0.0 if everything else (db.checked_at - newest.archived_at).total_seconds()
    if not backups:
        latest = None  # nothing to restore from, whatever the WAL says
    return Window(
        earliest=backups[0].stopped_at if backups else None,
        latest=latest,
        lag_seconds=lag,
        newest_archived=str(newest.segment) if newest else None,
        gaps=missing,
        backups=backups,
        archived=tuple(archived),
        new_timeline=bool(
            db is not None
            and backups
            and backups[-1].wal_start
            and db.timeline > Segment.parse(backups[-1].wal_start).timeline
        ),
    )


def check_target(w: Window, target: datetime) -> None:
    """Refuse a restore target outside what the bucket can give back."""
    if target.tzinfo is None:
        raise WindowError("the target time needs a UTC offset, e.g. 2026-11-29 10:41:07-06:00")
    if w.earliest is None or w.latest is None:
        raise WindowError("the repository has no complete base backup: nothing to restore")
    if target < w.earliest:
        raise WindowError(
            f"{target.isoformat()} is before the earliest restorable time "
            f"{w.earliest.isoformat()} (the oldest retained base backup)"
        )
    if target > w.latest:
        raise WindowError(
            f"{target.isoformat()} is after the latest restorable time {w.latest.isoformat()} "
            "(newer WAL has not reached the bucket)"
        )
    base = [b for b in w.backups if b.stopped_at <= target][-1]
    missing = gaps(w.archived, base.wal_start)
    if missing:
        first, last = missing[0]
        raise WindowError(
            f"WAL segments {first}..{last} are missing from the bucket: "
            "a restore across them cannot be trusted"
        )


def parse_target(raw: str) -> datetime:
    """`2026-11-29 10:41:07-06:00` (or ISO 8601 with T/Z): an aware datetime."""
    text = raw.strip().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise WindowError(
            f"--to-time {raw!r}: expected a time with a UTC offset such as "
            "'2026-11-29 10:41:07-06:00'"
        ) from None
    if value.tzinfo is None:
        raise WindowError(
            f"--to-time {raw!r}: add a UTC offset (e.g. -06:00 or Z); "
            "a bare local time is ambiguous"
        )
    return value


def pg_target(target: datetime) -> str:
    """The target as recovery_target_time reads it (UTC, explicit offset)."""
    return target.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def next_backup_type(backups: Sequence[BaseBackup], now: datetime, full_every_days: int) -> str:
    """Full when no scheduled full backup is younger than `full_every_days`, else diff."""
    fulls = [b for b in backups if b.type == "full" and not b.is_safety]
    if not fulls or now - fulls[-1].stopped_at >= timedelta(days=full_every_days):
        return "full"
    return "diff"


def fulls_to_keep(
    backups: Sequence[BaseBackup], *, now: datetime, retention_days: int, keep_min: int
) -> int:
    """How many newest full backups retention keeps (age window with a floor).

    The same rule as the logical dumps (`retention.to_prune`); what it keeps is always the
    newest N fulls, so pgBackRest's own count-based expire (`--repo1-retention-full=N`)
    removes exactly the rest, with the diff/incr backups that depend on them and the WAL
    only they needed: nothing a retained backup needs is ever pruned.
    """
    refs = [
        retention.BackupRef(b.stopped_at, b.label)
        for b in backups
        if b.type == "full" and not b.is_safety
    ]
    pruned = retention.to_prune(refs, now=now, retention_days=retention_days, keep_min=keep_min)
    return max(len(refs) - len(pruned), keep_min)
