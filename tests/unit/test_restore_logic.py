"""Pure parts of the restore: worker count, error selection, sibling database names, what an
interrupted restore left and what to drop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lifecycle import restore, restore_plan
from lifecycle.restore_plan import IN_PROGRESS, RETIRED, Marker, Recovery

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def test_restore_jobs_default_and_override() -> None:
    assert 1 <= restore_plan.restore_jobs({}) <= 4
    assert restore_plan.restore_jobs({"BACKUP_RESTORE_JOBS": "8"}) == 8


@pytest.mark.parametrize("raw", ["0", "33", "two", "-1"])
def test_restore_jobs_rejects_bad_values(raw: str) -> None:
    with pytest.raises(restore_plan.PlanError, match=r"BACKUP_RESTORE_JOBS=.*from 1 to 32"):
        restore_plan.restore_jobs({"BACKUP_RESTORE_JOBS": raw})


@pytest.mark.parametrize("raw", ["0", "-1", "many", "101"])
def test_keep_retired_rejects_bad_values(raw: str) -> None:
    with pytest.raises(restore_plan.PlanError, match="BACKUP_KEEP_RETIRED"):
        restore_plan.keep_retired({"BACKUP_KEEP_RETIRED": raw})
    assert restore_plan.keep_retired({}) == 1


def test_first_error_names_the_cause_not_the_worker_echo() -> None:
    stderr = (
        b"pg_restore: error: could not execute query: ERROR:  blocked by test\n"
        b"Command was: CREATE INDEX x ON t (c);\n"
        b"pg_restore: error: a worker process died unexpectedly\n"
    )
    assert restore_plan.first_error(stderr) == (
        "pg_restore: error: could not execute query: ERROR:  blocked by test"
    )
    assert restore_plan.first_error(b"plain failure\n") == "plain failure"


def test_sibling_names_fit_postgres_identifiers_and_are_recognised() -> None:
    long = "d" * 63
    for kind in restore_plan.KINDS:
        name = restore_plan.sibling(long, kind, AT)
        assert len(name.encode()) <= 63 and name.endswith(f"_{kind}_20261128120000")
        assert restore_plan.kind_of(long, name) == kind
    assert restore_plan.kind_of("escalafin", "escalafin") is None
    assert restore_plan.kind_of("escalafin", "escalafin_retired_notastamp") is None
    assert restore_plan.kind_of("escalafin", "other_retired_20261128120000") is None
    assert (
        restore.with_database("postgresql://u:p@h:5432/escalafin?schema=public", "postgres")
        == "postgresql://u:p@h:5432/postgres?schema=public"
    )


def test_new_sibling_never_reuses_a_name() -> None:
    first = restore_plan.new_sibling("db", "retired", AT, set())
    second = restore_plan.new_sibling("db", "retired", AT, {first})
    assert first != second and restore_plan.kind_of("db", second) == "retired"


def marker(state: str) -> str:
    return Marker(state, "escalafin-20261128T020000.000000Z.dump", at=AT.isoformat()).comment()


def test_marker_round_trips_and_ignores_foreign_comments() -> None:
    m = Marker(RETIRED, "a.dump", safety="s.dump", at="t")
    assert Marker.parse(m.comment()) == m
    assert Marker.parse("a comment an operator wrote") is None
    assert Marker.parse(None) is None
    assert Marker.parse(restore_plan.MARKER_PREFIX + "{not json") is None


def test_recovery_renames_back_a_database_moved_aside_by_a_killed_restore() -> None:
    aside = restore_plan.sibling("db", "retired", AT)
    older = restore_plan.sibling("db", "retired", AT.replace(hour=1))
    plan = restore_plan.recovery("db", {aside: marker(IN_PROGRESS), older: marker(RETIRED)})
    assert plan == Recovery(rename_back=aside)


def test_recovery_only_marks_when_the_swap_did_happen() -> None:
    aside = restore_plan.sibling("db", "retired", AT)
    plan = restore_plan.recovery("db", {"db": None, aside: marker(IN_PROGRESS)})
    assert plan == Recovery(mark_retired=(aside,))
    assert restore_plan.recovery("db", {"db": None, aside: marker(RETIRED)}) == Recovery()


def test_to_drop_takes_debris_and_retired_beyond_the_newest_kept() -> None:
    retired = [restore_plan.sibling("db", "retired", AT.replace(hour=h)) for h in (1, 2, 3)]
    staging = restore_plan.sibling("db", "restore", AT)
    drill = restore_plan.sibling("db", "drill", AT)
    names = {*retired, staging, drill, "db", "unrelated"}
    assert restore_plan.to_drop("db", names, keep_retired=1) == [
        drill,
        staging,
        retired[0],
        retired[1],
    ]
    assert restore_plan.to_drop("db", names, keep_retired=5) == [drill, staging]


def test_recovery_renames_back_the_newest_retired_when_the_target_is_missing() -> None:
    """Killed between marking the retired database done and renaming the restored one in:
    the target is missing and nothing is in progress, yet the data is in the newest one."""
    newest = restore_plan.sibling("db", "retired", AT)
    older = restore_plan.sibling("db", "retired", AT.replace(hour=1))
    plan = restore_plan.recovery("db", {newest: marker(RETIRED), older: marker(RETIRED)})
    assert plan == Recovery(rename_back=newest)
    assert restore_plan.recovery("db", {}) == Recovery()


def test_stack_app_containers_are_every_replica_or_the_old_single_output() -> None:
    outputs = {"appContainers": ["app-1a2b3c4", "app-2-5d6e7f8"], "appContainer": "app-1a2b3c4"}
    assert restore.stack_app_containers(outputs) == ["app-1a2b3c4", "app-2-5d6e7f8"]
    assert restore.stack_app_containers({"appContainer": "escalafin-prod-app"}) == [
        "escalafin-prod-app"  # a stack deployed before replicas existed
    ]
    assert restore.stack_app_containers({}) == []
