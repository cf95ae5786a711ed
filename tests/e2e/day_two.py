"""Observations for the day-two scenarios: who can log in with which secret, what a build is.

Each helper asks the real service (PostgreSQL through the admin port, Redis and the
object store from inside the stack's own containers), never the harness's bookkeeping.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import bcrypt
import psycopg

from tests.e2e import checks, scenarios
from tests.e2e.conftest import Deployment
from tests.support.program import PROJECT_DIR

ADMIN_EMAIL = "admin@escalafin.com"
# Runs inside the backup agent: lists the bucket with the keys given in its environment.
S3_PROBE = (
    "import boto3, os, sys\n"
    "s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT_URL'],"
    " region_name=os.environ['S3_REGION'])\n"
    "try:\n"
    "    s3.list_objects_v2(Bucket=os.environ['S3_BUCKET'])\n"
    "except Exception as exc:\n"
    "    print(type(exc).__name__, str(exc)[:200]); sys.exit(1)\n"
)


def converged(d: Deployment) -> None:
    """`up` succeeds and the app answers healthy: the starting point of every scenario."""
    d.up()
    status, body = scenarios.wait_health(d.app_port)
    assert status == 200, body


def generated(d: Deployment, key: str) -> str:
    """The value a RandomPassword generated for `key` (databasePassword, ...)."""
    return str(d.harness.outputs(f"RandomPassword/{key}")["result"])


def db_login(d: Deployment, password: str) -> bool:
    """A scram login through the dev admin port (127.0.0.1), as admin tools log in."""
    port = int(d.overrides["escalafin:databaseAdminPort"] or 0)
    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="escalafin",
            password=password,
            dbname="escalafin",
            connect_timeout=5,
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        if "password authentication failed" in str(exc):
            return False
        raise
    return True


def redis_auth(d: Deployment, password: str) -> bool:
    code, out = d.container("redis").exec_run(
        ["redis-cli", "--no-auth-warning", "ping"], environment={"REDISCLI_AUTH": password}
    )
    return code == 0 and out.decode().strip() == "PONG"


def env_of(container: Any, name: str) -> str:
    container.reload()
    for entry in container.attrs["Config"]["Env"]:
        key, _, value = entry.partition("=")
        if key == name:
            return value
    raise KeyError(name)


def store_accepts(d: Deployment, access_key: str, secret_key: str) -> bool:
    """Does the store let these keys list the backup bucket? (asked from the agent)."""
    agent = scenarios.backup_agent(d)
    code, _out = agent.exec_run(
        ["python", "-c", S3_PROBE],
        environment={"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key},
    )
    return code == 0


def backup_now(d: Deployment) -> None:
    code, _out, err = checks.run_in(
        scenarios.backup_agent(d), ["python", "-m", "lifecycle.backup", "now", "--json"]
    )
    assert code == 0, err[-2000:]


def admin_password_hash(d: Deployment) -> str:
    sql = f"SELECT password FROM users WHERE email = '{ADMIN_EMAIL}'"
    return checks.psql(d.container("postgres"), sql)


def admin_password_is(d: Deployment, password: str) -> bool:
    return bcrypt.checkpw(password.encode(), admin_password_hash(d).encode())


def checkout_copy(tmp: Path) -> Path:
    """The project at another path, as a second clone would be (no venv, no VCS data)."""
    target = tmp / "elsewhere" / "escalafin-infra"
    shutil.copytree(
        PROJECT_DIR,
        target,
        ignore=shutil.ignore_patterns("venv", ".git", ".pulumi-state", "__pycache__", "*.pyc"),
    )
    return target


def broken_app(tmp: Path) -> Path:
    """The app source with its health route moved away: it starts, and never turns healthy."""
    copy = tmp / "broken-app"
    shutil.copytree(PROJECT_DIR / "app", copy)
    asgi = copy / "escalafin_app" / "asgi.py"
    source = asgi.read_text()
    assert 'HEALTH_PATH = "/api/health"' in source
    asgi.write_text(source.replace('HEALTH_PATH = "/api/health"', 'HEALTH_PATH = "/api/gone"'))
    return copy


def builds(d: Deployment, kind: str) -> list[str]:
    """The kept build tags of the app or ops image (`<prefix>-<kind>:build-<id>`)."""
    repository = f"{d.prefix}-{kind}"
    return sorted(
        tag
        for image in d.harness.client.images.list(name=repository)
        for tag in image.tags
        if tag.startswith(f"{repository}:build-")
    )
