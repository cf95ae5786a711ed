"""Continuous archiving and point-in-time recovery on the dev stack (issue 13).

One deployment for the module (tests run in file order): base backup at start, a
restore to a second between two commits, the whole database lost under a writer and
restored from the bucket alone (the measured RPO is printed), the bucket down (briefly,
then long enough to overflow the local WAL queue), the agent killed mid base backup, a
damaged WAL segment. The embedded store keeps objects in
memory only, so "the host is lost" destroys PostgreSQL, its sidecar and its volumes while
the store lives on, as the bucket would.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from tests.e2e import pitr_scenarios
from tests.e2e.conftest import Deployment, deployment

pytestmark = pytest.mark.e2e
RPO_S = 60  # pitrRpoSeconds' default; archive_timeout stays at its default 15 s
QUEUE_MAX_MB = 64  # the smallest allowed, so overflowing it takes seconds, not gigabytes


@pytest.fixture(scope="module")
def pitr(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    yield from deployment(
        docker_client,
        "dev",
        pitrRpoSeconds=str(RPO_S),
        pitrArchiveQueueMaxMb=str(QUEUE_MAX_MB),
        healthInterval="5s",  # restores restart the app: see it healthy in seconds, not 30
    )


def test_the_agent_takes_a_first_base_backup(pitr: Deployment) -> None:
    pitr_scenarios.first_base_backup(pitr)


def test_restore_to_a_second_between_two_commits(pitr: Deployment) -> None:
    pitr_scenarios.point_in_time(pitr)


def test_host_lost_under_load_restores_from_the_bucket_within_the_rpo(pitr: Deployment) -> None:
    assert pitr_scenarios.host_lost_rpo(pitr) <= RPO_S


def test_bucket_down_turns_unhealthy_then_catches_up_losing_nothing(pitr: Deployment) -> None:
    pitr_scenarios.bucket_outage(pitr, RPO_S)


def test_wal_beyond_the_queue_limit_is_dropped_not_the_disk_filled(pitr: Deployment) -> None:
    pitr_scenarios.queue_overflow(pitr, QUEUE_MAX_MB)


def test_agent_killed_mid_base_backup_leaves_nothing_offered(pitr: Deployment) -> None:
    pitr_scenarios.agent_killed_mid_backup(pitr)


def test_a_damaged_wal_segment_is_reported_and_the_restore_refused(pitr: Deployment) -> None:
    pitr_scenarios.corrupted_wal(pitr)
