"""The Prisma migrations folder keeps the shape Prisma Migrate and our runner rely on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

MIGRATIONS = Path(__file__).resolve().parents[2] / "app" / "prisma" / "migrations"
FOLDER = re.compile(r"\d{14}_[a-z0-9_]+")


def statements(sql: str) -> list[str]:
    code = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    return [part.strip() for part in code.split(";") if part.strip()]


def folders() -> list[Path]:
    return sorted(p for p in MIGRATIONS.iterdir() if p.is_dir())


def test_lock_file_names_postgresql() -> None:
    lock = (MIGRATIONS / "migration_lock.toml").read_text()
    assert re.search(r'^provider = "postgresql"$', lock, re.MULTILINE)


def test_every_folder_is_a_timestamped_migration_with_sql() -> None:
    assert 4 <= len(folders()) <= 6
    for folder in folders():
        assert FOLDER.fullmatch(folder.name), folder.name
        assert (folder / "migration.sql").is_file(), folder


def test_concurrent_index_migration_is_a_lone_statement() -> None:
    concurrent = [f for f in folders() if "CONCURRENTLY" in (f / "migration.sql").read_text()]
    assert len(concurrent) == 1
    assert len(statements((concurrent[0] / "migration.sql").read_text())) == 1


def test_an_enum_gains_a_value() -> None:
    assert any(
        re.search(r'^ALTER TYPE "\w+" ADD VALUE', (f / "migration.sql").read_text(), re.MULTILINE)
        for f in folders()
    )


def test_users_table_has_exactly_the_seed_contract_columns() -> None:
    init = (folders()[0] / "migration.sql").read_text()
    body = init.split('CREATE TABLE "users" (')[1].split("CONSTRAINT")[0]
    columns = [line.split()[0].strip('"') for line in body.strip().splitlines() if line.strip()]
    assert columns == [
        "id",
        "email",
        "firstName",
        "lastName",
        "password",
        "role",
        "status",
        "phone",
        "createdAt",
        "updatedAt",
    ]
    assert 'CREATE UNIQUE INDEX "users_email_key" ON "users"("email");' in init
