"""The e2e scenarios, written once and run against the dev and the prod-like settings.

Each step runs `up` through the harness and then checks the real engine: the
published health endpoint, rows in PostgreSQL, keys in Redis, container ids.
One deployment per test module keeps the tier's runtime modest; its fixture
(`deployed`) does the first `up`, so every test also passes alone.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.e2e import checks
from tests.e2e.conftest import Deployment, deployment
from tests.e2e.harness import DeploymentError, label
from tests.support.program import PROJECT_DIR

CONTAINERS = ("postgres", "redis", "app", "ingress")
# Modules not about archiving turn it off: no sidecar, TLS front, derived image or base
# backups to wait for. The dev stack's module keeps the default (on) and test_pitr.py
# proves archiving itself.
NO_ARCHIVING = {"pitrEnabled": "false"}
MARKER_TABLE = "e2e_marker"
MARKER_KEY = "e2e:marker"


def wait_health(port: int, timeout: float = 60) -> tuple[int, dict[str, Any]]:
    """The health endpoint's answer once it is 200, or its last answer after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, body = checks.health(port)
        except OSError as exc:
            status, body = 0, {"error": type(exc).__name__}
        if status == 200 or time.monotonic() > deadline:
            return status, body
        time.sleep(2)


def container_ids(d: Deployment) -> dict[str, str]:
    return {name: d.container(name).id for name in CONTAINERS}


def seed_state(d: Deployment) -> dict[str, Any]:
    """What the seed reported (never its inputs: they hold the DSN, safe to print)."""
    outputs = d.harness.outputs("ConditionalSeed/seed")
    return {k: outputs.get(k) for k in ("id", "outcome", "inserted", "existing")}


def users(d: Deployment) -> int:
    return int(checks.psql(d.container("postgres"), "SELECT count(*) FROM users"))


def deployed(
    client: docker.DockerClient, stack: str, **extra: str | None
) -> Generator[Deployment, None, None]:
    """A module's deployment, its first `up` done and checked before any test uses it."""
    made = deployment(client, stack, **extra)
    d = next(made)
    try:
        first_up(d)
        yield d
    finally:
        made.close()


def first_up(d: Deployment) -> None:
    run = d.program()
    result = d.harness.up(run)
    declared = sorted(label(r) for r in run.resources if r.custom)
    assert sorted(result.created) == declared, "every declared resource is realised, none skipped"
    seed = seed_state(d)
    assert seed["outcome"] == "seeded" and seed["inserted"] > 0, seed
    healthy_migrated_seeded(d)


def healthy_migrated_seeded(d: Deployment) -> None:
    """Every container healthy, the app answering healthy, the schema migrated, users present."""
    assert not checks.all_healthy([d.container(n) for n in CONTAINERS])
    status, body = wait_health(d.app_port)
    assert status == 200, body
    assert body["status"] == "healthy"
    assert isinstance(body["users"], int) and body["users"] > 0, body
    assert d.harness.outputs("DatabaseMigrations/migrations")["total_applied"] > 0


def no_change(d: Deployment) -> None:
    before = container_ids(d)
    seed_before = seed_state(d)
    result = d.up()
    assert result.changed() == [], f"a no-change up changed {result.changed()}"
    assert container_ids(d) == before
    assert seed_state(d) == seed_before, "the seed ran again"


def mark_data(d: Deployment) -> str:
    token = secrets.token_hex(8)
    checks.psql(
        d.container("postgres"),
        f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (token text); "
        f"INSERT INTO {MARKER_TABLE} VALUES ('{token}')",
    )
    assert checks.redis(d.container("redis"), "SET", MARKER_KEY, token) == "OK"
    return token


def pg_marker(d: Deployment) -> str:
    return checks.psql(
        d.container("postgres"),
        f"SELECT coalesce(string_agg(token, ','), '') FROM {MARKER_TABLE}",
    )


