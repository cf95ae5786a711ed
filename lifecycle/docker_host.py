"""Reach the stack's Docker host from the machine running `pulumi` (or a CLI).

The same endpoint the docker provider uses (`docker:host`: unix://, tcp://,
ssh://user@host through paramiko), or the environment's default. Imports
docker-py lazily: the ops image runs the lifecycle without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docker import DockerClient


def connect(host: str | None, timeout: int = 120) -> DockerClient:
    import docker  # noqa: PLC0415

    if host:
        return docker.DockerClient(base_url=host, use_ssh_client=False, timeout=timeout)
    return docker.from_env(timeout=timeout)
