"""The ops image (backup agent, lifecycle jobs) built from this checkout for the Docker tiers."""

from __future__ import annotations

from pathlib import Path

import docker

from tests.support import docker_env, images

REPO = Path(__file__).resolve().parents[2]


def build(client: docker.DockerClient, tag: str) -> str:
    docker_env.require_image(client, images.PYTHON)
    docker_env.build(
        REPO,
        tag,
        dockerfile=str(REPO / "ops" / "Dockerfile"),
        build_args={"BASE_IMAGE": images.PYTHON},
    )
    return tag
