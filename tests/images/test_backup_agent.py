"""The backup agent as it runs in the stack: the ops image on an internal network with
PostgreSQL 17, the S3-compatible store and the backups volume; `backup now` through
`docker exec`, a healthcheck that flips, and a restore run inside the agent."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import docker
import psycopg
import pytest
from docker.models.containers import Container

from lifecycle import restore
from tests.support import backup_env, docker_env, images, services
from tests.support.backup_env import S3
from tests.support.docker_env import LABEL

pytestmark = pytest.mark.images

REPO = Path(__file__).resolve().parents[2]
OPS_TAG = "escalafin-test/ops:backup-agent"


@dataclass(frozen=True)
class Stack:
    agent: Container
    pg: services.Postgres
    url: str  # the agent's database, from the test process
    s3: S3
    bucket: str


def health(container: Container) -> str:
    container.reload()
    return str(container.attrs["State"].get("Health", {}).get("Status"))


def wait_health(container: Container, wanted: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(container) == wanted:
            return
        time.sleep(1)
    logs = container.logs(tail=30).decode(errors="replace")
    raise AssertionError(f"{container.name} not {wanted} after {timeout}s:\n{logs}")


def exec_json(container: Container, *cmd: str) -> tuple[int, dict[str, object], str]:
    run = container.exec_run(["python", "-m", *cmd, "--json"], demux=True)
    code = run.exit_code
    out, err = cast(tuple[bytes | None, bytes | None], run.output)
    lines = (out or b"").decode().strip().splitlines()
    return int(code or 0), json.loads(lines[-1]) if lines else {}, (err or b"").decode()


@pytest.fixture(scope="module")
def stack(docker_client: docker.DockerClient) -> Iterator[Stack]:
    docker_env.require_image(docker_client, images.PYTHON)
    docker_env.build(
        REPO,
        OPS_TAG,
        dockerfile=str(REPO / "ops" / "Dockerfile"),
        build_args={"BASE_IMAGE": images.PYTHON},
    )
    with (
        services.network(docker_client, internal=True) as net,
        services.postgres(docker_client, network=net) as pg,
        backup_env.s3_server(docker_client) as s3,
    ):
        docker_client.networks.get(net).connect(s3.container, aliases=["objectstore"])
        url = backup_env.new_database(pg)
        backup_env.populate(url, users=50)
        bucket = s3.new_bucket()
        volume = docker_client.volumes.create(
            f"escalafin-test-backups-{uuid.uuid4().hex[:8]}", labels={LABEL: "1"}
        )
        agent = docker_client.containers.create(
            OPS_TAG,
            ["lifecycle.backup_agent"],
            name=f"escalafin-test-agent-{uuid.uuid4().hex[:8]}",
            labels={LABEL: "1"},
            network=net,
            volumes={volume.name: {"bind": "/backup-escalafin", "mode": "rw"}},
            environment={
                "DATABASE_URL": pg.url_in_network("postgres").rsplit("/", 1)[0]
                + "/"
                + url.rsplit("/", 1)[1],
                "BACKUP_SCHEDULE": "* * * * *",
                "BACKUP_TIMEZONE": "America/Mexico_City",
                "BACKUP_HEALTH_GRACE_S": "15",
                "BACKUP_CATCH_UP": "false",
                "S3_BUCKET": bucket,
                "S3_ENDPOINT_URL": "http://objectstore:9000",
                "S3_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": backup_env.S3_USER,
                "AWS_SECRET_ACCESS_KEY": backup_env.S3_SECRET,
            },
            healthcheck={
                "test": ["CMD", "python", "-m", "lifecycle.backup_agent", "healthcheck"],
                "interval": 2_000_000_000,
                "timeout": 10_000_000_000,
                "retries": 1,
                "start_period": 5_000_000_000,
            },
        )
        try:
            agent.start()
            yield Stack(agent, pg, url, s3, bucket)
        finally:
            agent.remove(force=True)
            volume.remove(force=True)


def test_backup_now_through_docker_exec(stack: Stack) -> None:
    wait_health(stack.agent, "healthy", 60)
    code, result, err = exec_json(stack.agent, "lifecycle.backup", "now")
    assert code == 0, err
    name = str(result["name"])
    assert result["uploaded_to"] == f"s3://{stack.bucket}/{name}"
    ls = cast(bytes, stack.agent.exec_run(["ls", "-l", "/backup-escalafin"]).output).decode()
    assert name in ls and f"{name}.sha256" in ls and "ops" in ls  # written as the non-root user
    head = stack.s3.client().head_object(Bucket=stack.bucket, Key=name)
    assert head["Metadata"]["sha256"] == result["sha256"]
    assert head["ContentLength"] == result["size"]
    code, listing, err = exec_json(stack.agent, "lifecycle.backup", "list")
    assert code == 0, err
    rows = listing["backups"]
    assert isinstance(rows, list)
    assert {(r["where"], r["name"]) for r in rows} >= {("volume", name), ("s3", name)}


def test_restore_runs_inside_the_agent(stack: Stack, docker_client: docker.DockerClient) -> None:
    """The prod path: no database port needed, the agent has the network and the volume."""
    code, result, err = exec_json(stack.agent, "lifecycle.backup", "now")
    assert code == 0, err
    at_backup = backup_env.fingerprint(stack.url)
    with psycopg.connect(stack.url, autocommit=True) as conn:
        conn.execute('DELETE FROM "Payment"')
    steps = restore.AgentSteps(docker_client, str(stack.agent.name))
    restored = restore.restore(steps, str(result["name"]), app=None, confirm=False)
    assert str(restored["safety"]).endswith("-safety.dump")
    assert backup_env.fingerprint(stack.url) == at_backup


def test_healthcheck_flips_when_a_scheduled_run_fails_and_back_after_a_success(
    stack: Stack,
) -> None:
    wait_health(stack.agent, "healthy", 60)
    stack.pg.container.stop(timeout=5)
    try:
        # The next minute's scheduled run fails; 15s of grace later the agent is unhealthy.
        wait_health(stack.agent, "unhealthy", 110)
        logs = stack.agent.logs(tail=20).decode(errors="replace")
        assert "backup failed (exit 4): pg_dump failed" in logs
    finally:
        stack.pg.container.start()
    services.wait_healthy(stack.pg.container)
    code, _, err = exec_json(stack.agent, "lifecycle.backup", "now")
    assert code == 0, err
    wait_health(stack.agent, "healthy", 30)
