"""Prisma Migrate and our runner agree on the Next.js example's migrations, both ways.

The example is what a user deploys with appTemplate nextjs: its prisma/migrations came from
Prisma's own engine. Whoever applied them, the other one must see the database as up to date,
with the same bookkeeping rows (name, checksum) and the same schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lifecycle import db, migrate, migrations
from lifecycle.migration_plan import discover
from tests.support import real_prisma, services
from tests.support.pg_databases import fresh_database
from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.lifecycle

FOLDER = PROJECT_DIR / "examples" / "nextjs-app" / "prisma" / "migrations"
SCHEMA_SQL = (
    "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text "
    "FROM information_schema.columns WHERE table_schema = 'public' "
    "AND table_name <> '_prisma_migrations' ORDER BY 1, 2"
)
ENUMS_SQL = (
    "SELECT t.typname::text, e.enumlabel::text FROM pg_enum e JOIN pg_type t ON t.oid = "
    "e.enumtypid ORDER BY 1, e.enumsortorder"
)
INDEXES_SQL = (
    "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
)


@pytest.fixture()
def url(pg_module: services.Postgres) -> Iterator[str]:
    with fresh_database(pg_module) as database_url:
        yield database_url


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    with db.connect(url) as conn:
        return {
            "rows": conn.execute(
                "SELECT migration_name, checksum, applied_steps_count FROM _prisma_migrations "
                "WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1"
            ).fetchall(),
            "columns": conn.execute(SCHEMA_SQL).fetchall(),
            "enums": conn.execute(ENUMS_SQL).fetchall(),
            "indexes": conn.execute(INDEXES_SQL).fetchall(),
        }


def test_prisma_sees_our_deploy_as_up_to_date(url: str) -> None:
    real_prisma.require()
    code, _, _ = migrate.execute("deploy", url, FOLDER)
    assert code == 0
    code, output = real_prisma.migrate("status", url, FOLDER)
    assert code == 0, output
    assert "2 migrations found" in output and "Database schema is up to date!" in output


def test_our_runner_sees_prisma_deploy_as_up_to_date_with_the_same_schema(
    url: str, pg_module: services.Postgres
) -> None:
    code, output = real_prisma.migrate("deploy", url, FOLDER)
    assert code == 0, output
    with db.connect(url) as conn:
        plan = migrations.status(conn, discover(FOLDER))
    assert plan.up_to_date and not plan.checksum_changed, plan
    assert plan.applied == [m.name for m in discover(FOLDER)]
    with fresh_database(pg_module) as ours:
        migrate.execute("deploy", ours, FOLDER)
        assert snapshot(ours) == snapshot(url)
