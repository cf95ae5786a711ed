"""Continuous archiving as the program declares it, under Pulumi mocks (issue 13)."""

from __future__ import annotations

import pytest

from components.archiving import PGBACKREST_VERSION
from tests.support.program import ProgramRun, run_program
from tests.unit.test_program import (
    CONTAINER,
    NETWORK,
    env_of,
    network_name,
    networks_of,
)
from tests.unit.test_settings import error_for, settings_for

pytestmark = pytest.mark.unit
IMAGE = "docker:index/image:Image"
GATE = "pulumi-python:dynamic/escalafin:HealthGate"
HISTORY = "pulumi-python:dynamic/escalafin:ImageHistory"


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_program(request.param)


def test_both_images_sharing_the_repository_pin_the_same_pgbackrest(run: ProgramRun) -> None:
    ops = run.one(IMAGE, "ops").inputs["build"]["args"]
    postgres = run.one(IMAGE, "postgres-pitr").inputs["build"]["args"]
    assert ops["PGBACKREST_VERSION"] == postgres["PGBACKREST_VERSION"] == PGBACKREST_VERSION
    assert postgres["BASE_IMAGE"] == "postgres:17-trixie"


def test_the_derived_image_follows_the_platform_rules_and_keeps_few_builds(
    run: ProgramRun,
) -> None:
    build = run.one(IMAGE, "postgres-pitr").inputs["build"]
    # Relative to the project, pulumi's working directory (no path of this machine in state).
    assert (build["context"], build["dockerfile"]) == (
        "archiving/postgres",
        "archiving/postgres/Dockerfile",
    )
    # The Docker host's platform, like the app and ops images, never the provider's default.
    assert build["platform"] == run.one(IMAGE, "ops").inputs["build"]["platform"] == "linux/amd64"
    history = run.one(HISTORY, "postgres-pitr-builds")
    assert history.inputs["repository"] == f"escalafin-{run.stack}-postgres-pitr"
    assert history.inputs["image_id"] == run.one(IMAGE, "postgres-pitr").outputs["repoDigest"]


def test_the_agent_starts_once_the_sidecar_and_the_store_front_are_healthy(
    run: ProgramRun,
) -> None:
    deps = set(run.one(CONTAINER, "backup-agent").dependencies)
    assert run.one(GATE, "pgbackrest-server-health").urn in deps
    if run.stack == "dev":
        assert run.one(GATE, "store-tls-health").urn in deps


def test_postgres_archives_every_segment_within_the_archive_timeout(run: ProgramRun) -> None:
    pg = run.one(CONTAINER, "postgres")
    assert pg.inputs["image"] == run.one(IMAGE, "postgres-pitr").outputs["repoDigest"]
    command = pg.inputs["command"]
    assert "archive_mode=on" in command and "archive_timeout=15" in command
    assert "archive_command=pgbackrest archive-push %p" in command
    env = env_of(pg)
    assert env["PGBACKREST_ARCHIVE_ASYNC"] == "y"
    assert env["PGBACKREST_ARCHIVE_PUSH_QUEUE_MAX"] == "2048MiB"
    for i, entry in enumerate(pg.inputs["envs"]):
        if entry.startswith(("PGBACKREST_REPO1_S3_KEY", "POSTGRES_PASSWORD")):
            assert pg.is_secret(f"envs[{i}]"), entry.split("=")[0]


def test_backup_server_reads_the_data_read_only_and_publishes_nothing(run: ProgramRun) -> None:
    server = run.one(CONTAINER, "pgbackrest-server")
    assert server.inputs["user"] == "postgres"
    mounts = {m["containerPath"]: m for m in server.inputs["volumes"]}
    assert mounts["/var/lib/postgresql/data"]["readOnly"] is True
    assert "/var/run/postgresql" in mounts
    assert not server.inputs.get("ports")
    assert set(networks_of(server)) == {network_name(run, "internal")}
    key = next(i for i, e in enumerate(server.inputs["envs"]) if e.startswith("ESCALAFIN_PEM_KEY="))
    assert server.is_secret(f"envs[{key}]")
    assert env_of(server)["PGBACKREST_TLS_SERVER_AUTH"] == "escalafin-backup-agent=escalafin"


def test_dev_store_gets_a_tls_front_prod_gets_an_egress_network(run: ProgramRun) -> None:
    pg, agent = run.one(CONTAINER, "postgres"), run.one(CONTAINER, "backup-agent")
    if run.stack == "dev":
        front = run.one(CONTAINER, "store-tls")
        assert not front.inputs.get("ports")
        assert set(networks_of(front)) == {network_name(run, "internal")}
        assert env_of(pg)["PGBACKREST_REPO1_S3_ENDPOINT"] == "objectstore-tls"
        assert not [n for n in run.of_type(NETWORK) if n.name == "egress"]
    else:
        assert not [c for c in run.of_type(CONTAINER) if c.name == "store-tls"]
        egress = run.one(NETWORK, "egress")
        assert egress.inputs.get("internal") in (False, None)
        assert egress.inputs["name"] in networks_of(pg) and egress.inputs["name"] in networks_of(
            agent
        )
        assert pg.inputs.get("ports", []) == []
        assert env_of(pg)["PGBACKREST_REPO1_S3_ENDPOINT"] == "s3.us-east-1.amazonaws.com"
    assert env_of(agent)["PITR_RPO_S"] == "60"


def test_outputs_tell_restore_and_the_monitor_where_to_look(run: ProgramRun) -> None:
    assert run.outputs["databaseContainer"].endswith("-postgres")
    probe = run.outputs["backupMonitoring"]
    assert probe["container"] == run.outputs["backupAgentContainer"]
    assert probe["expectedValue"] == "healthy" and probe["rpoSeconds"] == 60
    assert "backupMonitoring" not in run.secret_outputs


def test_archiving_off_keeps_the_stock_image_and_no_sidecar() -> None:
    off = run_program("dev", {"escalafin:pitrEnabled": "false"})
    assert not [c for c in off.of_type(CONTAINER) if c.name in {"pgbackrest-server", "store-tls"}]
    assert "command" not in off.one(CONTAINER, "postgres").inputs
    assert off.outputs["backupMonitoring"]["rpoSeconds"] is None


def test_archiving_settings_are_validated() -> None:
    assert "a Debian-based PostgreSQL image" in error_for(postgresImage="postgres:17-alpine")
    assert settings_for(pitrEnabled="false", postgresImage="postgres:17-alpine").archiving is None
    message = error_for(pitrArchiveTimeoutSeconds="60", pitrRpoSeconds="60")
    assert "pitrArchiveTimeoutSeconds = '60': expected fewer seconds than pitrRpoSeconds" in message
    assert "pitrBackupSchedule" in error_for(pitrBackupSchedule="daily")
