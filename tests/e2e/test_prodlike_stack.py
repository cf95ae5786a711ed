"""The prod-like setting on Docker: no admin port, lifecycle in-network in ops containers.

The same scenarios as the dev stack (see scenarios.py), with the database
reachable from nowhere but the internal network. One deployment for the module;
its fixture does the first `up`.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from tests.e2e import scenarios
from tests.e2e.conftest import Deployment

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def prodlike(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    """The dev stack with prod's database setting: no admin port, lifecycle in-network;
    two app replicas, as a busier prod would run (a restore must stop and start both)."""
    yield from scenarios.deployed(
        docker_client,
        "dev",
        databaseAdminPortEnabled="false",
        lifecycleMode="in-network",
        appReplicas="2",
    )


def test_up_runs_the_lifecycle_in_network_and_comes_up_healthy(prodlike: Deployment) -> None:
    scenarios.healthy_migrated_seeded(prodlike)
    runner = prodlike.harness.outputs("DatabaseMigrations/migrations")["runner"]
    assert runner["mode"] == "in-network"
    assert runner["network"] == f"{prodlike.prefix}-internal"


def test_only_the_ingress_port_is_published(prodlike: Deployment) -> None:
    scenarios.only_published(
        prodlike,
        {
            "ingress": {"80/tcp": [("127.0.0.1", str(prodlike.app_port))]},
            "app": {},
            "app-2": {},
            "postgres": {},
            "redis": {},
        },
    )


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_no_route_out(prodlike: Deployment, name: str) -> None:
    scenarios.no_route_out(prodlike, name)


def test_second_up_changes_nothing(prodlike: Deployment) -> None:
    scenarios.no_change(prodlike)


def test_replacing_postgres_keeps_data_and_does_not_reseed(prodlike: Deployment) -> None:
    scenarios.replace_postgres_keep_volume(prodlike)


def test_dropping_the_volume_seeds_again(prodlike: Deployment) -> None:
    scenarios.drop_database_volume(prodlike)


def test_backup_now_then_restore_after_data_loss(prodlike: Deployment) -> None:
    scenarios.backup_and_restore(prodlike)
