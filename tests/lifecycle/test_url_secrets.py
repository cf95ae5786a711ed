"""A database password with URL characters (`# / ? % @ : '`) end to end through the
lifecycle commands: migrations, backup, list, restore work with the stack's encoded URL,
and no output (log, error, JSON) ever contains the password (issue 10, item 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle import cli
from tests.support import backup_env, services, url_secrets
from tests.support.backup_env import S3

pytestmark = pytest.mark.lifecycle
REPO = Path(__file__).resolve().parents[2]


def run(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def test_password_with_url_characters_works_and_is_never_printed(
    pg_module: services.Postgres, pg_bin: Path, s3: S3, tmp_path: Path
) -> None:
    database = backup_env.new_database(pg_module).rsplit("/", 1)[1]
    role, password = url_secrets.special_role(pg_module)
    url = url_secrets.url_as(role, password, "127.0.0.1", pg_module.host_port, database)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BACKUP_DIR": str(tmp_path),
        "PG_BIN_DIR": str(pg_bin),
        **backup_env.s3_env(s3, s3.new_bucket()),
    }
    outputs: list[str] = []

    def ok(module: str, *args: str) -> subprocess.CompletedProcess[str]:
        done = run(module, *args, env=env)
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, url_secrets.leaks(done.stderr, password) or done.stderr[-800:]
        return done

    ok("lifecycle.migrate", "deploy", "--migrations", str(REPO / "app/prisma/migrations"))
    ok("lifecycle.backup", "now")
    ok("lifecycle.backup", "list")
    ok("lifecycle.restore", "restore", "--latest", "--yes")
    ok("lifecycle.migrate", "status", "--migrations", str(REPO / "app/prisma/migrations"))

    # Failures name what is wrong and still show no password: a wrong one, and the same
    # URL written by hand without encoding (what the stack did before).
    env["DATABASE_URL"] = url_secrets.url_as(
        role, password + "!", "127.0.0.1", pg_module.host_port, database
    )
    wrong = run("lifecycle.backup", "now", env=env)
    assert (
        wrong.returncode == cli.EXIT_UNAVAILABLE
        and "password authentication failed" in wrong.stderr
    )
    outputs.append(wrong.stdout + wrong.stderr)
    env["DATABASE_URL"] = (
        f"postgresql://{role}:{password}@127.0.0.1:{pg_module.host_port}/{database}"
    )
    for module, args in (("lifecycle.backup", ("now",)), ("lifecycle.migrate", ("status",))):
        raw = run(module, *args, env=env)
        assert raw.returncode == cli.EXIT_USAGE and "percent-encoded" in raw.stderr, raw.stderr
        outputs.append(raw.stdout + raw.stderr)
    for text in outputs:
        assert not url_secrets.leaks(text, password)
