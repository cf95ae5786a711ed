"""Fixtures shared by every tier. Tiers that need Docker ask for `docker_client`."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from tests.support import docker_env, services


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    return docker_env.client()


@pytest.fixture()
def pg(docker_client: docker.DockerClient) -> Iterator[services.Postgres]:
    """A fresh PostgreSQL 17 for one test, on 127.0.0.1."""
    with services.postgres(docker_client) as server:
        yield server


@pytest.fixture(scope="module")
def pg_module(docker_client: docker.DockerClient) -> Iterator[services.Postgres]:
    """One PostgreSQL 17 shared by a module's tests (each test uses its own database)."""
    with services.postgres(docker_client) as server:
        yield server