def app_source_change(d: Deployment, tmp: Path) -> None:
    token = mark_data(d)
    before = container_ids(d)
    users_before = users(d)
    copy = tmp / "app"
    shutil.copytree(PROJECT_DIR / "app", copy)
    with (copy / "escalafin_app" / "__init__.py").open("a") as f:
        f.write(f"\n# e2e source change {token}\n")
    d.configure(appContext=str(copy))
    result = d.up()
    assert "Image/app" in result.updated, result
    assert "Container/app" in result.replaced, result
    after = container_ids(d)
    assert after["app"] != before["app"]
    assert {k: after[k] for k in ("postgres", "redis")} == {
        k: before[k] for k in ("postgres", "redis")
    }
    assert "ConditionalSeed/seed" in result.unchanged, result
    assert token in pg_marker(d)
    assert checks.redis(d.container("redis"), "GET", MARKER_KEY) == token
    assert users(d) == users_before
    status, body = wait_health(d.app_port)
    assert status == 200, body


def replace_postgres_keep_volume(d: Deployment) -> None:
    token = mark_data(d)
    before = container_ids(d)
    users_before = users(d)
    result = d.up(replace=["postgres"])
    assert "Container/postgres" in result.replaced, result
    assert "Volume/postgres-data" in result.unchanged, result
    assert d.container("postgres").id != before["postgres"]
    assert token in pg_marker(d)
    # The database identity changed, so the seed was checked again and did nothing.
    assert "ConditionalSeed/seed" in result.updated, result
    seed = seed_state(d)
    assert seed["outcome"] == "skipped" and seed["inserted"] == 0, seed
    assert users(d) == users_before
    status, body = wait_health(d.app_port)
    assert status == 200, body


def drop_database_volume(d: Deployment) -> None:
    """An operator removes PostgreSQL and its volume by hand (and, with archiving, the
    pgBackRest server sidecar, which mounts the volume: Docker refuses to remove a
    volume in use).

    `up` alone does not refresh, so the engine still believes they exist: the
    postgres gate fails, naming the container. `refresh` drops them from state and
    the next `up` recreates them and seeds again.
    """
    postgres = d.container("postgres")
    volume = d.harness.outputs("Volume/postgres-data")["id"]
    for container in d.harness.client.containers.list(all=True, filters={"volume": volume}):
        container.remove(force=True)
    d.harness.client.volumes.get(volume).remove(force=True)
    with pytest.raises(DeploymentError, match=f"container {postgres.name} does not exist"):
        d.up()
    gone = d.refresh().gone
    assert {"Container/postgres", "Volume/postgres-data"} <= set(gone), gone
    result = d.up()
    assert "Volume/postgres-data" in result.created, result
    assert "Container/postgres" in result.created, result
    seed = seed_state(d)
    assert seed["outcome"] == "seeded" and seed["inserted"] > 0, seed
    assert checks.psql(d.container("postgres"), f"SELECT to_regclass('{MARKER_TABLE}')") == ""
    status, body = wait_health(d.app_port)
    assert status == 200, body
    assert body["users"] > 0


def no_route_out(d: Deployment, name: str) -> None:
    """Attached to internal networks only, and a connect() out never succeeds.

    Newer engines give internal networks no default route (ENETUNREACH at once);
    Docker 20.10 keeps one via the bridge and drops the SYN in its isolation
    rules on the host (a timeout). Either way nothing leaves the host, and the
    destination is TEST-NET-1, which no network routes.
    """
    container = d.container(name)
    container.reload()
    attached = list(container.attrs["NetworkSettings"]["Networks"])
    client = d.harness.client
    assert attached and all(client.networks.get(n).attrs["Internal"] for n in attached), attached
    outcome = checks.route_out(client, container)
    assert outcome.startswith(("OSError [Errno 101]", "TimeoutError")), f"{name}: {outcome}"


