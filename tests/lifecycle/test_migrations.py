"""Prisma-compatible migrations against a real PostgreSQL 17: bookkeeping exactly as Prisma
writes it, no-op re-runs, failures that block until resolved, concurrent runners, and a
connection killed mid-script."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg.rows import dict_row

from lifecycle import db, migrations
from lifecycle.migration_plan import discover
from tests.support import services
from tests.support.pg_databases import fresh_database

pytestmark = pytest.mark.lifecycle
REPO = Path(__file__).resolve().parents[2]

SCRIPTS = {
    "20240101000000_init": (
        "CREATE TYPE \"Role\" AS ENUM ('ADMIN', 'CLIENT');\n"
        'CREATE TABLE "accounts" ("id" TEXT PRIMARY KEY, "role" "Role" NOT NULL, '
        "\"note\" TEXT DEFAULT '100%s sure');\n"
    ),
    "20240102000000_enum_value": "ALTER TYPE \"Role\" ADD VALUE 'ADVISOR';\n",
    "20240103000000_own_transaction": (
        "BEGIN;\nINSERT INTO accounts (id, role) VALUES ('a1', 'ADMIN');\nCOMMIT;\n"
        "BEGIN;\nINSERT INTO accounts (id, role) VALUES ('a2', 'CLIENT');\nCOMMIT;\n"
    ),
    "20240104000000_concurrent_index": 'CREATE INDEX CONCURRENTLY "accounts_role_idx" '
    'ON "accounts" ("role");\n',
}


@pytest.fixture()
def url(pg_module: services.Postgres) -> Iterator[str]:
    with fresh_database(pg_module) as database_url:
        yield database_url


def write(folder: Path, name: str, sql: str) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "migration.sql").write_text(sql, encoding="utf-8")


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    target.mkdir()
    (target / "migration_lock.toml").write_text('provider = "postgresql"\n')
    for name, sql in SCRIPTS.items():
        write(target, name, sql)
    return target


def cli(*args: str, url: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "lifecycle.migrate", *args, "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def result_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rows(url: str) -> list[dict[str, Any]]:
    with db.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM _prisma_migrations ORDER BY started_at")
        return cur.fetchall()


def deploy(url: str, folder: Path) -> migrations.DeployResult:
    with db.connect(url) as conn:
        return migrations.deploy(conn, discover(folder), lock_timeout_s=10)


def test_from_scratch_bookkeeping_matches_prisma(url: str, folder: Path) -> None:
    result = deploy(url, folder)
    assert result.applied == list(SCRIPTS)
    with db.connect(url) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type, character_maximum_length, is_nullable, "
            "column_default FROM information_schema.columns "
            "WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position"
        ).fetchall()
        pkey = conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = '_prisma_migrations'::regclass "
            "AND contype = 'p'"
        ).fetchone()
        enum = conn.execute('SELECT enum_range(NULL::"Role")::text').fetchone()
        index_valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_role_idx'::regclass"
        ).fetchone()
        accounts = conn.execute("SELECT count(*) FROM accounts").fetchone()
    assert columns == [
        ("id", "character varying", 36, "NO", None),
        ("checksum", "character varying", 64, "NO", None),
        ("finished_at", "timestamp with time zone", None, "YES", None),
        ("migration_name", "character varying", 255, "NO", None),
        ("logs", "text", None, "YES", None),
        ("rolled_back_at", "timestamp with time zone", None, "YES", None),
        ("started_at", "timestamp with time zone", None, "NO", "now()"),
        ("applied_steps_count", "integer", None, "NO", "0"),
    ]
    assert pkey == ("_prisma_migrations_pkey",)
    assert enum == ("{ADMIN,CLIENT,ADVISOR}",)
    assert index_valid == (True,)
    assert accounts == (2,)
    recorded = rows(url)
    assert [r["migration_name"] for r in recorded] == list(SCRIPTS)
    for r in recorded:
        sql_bytes = (folder / r["migration_name"] / "migration.sql").read_bytes()
        assert str(uuid.UUID(r["id"])) == r["id"]
        assert r["checksum"] == hashlib.sha256(sql_bytes).hexdigest()
        assert r["finished_at"] is not None and r["finished_at"] >= r["started_at"]
        assert r["logs"] is None and r["rolled_back_at"] is None
        assert r["applied_steps_count"] == 1


def test_rerun_is_a_noop_and_a_new_migration_applies_alone(url: str, folder: Path) -> None:
    deploy(url, folder)
    again = deploy(url, folder)
    assert again.applied == [] and again.already_applied == len(SCRIPTS)
    assert len(rows(url)) == len(SCRIPTS)

    write(folder, "20240105000000_more", "ALTER TABLE accounts ADD COLUMN email TEXT;\n")
    proc = cli("deploy", "--migrations", str(folder), url=url)
    assert proc.returncode == 0, proc.stderr
    assert result_of(proc)["applied"] == ["20240105000000_more"]
    assert "applied 20240105000000_more in" in proc.stderr  # one log line with duration
    assert len(rows(url)) == len(SCRIPTS) + 1


def test_failed_migration_is_recorded_blocks_and_resolves(url: str, folder: Path) -> None:
    bad = "20240105000000_bad"
    write(folder, bad, "CREATE TABLE half (id int);\nSELECT 1/0;\n")
    write(folder, "20240106000000_after", "CREATE TABLE after_bad (id int);\n")
    proc = cli("deploy", "--migrations", str(folder), url=url)
    assert proc.returncode == 3
    assert bad in result_of(proc)["error"] and "22012" in result_of(proc)["error"]
    failed = rows(url)[-1]
    assert failed["migration_name"] == bad
    assert failed["finished_at"] is None and failed["applied_steps_count"] == 0
    assert "Migration name: " + bad in failed["logs"]
    assert "Database error code: 22012" in failed["logs"]
    assert "ERROR: division by zero" in failed["logs"]
    with db.connect(url) as conn:  # the script's implicit transaction was rolled back
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)

    blocked = cli("deploy", "--migrations", str(folder), url=url)
    assert blocked.returncode == 3
    assert f"The `{bad}` migration started at" in result_of(blocked)["error"]
    assert cli("status", "--migrations", str(folder), url=url).returncode == 3

    write(folder, bad, "CREATE TABLE half (id int);\n")  # fix, then resolve like Prisma
    resolved = cli("resolve", "--rolled-back", bad, "--migrations", str(folder), url=url)
    assert resolved.returncode == 0, resolved.stderr
    done = cli("deploy", "--migrations", str(folder), url=url)
    assert done.returncode == 0, done.stderr
    assert result_of(done)["applied"] == [bad, "20240106000000_after"]
    history = [
        (r["migration_name"], r["rolled_back_at"] is not None, r["finished_at"] is not None)
        for r in rows(url)
        if r["migration_name"] == bad
    ]
    assert history == [(bad, True, False), (bad, False, True)]
    assert cli("status", "--migrations", str(folder), url=url).returncode == 0


def test_resolve_applied_records_row_like_prisma(url: str, folder: Path) -> None:
    name = "20240101000000_init"
    proc = cli("resolve", "--applied", name, "--migrations", str(folder), url=url)
    assert proc.returncode == 0, proc.stderr
    (row,) = rows(url)
    assert row["migration_name"] == name and row["logs"] == ""
    assert row["finished_at"] is not None and row["applied_steps_count"] == 0
    again = cli("resolve", "--applied", name, "--migrations", str(folder), url=url)
    assert again.returncode == 2 and "P3008" in result_of(again)["error"]
    unknown = cli("resolve", "--rolled-back", "nope", "--migrations", str(folder), url=url)
    assert unknown.returncode == 2 and "P3011" in result_of(unknown)["error"]


def test_status_reports_pending_and_changed_checksums(url: str, folder: Path) -> None:
    pending = cli("status", "--migrations", str(folder), url=url)
    assert pending.returncode == 1
    assert result_of(pending)["pending"] == list(SCRIPTS)
    deploy(url, folder)
    assert cli("status", "--migrations", str(folder), url=url).returncode == 0
    write(folder, "20240102000000_enum_value", "ALTER TYPE \"Role\" ADD VALUE 'OTHER';\n")
    changed = cli("status", "--migrations", str(folder), url=url)
    assert changed.returncode == 1
    assert result_of(changed)["checksum_changed"] == ["20240102000000_enum_value"]
    # CRLF checkouts are not a change (Prisma compares line-ending agnostic)
    path = folder / "20240101000000_init" / "migration.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert result_of(cli("status", "--migrations", str(folder), url=url))["checksum_changed"] == [
        "20240102000000_enum_value"
    ]


def test_non_empty_schema_without_history_is_refused(url: str, folder: Path) -> None:
    with db.connect(url) as conn:
        conn.execute("CREATE TABLE legacy (id int)")
    proc = cli("deploy", "--migrations", str(folder), url=url)
    assert proc.returncode == 3 and "P3005" in result_of(proc)["error"]


def test_lock_timeout_is_a_clear_error(url: str, folder: Path) -> None:
    with db.connect(url) as holder:
        holder.execute("SELECT pg_advisory_lock(72707369)")
        proc = cli("deploy", "--migrations", str(folder), "--lock-timeout", "0.5", url=url)
    assert proc.returncode == 4
    assert "advisory lock 72707369" in result_of(proc)["error"]
    with db.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('accounts')").fetchone() == (None,)


def test_two_runner_processes_apply_each_migration_once(url: str, folder: Path) -> None:
    write(folder, "20240105000000_slow", "SELECT pg_sleep(1.5);\nCREATE TABLE slow (id int);\n")
    env = {**os.environ, "DATABASE_URL": url}
    command = [
        sys.executable,
        "-m",
        "lifecycle.migrate",
        "deploy",
        "--json",
        "--migrations",
        str(folder),
    ]
    procs = [
        subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    counts = sorted(json.loads(out.strip().splitlines()[-1])["count"] for out, _ in outputs)
    assert counts == [0, len(SCRIPTS) + 1]
    names = [r["migration_name"] for r in rows(url)]
    assert sorted(names) == sorted({*SCRIPTS, "20240105000000_slow"})


def test_connection_killed_mid_script_leaves_nothing_and_next_run_completes(
    url: str, folder: Path
) -> None:
    slow = "20240105000000_slow"
    write(folder, slow, "CREATE TABLE killed_probe (id int);\nSELECT pg_sleep(30);\n")
    deploy_proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lifecycle.migrate",
            "deploy",
            "--json",
            "--migrations",
            str(folder),
        ],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with db.connect(url) as killer:
        deadline = time.monotonic() + 30
        pid = None
        while pid is None and time.monotonic() < deadline:
            found = killer.execute(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE '%killed_probe%' "
                "AND pid <> pg_backend_pid() AND state = 'active'"
            ).fetchone()
            pid = found[0] if found else None
            time.sleep(0.05)
        assert pid is not None, "the slow migration never started"
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
    out, err = deploy_proc.communicate(timeout=30)
    assert deploy_proc.returncode == 4, err
    assert "lost the database connection" in json.loads(out.strip().splitlines()[-1])["error"]
    with db.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('killed_probe')").fetchone() == (None,)

    # status after the interruption names the migration once (issue 10, item 9)
    status = cli("status", "--migrations", str(folder), url=url)
    summary = result_of(status)
    assert [*summary["pending"], *summary["retryable"]] == [slow]
    text = subprocess.run(
        [sys.executable, "-m", "lifecycle.migrate", "status", "--migrations", str(folder)],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert text.stdout.count(slow) == 1, text.stdout

    write(folder, slow, "CREATE TABLE killed_probe (id int);\n")  # faster on the retry
    result = deploy(url, folder)
    assert result.recovered == [slow] and result.applied == [slow]
    history = [r for r in rows(url) if r["migration_name"] == slow]
    assert [(r["rolled_back_at"] is not None, r["finished_at"] is not None) for r in history] == [
        (True, False),
        (False, True),
    ]
    assert "Interrupted" in history[0]["logs"]


def test_hundreds_of_migrations_in_one_run(url: str, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for i in range(300):
        write(folder, f"{20240101000000 + i}_m{i}", f"CREATE TABLE t{i} (id int PRIMARY KEY);\n")
    result = deploy(url, folder)
    assert len(result.applied) == 300
    assert deploy(url, folder).applied == []


def test_repository_migrations_apply(url: str) -> None:
    folder = REPO / "app" / "prisma" / "migrations"
    if not folder.is_dir():
        pytest.skip("app/prisma/migrations not present")
    result = deploy(url, folder)
    assert result.applied == [m.name for m in discover(folder)]
    assert deploy(url, folder).applied == []


def test_deploy_warns_about_an_applied_migration_edited_since(url: str, folder: Path) -> None:
    """deploy, not only status, says an applied file changed (issue 10, item 9); it never
    runs it again."""
    deploy(url, folder)
    edited = "20240102000000_enum_value"
    write(folder, edited, "ALTER TYPE \"Role\" ADD VALUE 'OTHER';\n")
    proc = cli("deploy", "--migrations", str(folder), url=url)
    assert proc.returncode == 0, proc.stderr
    summary = result_of(proc)
    assert summary["count"] == 0
    assert len(summary["warnings"]) == 1 and edited in summary["warnings"][0]
    assert f"migration {edited} was edited after it was applied" in proc.stderr


def test_long_migration_outlives_the_keepalive_probes(url: str, folder: Path) -> None:
    """Keepalives bound how long a dead server goes unnoticed (issue 10, item 6), but a live
    server answers them: a statement running longer than the probe schedule completes."""
    idle = int(db.CONNECTION_DEFAULTS["keepalives_idle"])
    write(
        folder,
        "20240105000000_long",
        f"SELECT pg_sleep({idle + 5});\nCREATE TABLE long_done (id int);\n",
    )
    result = deploy(url, folder)
    assert result.applied[-1] == "20240105000000_long"
