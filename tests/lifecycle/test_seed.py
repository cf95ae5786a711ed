"""The conditional seed against a real PostgreSQL 17: empty → seeded with verifiable bcrypt
hashes, non-empty → skipped, concurrent seeders → exactly once, never a password in argv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from lifecycle import db, seed
from tests.support import services
from tests.support.pg_databases import fresh_database

pytestmark = pytest.mark.lifecycle
REPO = Path(__file__).resolve().parents[2]
SEED_FILE = REPO / "app" / "prisma" / "seed.json"
PASSWORDS = {"admin": "Adm1n-secret", "advisor": "Adv1sor-secret", "client": "Cl1ent-secret"}

# The users table as the app's init migration defines it (columns fixed by the design).
USERS_DDL = """
CREATE TYPE "UserRole" AS ENUM ('ADMIN', 'ADVISOR', 'CLIENT');
CREATE TYPE "UserStatus" AS ENUM ('ACTIVE', 'INACTIVE', 'SUSPENDED');
CREATE TABLE "users" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "email" TEXT NOT NULL UNIQUE,
    "firstName" TEXT NOT NULL,
    "lastName" TEXT NOT NULL,
    "password" TEXT NOT NULL,
    "role" "UserRole" NOT NULL DEFAULT 'CLIENT',
    "status" "UserStatus" NOT NULL DEFAULT 'ACTIVE',
    "phone" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL
);
"""


@pytest.fixture()
def url(pg_module: services.Postgres) -> Iterator[str]:
    with fresh_database(pg_module) as database_url:
        with db.connect(database_url) as conn:
            conn.execute(USERS_DDL.encode())
        yield database_url


def env_with_passwords(url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url}
    env.update({seed.password_env_name(k): v for k, v in PASSWORDS.items()})
    return env


def run_seed(
    env: dict[str, str], *extra: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lifecycle.seed", "--json", "--seed-file", str(SEED_FILE), *extra],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def users(url: str) -> list[tuple[str, str, str]]:
    with db.connect(url) as conn:
        return [
            (str(r[0]), str(r[1]), str(r[2]))
            for r in conn.execute('SELECT email, role::text, password FROM "users" ORDER BY email')
        ]


def test_empty_table_is_seeded_with_verifiable_bcrypt_hashes(url: str) -> None:
    proc = run_seed(env_with_passwords(url))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["outcome"], result["inserted"], result["existing"]) == ("seeded", 3, 0)
    seeded = users(url)
    key_of = {u.email: u.password_key for u in seed.load_seed(SEED_FILE)}
    assert {(email, role) for email, role, _ in seeded} == {
        ("admin@escalafin.com", "ADMIN"),
        ("asesor@escalafin.com", "ADVISOR"),
        ("cliente@escalafin.com", "CLIENT"),
    }
    for email, _, hashed in seeded:
        assert hashed.startswith("$2b$10$")
        assert bcrypt.checkpw(PASSWORDS[key_of[email]].encode(), hashed.encode())
        assert PASSWORDS[key_of[email]] not in proc.stdout + proc.stderr


def test_non_empty_table_is_skipped_and_untouched(url: str) -> None:
    with db.connect(url) as conn:
        conn.execute(
            'INSERT INTO "users" (id, email, "firstName", "lastName", password, "updatedAt") '
            "VALUES ('u1', 'someone@example.com', 'Some', 'One', 'x', now())"
        )
    proc = run_seed(env_with_passwords(url))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) | {"duration_ms": 0} == {
        "ok": True,
        "outcome": "skipped",
        "inserted": 0,
        "existing": 1,
        "duration_ms": 0,
    }
    assert users(url) == [("someone@example.com", "CLIENT", "x")]


def test_concurrent_seeders_seed_exactly_once(url: str) -> None:
    env = env_with_passwords(url)
    command = [sys.executable, "-m", "lifecycle.seed", "--json", "--seed-file", str(SEED_FILE)]
    procs = [
        subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outcomes = sorted(json.loads(p.communicate(timeout=60)[0])["outcome"] for p in procs)
    assert outcomes == ["seeded", "skipped", "skipped"]
    assert len(users(url)) == 3


def test_passwords_from_stdin_and_missing_ones_named(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    missing = run_seed(env)
    assert missing.returncode == 2
    assert "SEED_PASSWORD_ADMIN" in json.loads(missing.stdout)["error"]
    assert users(url) == []
    proc = run_seed(env, "--passwords-stdin", stdin=json.dumps(PASSWORDS))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "seeded"


def test_missing_users_table_is_refused(pg_module: services.Postgres) -> None:
    with fresh_database(pg_module) as bare:
        proc = run_seed(env_with_passwords(bare))
    assert proc.returncode == 3
    assert "apply the migrations" in json.loads(proc.stdout)["error"]


def test_seed_file_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "seed.json"
    bad.write_text(
        json.dumps(
            {
                "users": [
                    {
                        "email": "a@b.c",
                        "firstName": "A",
                        "lastName": "B",
                        "passwordKey": "k",
                        "role": "ROOT",
                    }
                ]
            }
        )
    )
    with pytest.raises(seed.SeedError, match=r"users\[0\]\.role is 'ROOT'; allowed: ADMIN"):
        seed.load_seed(bad)
