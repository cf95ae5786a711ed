"""Continuous archiving and point-in-time recovery on the dev stack (issue 13).

One deployment for the module, the dev stack with archiving on as by default and two
app replicas behind the ingress (every restore stops and starts both); its
fixture does the first `up`, creates the test table and waits for the first full base
backup, so each test passes alone. Scenarios: the recovery window and health, a restore
to a second between two commits across a password rotation, the bucket down and back
then the whole database lost under a writer and restored from the bucket alone (the
measured RPO is printed), WAL beyond the queue limit dropped, the agent killed mid base
backup, a damaged WAL segment. The embedded store keeps objects in memory only, so "the
host is lost" destroys PostgreSQL, its sidecar and its volumes while the store lives on,
as the bucket would.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from tests.e2e import pitr_scenarios, scenarios
from tests.e2e.conftest import Deployment

pytestmark = pytest.mark.e2e
RPO_S = 60  # the bound; archive_timeout stays at its default 15 s
QUEUE_MAX_MB = 64  # the smallest allowed, so overflowing it takes seconds, not gigabytes


@pytest.fixture(scope="module")
def pitr(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    made = scenarios.deployed(
        docker_client,
        "dev",
        pitrRpoSeconds=str(RPO_S),
        pitrArchiveQueueMaxMb=str(QUEUE_MAX_MB),
        appReplicas="2",  # a restore must stop and start every replica
    )
    d = next(made)
    try:
        pitr_scenarios.prepare(d)
        yield d
    finally:
        made.close()


def test_a_first_full_backup_at_once_and_the_window_at_a_glance(pitr: Deployment) -> None:
    pitr_scenarios.first_base_backup(pitr)


def test_a_damaged_wal_segment_is_reported_and_the_restore_refused(pitr: Deployment) -> None:
    pitr_scenarios.corrupted_wal(pitr)


def test_restore_to_a_second_between_two_commits_across_a_password_rotation(
    pitr: Deployment,
) -> None:
    pitr_scenarios.point_in_time_across_a_rotation(pitr)


def test_bucket_down_then_host_lost_under_load_restores_all_within_the_rpo(
    pitr: Deployment,
) -> None:
    assert pitr_scenarios.outage_then_host_lost(pitr) <= RPO_S


def test_wal_beyond_the_queue_limit_is_dropped_not_the_disk_filled(pitr: Deployment) -> None:
    pitr_scenarios.queue_overflow(pitr, QUEUE_MAX_MB)


def test_agent_killed_mid_base_backup_leaves_nothing_offered(pitr: Deployment) -> None:
    pitr_scenarios.agent_killed_mid_backup(pitr)
