"""The app image, built once per test session and shared by every images-tier module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.support import docker_env, images

APP_CONTEXT = Path(__file__).resolve().parents[2] / "app"
# Unique per session: two test runs on one engine must not remove each other's image.
APP_TAG = f"escalafin-test/app:images-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def app_image(docker_client: docker.DockerClient) -> Iterator[str]:
    docker_env.require_image(docker_client, images.PYTHON)
    docker_env.build(
        APP_CONTEXT, APP_TAG, target="runner", build_args={"BASE_IMAGE": images.PYTHON}
    )
    yield APP_TAG
    docker_client.images.remove(APP_TAG)
