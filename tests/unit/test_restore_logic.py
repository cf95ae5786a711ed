"""Pure parts of the restore: worker count, error selection, staging names."""

from __future__ import annotations

import pytest

from lifecycle import restore
from lifecycle.backup import BackupError

pytestmark = pytest.mark.unit


def test_restore_jobs_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKUP_RESTORE_JOBS", raising=False)
    assert 1 <= restore.restore_jobs() <= 4
    monkeypatch.setenv("BACKUP_RESTORE_JOBS", "8")
    assert restore.restore_jobs() == 8


@pytest.mark.parametrize("raw", ["0", "33", "two", "-1"])
def test_restore_jobs_rejects_bad_values(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("BACKUP_RESTORE_JOBS", raw)
    with pytest.raises(BackupError, match=r"BACKUP_RESTORE_JOBS=.*an integer from 1 to 32"):
        restore.restore_jobs()


def test_first_error_names_the_cause_not_the_worker_echo() -> None:
    stderr = (
        b"pg_restore: error: could not execute query: ERROR:  blocked by test\n"
        b"Command was: CREATE INDEX x ON t (c);\n"
        b"pg_restore: error: a worker process died unexpectedly\n"
    )
    assert restore.first_error(stderr) == (
        "pg_restore: error: could not execute query: ERROR:  blocked by test"
    )
    assert restore.first_error(b"plain failure\n") == "plain failure"


def test_staging_names_fit_postgres_identifiers() -> None:
    name = restore._sibling("d" * 63, "restore_20261128120000")
    assert len(name) <= 63 and name.endswith("_restore_20261128120000")
    assert (
        restore.with_database("postgresql://u:p@h:5432/escalafin?schema=public", "postgres")
        == "postgresql://u:p@h:5432/postgres?schema=public"
    )