def only_published(d: Deployment, expected: dict[str, dict[str, list[tuple[str, str]]]]) -> None:
    """Every container of the stack publishes what `expected` says, and the others nothing."""
    names = [
        label.split("/", 1)[1] for label in d.harness.labels() if label.startswith("Container/")
    ]
    assert set(expected) <= set(names), (expected, names)
    actual = {name: checks.published(d.container(name)) for name in names}
    assert actual == {name: expected.get(name, {}) for name in names}


def backup_agent(d: Deployment) -> Any:
    """The realised backup agent container (the program always declares one)."""
    for realised in d.harness.state.values():
        r = realised.resource
        if r.type == CONTAINER_TYPE and "backup" in r.name:
            return d.harness.client.containers.get(realised.outputs["id"])
    raise AssertionError("the program declared no backup agent container")


def backup_and_restore(d: Deployment) -> None:
    """Backup now → archive in the volume and in S3; destroy data; restore → data back."""
    agent = backup_agent(d)
    code, out, err = checks.run_in(agent, ["python", "-m", "lifecycle.backup", "now", "--json"])
    assert code == 0, err[-2000:]
    name = str(json.loads(out.strip().splitlines()[-1])["name"])
    code, out, err = checks.run_in(agent, ["ls", "/backup-escalafin"])
    assert name in out, (out, err)
    code, out, err = checks.run_in(agent, ["python", "-c", S3_LIST])
    assert code == 0 and name in out, (out, err[-2000:])
    users_before = users(d)
    checks.psql(d.container("postgres"), "TRUNCATE users CASCADE")
    assert users(d) == 0
    with every_replica_restarted(d) as app_flags:
        restore = subprocess.run(
            [
                sys.executable, "-m", "lifecycle.restore", "--agent-container", agent.name,
                *app_flags, "--yes", "--json", "restore", "--latest",
            ],
            cwd=PROJECT_DIR, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        assert restore.returncode == 0, restore.stdout[-2000:] + restore.stderr[-2000:]
    assert users(d) == users_before
    status, body = wait_health(d.app_port)
    assert status == 200 and body["users"] == users_before, body


@contextmanager
def every_replica_restarted(d: Deployment) -> Iterator[list[str]]:
    """The restore CLI's `--app-container` flags for every app replica; when the block
    ends, each replica must have been stopped (no writer left) and started again. Both
    restores, the logical and the point-in-time one, are held to it."""
    replicas = app_replicas(d)
    started = {c.name: c.attrs["State"]["StartedAt"] for c in replicas}
    yield app_flags(replicas)
    for replica in replicas:
        replica.reload()
        assert replica.attrs["State"]["StartedAt"] != started[replica.name], replica.name


def app_replicas(d: Deployment) -> list[Any]:
    """The stack's app containers, every configured replica running."""
    found = running_replicas(d)
    expected = int(d.overrides.get("escalafin:appReplicas") or 1)
    assert len(found) == expected, [c.name for c in found]
    return found


def running_replicas(d: Deployment) -> list[Any]:
    """The app containers running now, found as an operator would: by their labels (none
    after a host loss, until an `up` gets past the gates before them)."""
    labels = [f"escalafin.stack={d.prefix}", "escalafin.component=app"]
    return d.harness.client.containers.list(filters={"label": labels})


def app_flags(replicas: list[Any]) -> list[str]:
    """The restore CLI's `--app-container` flags for these replicas."""
    return [arg for c in replicas for arg in ("--app-container", c.name)]


CONTAINER_TYPE = "docker:index/container:Container"
# Runs inside the agent: its S3_* / AWS_* environment names the bucket and the store.
S3_LIST = (
    "import boto3, os\n"
    "s3 = boto3.client('s3', endpoint_url=os.environ.get('S3_ENDPOINT_URL') or None,"
    " region_name=os.environ.get('S3_REGION'))\n"
    "for o in s3.list_objects_v2(Bucket=os.environ['S3_BUCKET']).get('Contents', []):\n"
    "    print(o['Key'])\n"
)
