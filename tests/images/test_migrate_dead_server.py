"""A server that vanishes mid-migration (host down, network partition) is detected in
bounded time with a clear error (issue 10, item 6): the runner in the ops image, on the
internal network as in prod, applying a long migration when the database is cut off.
Without keepalive settings the statement waits on a socket nobody will ever answer (the
kernel's default keepalive starts after two hours)."""

from __future__ import annotations

import io
import json
import tarfile
import time
import uuid

import docker
import psycopg
import pytest

from lifecycle import cli
from tests.support import backup_env, services
from tests.support.docker_env import LABEL

pytestmark = pytest.mark.images

BOUND_S = 90  # the settings give ~30 s; the rest is headroom for a loaded machine


def migrations_tar(sql: str) -> bytes:
    data = sql.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("m/20240101000000_long/migration.sql")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_dead_server_mid_migration_is_a_clear_error_in_bounded_time(
    docker_client: docker.DockerClient, ops_image: str
) -> None:
    with (
        services.network(docker_client, internal=True) as net,
        services.postgres(docker_client, network=net) as pg,
    ):
        url = backup_env.new_database(pg)
        database = url.rsplit("/", 1)[1]
        runner = docker_client.containers.create(
            ops_image,
            ["lifecycle.migrate", "deploy", "--json", "--migrations", "/home/ops/m"],
            name=f"escalafin-test-migrate-{uuid.uuid4().hex[:8]}",
            labels={LABEL: "1"},
            network=net,
            environment={
                "DATABASE_URL": pg.url_in_network("postgres").rsplit("/", 1)[0] + f"/{database}"
            },
        )
        try:
            runner.put_archive("/home/ops", migrations_tar("SELECT pg_sleep(600);\n"))
            runner.start()
            deadline = time.monotonic() + 60
            with psycopg.connect(url, autocommit=True) as conn:
                while not conn.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(600)%'"
                ).fetchone():
                    assert time.monotonic() < deadline, runner.logs().decode()
                    time.sleep(0.2)
            cut = time.monotonic()
            docker_client.networks.get(net).disconnect(pg.container, force=True)
            try:
                outcome = runner.wait(timeout=BOUND_S)
            except Exception as exc:  # requests' ReadTimeout: still blocked
                raise AssertionError(
                    f"the runner was still waiting {BOUND_S}s after the cut"
                ) from exc
            detected = time.monotonic() - cut
            print(f"dead server detected after {detected:.0f}s")
            out = runner.logs(stdout=True, stderr=False).decode().strip().splitlines()
            assert outcome["StatusCode"] == cli.EXIT_UNAVAILABLE, runner.logs().decode()
            error = json.loads(out[-1])["error"]
            assert "lost the database connection while applying `20240101000000_long`" in error
        finally:
            runner.remove(force=True)
