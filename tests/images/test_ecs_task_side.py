"""The task side of the `ecs` runner mode, in the real ops image against real servers.

The unit tier drives RunTask/DescribeTasks/CloudWatch Logs against moto, but moto runs no
container. Here the exact command and input archive that lifecycle.jobs hands to
lifecycle.ecs_runner for migrations and for the seed are run the way the Fargate task would
run them: a container of the ops image (its entrypoint, its non-root user), on a network
with PostgreSQL 17 and an S3 API, with DATABASE_URL and the seed passwords in its
environment as the task definition's ECS secrets would put them. The archive is staged
where ecs_runner stages it; `lifecycle.job_bundle` fetches, verifies and unpacks it and
runs the command; its stdout's last line is the JSON result ecs_runner reads from the logs.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import docker
import psycopg
import pytest

from lifecycle import ecs_runner, jobs
from lifecycle.jobs import EcsTarget, RunnerArgs
from lifecycle.seed import password_env_name
from tests.support import backup_env
from tests.support.docker_env import LABEL

pytestmark = pytest.mark.images

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "app" / "prisma" / "migrations"
SEED_FILE = REPO / "app" / "prisma" / "seed.json"
PASSWORDS = {"admin": "admin-pw-123456", "advisor": "advisor-pw-123456", "client": "client-pw-12"}


def staged_jobs(bucket: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], bytes]]:
    """What jobs.run_migrations and jobs.run_seed hand to the ecs runner (command, archive)."""
    handed: list[tuple[list[str], bytes]] = []

    def capture(
        _target: EcsTarget, command: list[str], archive: bytes, *_a: Any, **_k: Any
    ) -> dict[str, Any]:
        handed.append((command, archive))
        return {"ok": True, "outcome": "captured", "inserted": 0, "existing": 0}

    monkeypatch.setattr(ecs_runner, "run", capture)
    target = EcsTarget(
        cluster="c",
        task_definition="td",
        container="ops",
        subnets=("s",),
        security_groups=("g",),
        region="us-east-1",
        log_group="/l",
        log_stream_prefix="p",
        bundle_bucket=bucket,
    )
    runner = RunnerArgs(mode="ecs", ecs=target)
    jobs.run_migrations(runner, "not-sent", MIGRATIONS)
    jobs.run_seed(runner, "not-sent", SEED_FILE, PASSWORDS)
    return handed


def test_migrations_and_seed_run_as_the_fargate_task_would(
    docker_client: docker.DockerClient, ops_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with backup_env.in_network(docker_client) as env:
        net, pg, s3, url = env.network, env.postgres, env.s3, env.url
        in_network = pg.url_in_network("postgres").rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1]
        bucket = s3.new_bucket()
        results: list[dict[str, Any]] = []
        for command, archive in staged_jobs(bucket, monkeypatch):
            sha256 = hashlib.sha256(archive).hexdigest()
            target = EcsTarget("c", "td", "ops", ("s",), ("g",), "us-east-1", "/l", "p", bucket)
            s3.client().put_object(
                Bucket=bucket, Key=ecs_runner.bundle_key(target, sha256), Body=archive
            )
            secrets = {"DATABASE_URL": in_network}  # ECS secrets land in the environment
            if command[0] == "lifecycle.seed":
                secrets |= {password_env_name(k): v for k, v in PASSWORDS.items()}
            output = docker_client.containers.run(
                ops_image,
                ecs_runner.task_command(target, sha256, command),
                name=f"escalafin-test-ecs-job-{uuid.uuid4().hex[:8]}",
                labels={LABEL: "1"},
                network=net,
                environment={
                    **secrets,
                    "S3_ENDPOINT_URL": "http://objectstore:9000",
                    "S3_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": backup_env.S3_USER,
                    "AWS_SECRET_ACCESS_KEY": backup_env.S3_SECRET,
                },
                remove=True,
                stdout=True,
                stderr=False,
            )
            results.append(json.loads(output.decode().strip().splitlines()[-1]))
        migrate, seed = results
        assert migrate["ok"] is True and migrate["count"] == 6
        assert seed["ok"] is True and seed["inserted"] == 3
        with psycopg.connect(url) as conn:
            applied = conn.execute(
                "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL"
            ).fetchone()
            users = conn.execute('SELECT count(*) FROM "users"').fetchone()
        assert applied == (6,) and users == (3,)
