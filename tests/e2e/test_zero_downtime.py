"""Zero-downtime deploys and HTTPS on the dev stack (one deployment for the module).

Every deploy runs under ~50 requests/s of mixed GET/POST through the ingress
(tests/e2e/load.py) and must fail none of them and lose no acknowledged POST.
Tests run in file order but each sets up what it needs, so any one runs alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e import scenarios
from tests.e2e import zero_downtime as zd
from tests.e2e.conftest import Deployment
from tests.support import images
from tests.support.docker_env import require_image

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    require_image(docker_client, images.PEBBLE)
    yield from scenarios.deployed(docker_client, "dev")


def test_redeploy_under_load_fails_no_request_and_keeps_every_post(stack: Deployment) -> None:
    stack.configure(appReplicas=None)
    report, _ = zd.redeploy(stack, "2.0.0")
    print("redeploy, 1 replica:", report.summary())


def test_two_replicas_are_load_balanced_and_replaced_one_at_a_time(stack: Deployment) -> None:
    zd.ensure_up(stack)
    stack.configure(appReplicas="2")
    report, result, error = zd.up_under_load(stack)
    assert error is None and result is not None, error
    zd.assert_nothing_lost(stack, report)
    assert "Container/app-2" in result.created and len(zd.app_names(stack)) == 2
    zd.replicas_share_the_load(stack)
    report, result = zd.redeploy(stack, "3.0.0")
    steps = [(name, action) for name, action, _ in result.steps]
    # One at a time, then the switch, then the old ones go.
    assert steps.index(("Container/app", "replaced")) < steps.index(("Container/app-2", "replaced"))
    assert steps.index(("Container/app-2", "replaced")) < steps.index(
        ("IngressRoute/route", "updated")
    )
    assert steps[-2:] == [("Container/app-2", "deleted"), ("Container/app", "deleted")]
    print("redeploy, 2 replicas:", report.summary())


def test_broken_version_fails_the_up_without_a_failed_request(
    stack: Deployment, tmp_path: Path
) -> None:
    report = zd.broken_version_never_gets_traffic(stack, tmp_path)
    print("broken version:", report.summary())
    report = zd.fixed_version_after_a_failed_up(stack)
    print("fixed version after it:", report.summary())


def test_rollback_to_the_previous_image_under_load(stack: Deployment, tmp_path: Path) -> None:
    report = zd.rollback_to_the_previous_image(stack, tmp_path)
    print("rollback:", report.summary())


def test_https_certificate_from_the_acme_ca_redirect_and_hsts(stack: Deployment) -> None:
    zd.https_from_the_acme_ca(stack)
