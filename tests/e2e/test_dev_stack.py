"""The dev stack realised on Docker: healthy, idempotent, data-preserving, isolated.

One deployment for the module; its fixture does the first `up` (see scenarios.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e import scenarios
from tests.e2e.conftest import Deployment

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dev(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    """The dev stack, realised once per module and removed afterwards (also on failure)."""
    yield from scenarios.deployed(docker_client, "dev")


def test_up_brings_every_container_healthy_migrated_and_seeded(dev: Deployment) -> None:
    scenarios.healthy_migrated_seeded(dev)


def test_only_loopback_ports_are_published(dev: Deployment) -> None:
    admin = dev.overrides["escalafin:databaseAdminPort"] or ""
    scenarios.only_published(
        dev,
        {
            "ingress": {"80/tcp": [("127.0.0.1", str(dev.app_port))]},
            "app": {},
            "postgres": {"5432/tcp": [("127.0.0.1", admin)]},
            "redis": {},
        },
    )


def test_redis_has_no_route_out(dev: Deployment) -> None:
    scenarios.no_route_out(dev, "redis")


def test_second_up_changes_nothing(dev: Deployment) -> None:
    scenarios.no_change(dev)


def test_app_source_change_replaces_only_the_app(dev: Deployment, tmp_path: Path) -> None:
    scenarios.app_source_change(dev, tmp_path)


def test_replacing_postgres_keeps_data_and_does_not_reseed(dev: Deployment) -> None:
    scenarios.replace_postgres_keep_volume(dev)


def test_dropping_the_volume_seeds_again(dev: Deployment) -> None:
    scenarios.drop_database_volume(dev)


def test_backup_now_then_restore_after_data_loss(dev: Deployment) -> None:
    scenarios.backup_and_restore(dev)
