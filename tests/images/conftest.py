"""The app images (Python reference, Next.js example) and the ops image, each built once per
test session and shared by every images-tier module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from components.app_templates import TEMPLATES
from tests.support import docker_env, images
from tests.support import ops_image as ops_image_support

APP_CONTEXT = Path(__file__).resolve().parents[2] / "app"
NEXTJS_CONTEXT = Path(__file__).resolve().parents[2] / "examples" / "nextjs-app"
NEXTJS_DOCKERFILE = TEMPLATES["nextjs"].dockerfile
# Unique per test process, so two runs on one engine never remove each other's image.
# (A per-process value, not a random one: this module can be imported twice, as the
# conftest and by test modules, and both must agree.)
APP_TAG = f"escalafin-test/app:images-{os.getpid()}"
NEXTJS_TAG = f"escalafin-test/nextjs:images-{os.getpid()}"
OPS_TAG = f"escalafin-test/ops:images-{os.getpid()}"


@pytest.fixture(scope="session")
def app_image(docker_client: docker.DockerClient) -> Iterator[str]:
    docker_env.require_image(docker_client, images.PYTHON)
    docker_env.build(
        APP_CONTEXT, APP_TAG, target="runner", build_args={"BASE_IMAGE": images.PYTHON}
    )
    yield APP_TAG
    docker_client.images.remove(APP_TAG)


@pytest.fixture(scope="session")
def nextjs_image(docker_client: docker.DockerClient) -> Iterator[str]:
    """The example Next.js app built by the shipped template, as `pulumi up` would build it.

    npm and the Next.js compiler cache live in BuildKit cache mounts, so after the first build
    on a machine only changed layers rebuild."""
    docker_env.require_image(docker_client, images.NODE)
    docker_env.build(
        NEXTJS_CONTEXT,
        NEXTJS_TAG,
        target="runner",
        dockerfile=str(NEXTJS_DOCKERFILE),
        build_args={"BASE_IMAGE": images.NODE},
    )
    yield NEXTJS_TAG
    docker_client.images.remove(NEXTJS_TAG)


@pytest.fixture(scope="session")
def ops_image(docker_client: docker.DockerClient) -> Iterator[str]:
    """The ops image (backup agent, lifecycle jobs), built once per session, per process."""
    yield ops_image_support.build(docker_client, OPS_TAG)
    docker_client.images.remove(OPS_TAG)
