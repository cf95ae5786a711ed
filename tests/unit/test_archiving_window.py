"""The recovery window, lag, gaps, retention and backup-type rules (lifecycle.archiving.window)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle.archiving import window
from lifecycle.archiving.window import ArchivedSegment, BaseBackup, Segment

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def seg(name: str, minutes: float) -> ArchivedSegment:
    return ArchivedSegment(Segment.parse(name), T0 + timedelta(minutes=minutes))


def backup(label: str, kind: str, stop_min: float, wal: str, **notes: str) -> BaseBackup:
    stopped = T0 + timedelta(minutes=stop_min)
    return BaseBackup(label, kind, stopped - timedelta(minutes=1), stopped, wal, wal, 10, 5, notes)


def info(*backups: BaseBackup) -> window.RepoInfo:
    return window.RepoInfo(True, "ok", backups, 7)


def test_segment_successor_crosses_the_log_boundary() -> None:
    assert str(Segment.parse("0000000100000000000000FF").successor()) == "000000010000000100000000"
    assert str(Segment.parse("000000010000000100000000").predecessor()) == (
        "0000000100000000000000FF"
    )
    with pytest.raises(window.WindowError, match="24 hex digits"):
        Segment.parse("not-a-segment")


def test_parse_info_reads_complete_backups_and_annotations() -> None:
    document: list[dict[str, Any]] = [
        {
            "name": "escalafin",
            "status": {"code": 0, "message": "ok"},
            "db": [{"system-id": 42}],
            "backup": [
                {
                    "label": "20261129-100000F_20261129-110000I",
                    "type": "incr",
                    "timestamp": {"start": 1795950000, "stop": 1795950010},
                    "archive": {
                        "start": "000000010000000000000009",
                        "stop": "00000001000000000000000A",
                    },
                    "info": {"size": 100, "repository": {"delta": 7}},
                    "annotation": {"escalafin-kind": "safety"},
                },
                {
                    "label": "20261129-100000F",
                    "type": "full",
                    "timestamp": {"start": 1795940000, "stop": 1795940100},
                    "archive": {
                        "start": "000000010000000000000003",
                        "stop": "000000010000000000000003",
                    },
                    "info": {"size": 100, "repository": {"size": 30}},
                },
            ],
        }
    ]
    parsed = window.parse_info(document, "escalafin")
    assert parsed.ok and parsed.system_id == 42
    assert [b.label for b in parsed.backups] == [
        "20261129-100000F",
        "20261129-100000F_20261129-110000I",
    ]
    assert parsed.backups[1].is_safety and not parsed.backups[0].is_safety
    assert parsed.backups[1].repo_size == 7
    assert not window.parse_info(document, "other").ok


def test_parse_repo_ls_keeps_wal_segments_only() -> None:
    listing = {
        "17-1/0000000100000000/000000010000000000000003-abc.zst": {
            "type": "file",
            "time": 1795940000,
        },
        "17-1/0000000100000000/000000010000000000000003.00000028.backup": {
            "type": "file",
            "time": 1,
        },
        "17-1/00000002.history": {"type": "file", "time": 1},
        "17-1/0000000100000000": {"type": "path"},
    }
    found = window.parse_repo_ls(listing)
    assert [str(a.segment) for a in found] == ["000000010000000000000003"]


def test_gaps_from_the_newest_backup_per_timeline() -> None:
    archived = [
        seg("000000010000000000000003", 1),
        seg("000000010000000000000005", 2),  # 4 is missing
        seg("000000020000000000000005", 3),  # timeline 2 starts here after a restore
        seg("000000020000000000000006", 4),
    ]
    assert window.gaps(archived, "000000010000000000000003") == [
        ("000000010000000000000004", "000000010000000000000004")
    ]
    assert window.gaps(archived, "000000010000000000000005") == []
    # WAL the base backup needs but the bucket never got
    assert window.gaps(archived[1:], "000000010000000000000002") == [
        ("000000010000000000000002", "000000010000000000000004")
    ]


def test_window_lag_is_zero_when_caught_up_and_age_of_newest_otherwise() -> None:
    full = backup("F", "full", 0, "000000010000000000000003")
    archived = [seg("000000010000000000000003", 1), seg("000000010000000000000004", 2)]
    now = T0 + timedelta(minutes=5)
    end_of_4 = 5 * window.SEGMENT_BYTES
    # Switched to segment 5 and idle since: the bucket holds everything.
    idle = window.window(info(full), archived, window.DatabaseWal(end_of_4 + 40, now))
    assert idle.lag_seconds == 0 and idle.latest == now
    # Commits in segment 5 (not archived yet): at most as old as segment 4's arrival.
    writing = window.window(info(full), archived, window.DatabaseWal(end_of_4 + 5000, now))
    assert writing.lag_seconds == 180 and writing.latest == T0 + timedelta(minutes=2)
    behind = window.window(info(full), archived, window.DatabaseWal(end_of_4 * 2, now))
    assert behind.lag_seconds == 180 and behind.latest == T0 + timedelta(minutes=2)
    assert behind.earliest == full.stopped_at
    assert window.window(info(), archived, None).latest is None  # no base backup: nothing


def test_check_target_refuses_outside_the_window_and_across_gaps() -> None:
    full = backup("F", "full", 0, "000000010000000000000003")
    archived = [seg("000000010000000000000003", 1), seg("000000010000000000000004", 9)]
    w = window.window(info(full), archived, None)
    window.check_target(w, T0 + timedelta(minutes=5))
    with pytest.raises(window.WindowError, match="before the earliest"):
        window.check_target(w, T0 - timedelta(minutes=1))
    with pytest.raises(window.WindowError, match="after the latest"):
        window.check_target(w, T0 + timedelta(minutes=10))
    holed = window.window(info(full), [archived[0], seg("000000010000000000000006", 9)], None)
    with pytest.raises(window.WindowError, match="missing"):
        window.check_target(holed, T0 + timedelta(minutes=5))


def test_parse_target_needs_an_offset() -> None:
    assert window.parse_target("2026-11-29 10:41:07-06:00") == datetime(
        2026, 11, 29, 16, 41, 7, tzinfo=UTC
    )
    assert window.parse_target("2026-11-29T16:41:07Z").tzinfo is not None
    for bad in ("2026-11-29 10:41:07", "yesterday"):
        with pytest.raises(window.WindowError, match="offset"):
            window.parse_target(bad)
    assert window.pg_target(window.parse_target("2026-11-29 10:41:07.5-06:00")) == (
        "2026-11-29 16:41:07.500000+00"
    )


def test_next_backup_is_full_weekly_and_ignores_safety_backups() -> None:
    full = backup("F", "full", 0, "000000010000000000000003")
    safety = backup(
        "S", "full", 60 * 24 * 6, "000000010000000000000009", **{"escalafin-kind": "safety"}
    )
    assert window.next_backup_type([], T0, 7) == "full"
    assert window.next_backup_type([full], T0 + timedelta(days=1), 7) == "diff"
    assert window.next_backup_type([full, safety], T0 + timedelta(days=7), 7) == "full"


def test_fulls_to_keep_is_age_with_a_floor() -> None:
    fulls = [backup(f"F{i}", "full", 60 * 24 * i, "000000010000000000000003") for i in range(10)]
    now = T0 + timedelta(days=10)
    assert window.fulls_to_keep(fulls, now=now, retention_days=3, keep_min=2) == 3
    assert (
        window.fulls_to_keep(fulls, now=now + timedelta(days=30), retention_days=3, keep_min=2) == 2
    )
    assert window.fulls_to_keep([], now=now, retention_days=3, keep_min=2) == 2


def test_a_new_timeline_asks_for_a_full_backup() -> None:
    full = backup("F", "full", 0, "000000010000000000000003")
    archived = [seg("000000010000000000000003", 1)]
    now = T0 + timedelta(minutes=5)
    same = window.DatabaseWal(4 * window.SEGMENT_BYTES, now, timeline=1)
    assert not window.window(info(full), archived, same).new_timeline
    after_restore = window.DatabaseWal(4 * window.SEGMENT_BYTES, now, timeline=2)
    assert window.window(info(full), archived, after_restore).as_json()["new_timeline"]
