"""The images that share the pgBackRest repository: same version, key files as pgBackRest wants.

Builds archiving/postgres FROM the PostgreSQL image (the lab's stand-in is Debian trixie
like postgres:17-trixie) and the ops image, both with the pinned PGBACKREST_VERSION the
program passes, and checks what a mismatch or a readable key would break at run time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from components.archiving import PGBACKREST_VERSION
from tests.support import docker_env, images
from tests.support.docker_env import LABEL

REPO = Path(__file__).resolve().parents[2]
TAGS = {
    "postgres": f"escalafin-test/postgres-pitr:images-{os.getpid()}",
    "ops": f"escalafin-test/ops-pitr:images-{os.getpid()}",
}


@pytest.fixture(scope="module")
def built(docker_client: docker.DockerClient) -> Iterator[dict[str, str]]:
    for name in (images.POSTGRES, images.PYTHON):
        docker_env.require_image(docker_client, name)
    version = {"PGBACKREST_VERSION": PGBACKREST_VERSION}
    docker_env.build(
        REPO / "archiving" / "postgres",
        TAGS["postgres"],
        build_args={"BASE_IMAGE": images.POSTGRES, **version},
    )
    docker_env.build(
        REPO,
        TAGS["ops"],
        dockerfile=str(REPO / "ops" / "Dockerfile"),
        build_args={"BASE_IMAGE": images.PYTHON, **version},
    )
    yield TAGS
    for tag in TAGS.values():
        docker_client.images.remove(tag)


def run(client: docker.DockerClient, image: str, command: list[str], **kw: object) -> str:
    out = client.containers.run(image, command, remove=True, labels={LABEL: "1"}, **kw)  # type: ignore[call-overload]
    return bytes(out).decode().strip()


def test_both_images_run_the_pinned_pgbackrest(
    built: dict[str, str], docker_client: docker.DockerClient
) -> None:
    wanted = f"pgBackRest {PGBACKREST_VERSION.rsplit('-', 1)[0]}"
    postgres = run(docker_client, built["postgres"], ["pgbackrest", "version"], entrypoint=[])
    ops = run(
        docker_client,
        built["ops"],
        ["-c", "import subprocess; subprocess.run(['pgbackrest', 'version'])"],
        entrypoint=["python"],
    )
    assert postgres == ops == wanted


@pytest.mark.parametrize("user", ["root", "postgres"])
def test_pem_files_are_written_for_the_user_that_runs_pgbackrest(
    built: dict[str, str], docker_client: docker.DockerClient, user: str
) -> None:
    listing = run(
        docker_client,
        built["postgres"],
        ["sh", "-c", 'stat -c "%n %U %a" /etc/pgbackrest/tls/*; echo "key=${ESCALAFIN_PEM_KEY:-}"'],
        entrypoint=["escalafin-pem-files"],
        user=user,
        environment={
            "ESCALAFIN_PEM_CA": "ca-pem",
            "ESCALAFIN_PEM_CERT": "cert-pem",
            "ESCALAFIN_PEM_KEY": "key-pem",
        },
    )
    assert listing.splitlines() == [
        "/etc/pgbackrest/tls/ca.crt postgres 600",
        "/etc/pgbackrest/tls/tls.crt postgres 600",
        "/etc/pgbackrest/tls/tls.key postgres 600",
        "key=",  # the key is not left in the environment of what runs next
    ]


def test_an_orphan_exiting_2_does_not_restart_postgres(
    built: dict[str, str], docker_client: docker.DockerClient
) -> None:
    """What async archive-push does when the bucket is down, without the bucket."""
    server = docker_client.containers.run(
        built["postgres"],
        detach=True,
        labels={LABEL: "1"},
        environment={"POSTGRES_PASSWORD": "x"},
        healthcheck={
            "test": ["CMD", "pg_isready", "-h", "127.0.0.1"],
            "interval": 500_000_000,
            "retries": 60,
        },
    )
    try:
        deadline = time.monotonic() + 60
        while (server.attrs["State"].get("Health") or {}).get("Status") != "healthy":
            assert time.monotonic() < deadline, "postgres did not start"
            time.sleep(0.5)
            server.reload()
        server.exec_run(["sh", "-c", "(sleep 1; exit 2) & exit 0"])
        time.sleep(3)
        logs = server.logs().decode(errors="replace")
        assert "terminating any other active server processes" not in logs, logs[-2000:]
    finally:
        server.remove(force=True, v=True)


def test_archive_timeout_switches_segments_right_after_a_restart(
    built: dict[str, str], docker_client: docker.DockerClient
) -> None:
    """PostgreSQL's checkpointer, started before recovery ends, would sleep a whole
    checkpoint_timeout (5 min) before honouring archive_timeout: the image's start
    reloads the configuration once the server is up, so a write after any (re)start is
    in a switched segment within archive_timeout."""
    server = docker_client.containers.run(
        built["postgres"],
        ["postgres", "-c", "archive_mode=on", "-c", "archive_command=/bin/true",
         "-c", "archive_timeout=5"],
        detach=True,
        labels={LABEL: "1"},
        environment={"POSTGRES_PASSWORD": "x"},
    )  # fmt: skip

    def sql(query: str) -> str:
        deadline = time.monotonic() + 60
        while True:
            code, out = server.exec_run(
                ["psql", "-U", "postgres", "-h", "127.0.0.1", "-tAc", query],
                environment={"PGPASSWORD": "x"},
            )
            text = out.decode().strip() if isinstance(out, bytes) else ""
            if code == 0:
                return text
            assert time.monotonic() < deadline, text
            time.sleep(0.5)

    try:
        sql("CREATE TABLE t (n int)")
        server.restart(timeout=10)
        sql("INSERT INTO t VALUES (1)")
        before = sql("SELECT pg_walfile_name(pg_current_wal_insert_lsn())")
        deadline = time.monotonic() + 20  # archive_timeout 5 s, with room for a slow machine
        while sql("SELECT last_archived_wal FROM pg_stat_archiver") < before:
            assert time.monotonic() < deadline, "no segment switched 20 s after a write"
            time.sleep(1)
    finally:
        server.remove(force=True, v=True)
