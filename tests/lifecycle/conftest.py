"""Fixtures shared by the backup and restore tests: pg tools 17 and a real S3 API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.support import backup_env, pg_tools
from tests.support.backup_env import S3


@pytest.fixture(scope="module")
def pg_bin(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pg_dump/pg_restore/psql 17 (the host may only have an older client)."""
    return pg_tools.wrapper_dir(tmp_path_factory.mktemp("pgbin"), docker_client)


@pytest.fixture(scope="module")
def s3(docker_client: docker.DockerClient) -> Iterator[S3]:
    with backup_env.s3_server(docker_client) as server:
        yield server


@pytest.fixture()
def s3_creds(s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", backup_env.S3_USER)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", backup_env.S3_SECRET)
