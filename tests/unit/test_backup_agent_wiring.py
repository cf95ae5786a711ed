"""The agent container waits for the bucket: its first (catch-up) backup uploads at once,
and a failed upload now turns the agent unhealthy, failing `pulumi up` at its health gate."""

from __future__ import annotations

import pytest

from tests.support.program import run_program

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_agent_container_depends_on_the_bucket_and_the_migrations(stack: str) -> None:
    run = run_program(stack)
    agent = run.one("docker:index/container:Container", "backup-agent")
    # prod: the AWS bucket; dev: the embedded store's StoreBucket.
    kind = (
        "aws:s3/bucket:Bucket" if stack == "prod" else "pulumi-python:dynamic/escalafin:StoreBucket"
    )
    bucket = run.one(kind, "bucket")
    migrations = next(r for r in run.resources if r.type.endswith(":DatabaseMigrations"))
    assert {bucket.urn, migrations.urn} <= set(agent.dependencies)
    env = dict(e.split("=", 1) for e in agent.inputs.get("envs", []))
    assert env["BACKUP_DRILL_SCHEDULE"] == "30 3 * * 0"
