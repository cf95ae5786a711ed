"""Pure migration planning: Prisma's folder rules, checksum and plan categories."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lifecycle.migration_plan import (
    LocalMigration,
    MigrationFolderError,
    MigrationRow,
    checksum,
    checksum_matches,
    discover,
    error_position,
    folder_hash,
    is_single_transaction,
    lock_file_provider,
    plan,
)

pytestmark = pytest.mark.unit
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def row(
    name: str,
    script: bytes = b"",
    *,
    finished: bool = True,
    rolled_back: bool = False,
    logs: str | None = None,
) -> MigrationRow:
    return MigrationRow(
        f"id-{name}",
        checksum(script),
        NOW if finished else None,
        name,
        logs,
        NOW if rolled_back else None,
        NOW,
        1 if finished else 0,
    )


def write(folder: Path, name: str, sql: bytes) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "migration.sql").write_bytes(sql)


def test_checksum_is_sha256_hex_of_bytes_like_prisma() -> None:
    # prisma-engines checksum.rs test vector
    assert checksum(b"hello") == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert checksum(b"a\r\nb") == hashlib.sha256(b"a\r\nb").hexdigest()  # no normalisation


def test_checksum_comparison_ignores_line_endings_and_accepts_unpadded_hex() -> None:
    assert checksum_matches(b"ab\r\ncd\r\n", checksum(b"ab\ncd\n"))
    assert checksum_matches(b"ab\ncd\n", checksum(b"ab\r\ncd\r\n"))
    assert not checksum_matches(b"abc\n", checksum(b"abc"))
    digest = hashlib.sha256(b"x").digest()
    assert checksum_matches(b"x", "".join(f"{b:x}" for b in digest))


def test_discover_orders_by_name_and_validates(tmp_path: Path) -> None:
    write(tmp_path, "20240102_b", b"SELECT 2;")
    write(tmp_path, "20240101_a", b"SELECT 1;")
    (tmp_path / "README.md").write_text("not a migration")
    (tmp_path / "migration_lock.toml").write_text('# comment\nprovider = "postgresql"\n')
    assert [m.name for m in discover(tmp_path)] == ["20240101_a", "20240102_b"]

    (tmp_path / "20240103_empty").mkdir()
    with pytest.raises(MigrationFolderError, match=r"20240103_empty.*has no migration\.sql"):
        discover(tmp_path)


def test_lock_file_must_name_postgresql(tmp_path: Path) -> None:
    assert lock_file_provider('provider = "mysql"') == "mysql"
    assert lock_file_provider("nothing") == "<PROVIDER NOT FOUND>"
    (tmp_path / "migration_lock.toml").write_text('provider = "mysql"\n')
    with pytest.raises(MigrationFolderError, match=r"'mysql'.*P3019"):
        discover(tmp_path)


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MigrationFolderError, match="does not exist"):
        discover(tmp_path / "nope")


def test_plan_categories() -> None:
    local = [LocalMigration(n, f"SELECT '{n}';".encode()) for n in ("a", "b", "c", "d", "e")]
    rows = [
        row("a", local[0].script),
        row("b", b"edited since"),  # checksum changed
        row("c", local[2].script, finished=False, logs="P3018 ..."),  # failed
        row("d", local[3].script, finished=False, rolled_back=True),  # rolled back → pending
        row("gone", b"x"),  # applied, no longer in the folder
    ]
    result = plan(local, rows)
    assert result.applied == ["a", "b", "gone"]
    assert [m.name for m in result.pending] == ["d", "e"]
    assert [r.migration_name for r in result.failed] == ["c"]
    assert result.checksum_changed == ["b"]
    assert result.missing_locally == ["gone"]
    assert result.blocked and not result.up_to_date


def test_interrupted_single_transaction_is_retryable_others_block() -> None:
    atomic = LocalMigration("a", b"CREATE TABLE x (id int); INSERT INTO x VALUES (1);")
    manual = LocalMigration("b", b"BEGIN; CREATE TABLE y (id int); COMMIT; SELECT 1;")
    rows = [row("a", atomic.script, finished=False), row("b", manual.script, finished=False)]
    result = plan([atomic, manual], rows)
    assert [r.migration_name for r in result.retryable] == ["a"]
    assert [r.migration_name for r in result.failed] == ["b"]
    assert [m.name for m in result.pending] == ["a"]


@pytest.mark.parametrize(
    ("sql", "atomic"),
    [
        ("CREATE TABLE t (id int);\nALTER TYPE e ADD VALUE 'x';", True),
        (
            "CREATE FUNCTION f() RETURNS void AS $$ BEGIN PERFORM 1; COMMIT; END $$ "
            "LANGUAGE plpgsql;",
            True,
        ),
        (
            "-- BEGIN;\nSELECT 'COMMIT;' AS \"begin\"; /* END; */ "
            "SELECT CASE WHEN true THEN 1 END;",
            True,
        ),
        ("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;", False),
        ("CREATE INDEX CONCURRENTLY i ON t (id);", False),
        ("create table t(); commit;", False),
        ("VACUUM t;", False),
    ],
)
def test_single_transaction_detection(sql: str, atomic: bool) -> None:
    assert is_single_transaction(sql) is atomic


def test_error_position_shows_failing_line_with_context() -> None:
    script = "SELECT 1;\nSELECT 2;\nSELEC 3;\n"
    text = error_position(script, script.index("SELEC 3") + 1)
    assert text.endswith("  3 SELEC 3;")
    assert "  1 SELECT 1;" in text
    assert error_position(script, None) == ""


def test_folder_hash_changes_with_new_or_edited_migration(tmp_path: Path) -> None:
    write(tmp_path, "20240101_a", b"SELECT 1;")
    first = folder_hash(tmp_path)
    assert folder_hash(tmp_path) == first
    write(tmp_path, "20240102_b", b"SELECT 2;")
    second = folder_hash(tmp_path)
    (tmp_path / "20240102_b" / "migration.sql").write_bytes(b"SELECT 3;")
    assert len({first, second, folder_hash(tmp_path)}) == 3
