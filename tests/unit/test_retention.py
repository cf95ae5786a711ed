"""Retention: prune only what is old, never below the floor of the newest K."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle import retention
from lifecycle.retention import BackupRef, backup_name, parse_name, to_prune

pytestmark = pytest.mark.unit

NOW = datetime(2025, 10, 16, 2, 0, 30, tzinfo=UTC)


def daily(days: int) -> list[BackupRef]:
    """One backup per day for `days` days, newest first at NOW - 30s."""
    refs: list[BackupRef] = []
    for age in range(days):
        ref = parse_name(backup_name(NOW - timedelta(days=age, seconds=30)))
        assert ref is not None
        refs.append(ref)
    return refs


def test_prunes_only_backups_older_than_the_window() -> None:
    backups = daily(10)
    pruned = to_prune(backups, now=NOW, retention_days=7, keep_min=3)
    assert [b.created_at for b in pruned] == sorted(b.created_at for b in backups[7:])
    assert all(NOW - b.created_at > timedelta(days=7) for b in pruned)
    kept = set(backups) - set(pruned)
    assert all(NOW - b.created_at <= timedelta(days=7) for b in kept)


def test_floor_keeps_newest_even_when_all_are_old() -> None:
    """A month of failed dumps must not empty the volume (`find -mtime +7 -delete` did)."""
    old = [b for b in daily(40) if NOW - b.created_at > timedelta(days=30)]
    pruned = to_prune(old, now=NOW, retention_days=7, keep_min=3)
    kept = sorted(set(old) - set(pruned), reverse=True)
    assert kept == sorted(old, reverse=True)[:3]


def test_nothing_pruned_at_or_below_the_floor() -> None:
    backups = daily(3)
    assert to_prune(backups, now=NOW + timedelta(days=365), retention_days=1, keep_min=3) == []


def test_order_of_input_does_not_matter() -> None:
    backups = daily(12)
    assert to_prune(backups, now=NOW, retention_days=7, keep_min=2) == to_prune(
        list(reversed(backups)), now=NOW, retention_days=7, keep_min=2
    )


def test_boundary_exactly_at_cutoff_is_kept() -> None:
    at_cutoff = BackupRef(NOW - timedelta(days=7), "a")
    newer = [BackupRef(NOW - timedelta(hours=h), f"n{h}") for h in range(3)]
    assert to_prune([at_cutoff, *newer], now=NOW, retention_days=7, keep_min=1) == []


@pytest.mark.parametrize(("days", "keep"), [(0, 3), (7, 0), (-1, 1)])
def test_rejects_bad_parameters(days: int, keep: int) -> None:
    with pytest.raises(retention.RetentionError, match="expected at least 1"):
        to_prune([], now=NOW, retention_days=days, keep_min=keep)


def test_names_round_trip_and_ignore_foreign_files() -> None:
    name = backup_name(NOW.replace(microsecond=123456), "safety")
    assert name == "escalafin-20251016T020030.123456Z-safety.dump"
    ref = parse_name(name, 42)
    assert ref == BackupRef(NOW.replace(microsecond=123456), name, 42)
    assert ref is not None and ref.tag == "safety"
    for other in (
        "escalafin-20251016T020030Z.dump.tmp",
        ".escalafin-x.partial",
        "backup_20251016_120000.sql.gz",
        "escalafin-20251016T020030Z.dump.sha256",
    ):
        assert parse_name(other) is None


@pytest.mark.parametrize(
    "name",
    ["escalafin-20251016T020030Z.dump", "escalafin-20251016T020030Z-safety.dump"],
)
def test_names_written_before_microseconds_are_still_backups(name: str) -> None:
    """Names on volumes and in buckets from before the finer resolution keep working."""
    ref = parse_name(name, 7)
    assert ref is not None and ref.created_at == NOW and ref.size == 7
    newer = parse_name(backup_name(NOW + timedelta(microseconds=1)))
    assert newer is not None and newer > ref


def test_two_runs_in_the_same_instant_get_distinct_names() -> None:
    first = retention.unique_name(NOW, "", set())
    second = retention.unique_name(NOW, "", {first})
    third = retention.unique_name(NOW, "", {first, second})
    assert len({first, second, third}) == 3
    refs = [parse_name(n) for n in (first, second, third)]
    assert refs == sorted(refs, key=lambda r: r.created_at if r else NOW)  # order kept


def test_safety_archives_are_judged_apart_from_scheduled_backups() -> None:
    """Restore attempts cannot push scheduled backups out of the floor, and safety archives
    follow the same rule of their own (they used to pile up: nothing pruned them)."""
    scheduled = daily(10)
    safety = [
        BackupRef(NOW - timedelta(days=d), backup_name(NOW - timedelta(days=d), "safety"))
        for d in (0, 1, 2, 20, 21)
    ]
    pruned = to_prune([*scheduled, *safety], now=NOW, retention_days=7, keep_min=3)
    assert {b.name for b in pruned if b.tag == "safety"} == {s.name for s in safety[3:]}
    assert [b for b in pruned if b.tag == ""] == to_prune(
        scheduled, now=NOW, retention_days=7, keep_min=3
    )


def test_naive_time_is_rejected() -> None:
    with pytest.raises(retention.RetentionError, match="timezone-aware"):
        backup_name(datetime(2025, 1, 1))
