"""The app image, built once per test session and shared by every images-tier module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.support import docker_env, images
from tests.support import ops_image as ops_image_support

APP_CONTEXT = Path(__file__).resolve().parents[2] / "app"
# Unique per test process, so two runs on one engine never remove each other's image.
# (A per-process value, not a random one: this module can be imported twice, as the
# conftest and by test modules, and both must agree.)
APP_TAG = f"escalafin-test/app:images-{os.getpid()}"


@pytest.fixture(scope="session")
def app_image(docker_client: docker.DockerClient) -> Iterator[str]:
    docker_env.require_image(docker_client, images.PYTHON)
    docker_env.build(
        APP_CONTEXT, APP_TAG, target="runner", build_args={"BASE_IMAGE": images.PYTHON}
    )
    yield APP_TAG
    docker_client.images.remove(APP_TAG)


OPS_TAG = f"escalafin-test/ops:images-{os.getpid()}"


@pytest.fixture(scope="session")
def ops_image(docker_client: docker.DockerClient) -> Iterator[str]:
    """The ops image (backup agent, lifecycle jobs), built once per session, per process."""
    yield ops_image_support.build(docker_client, OPS_TAG)
    docker_client.images.remove(OPS_TAG)
