"""One way to reach the stack's Docker host from the machine running `pulumi`.

The docker provider, the in-network lifecycle jobs, the health gates and the image
pruning must all talk to the same engine: `docker:host` when the stack sets it
(`unix://`, `tcp://` or `ssh://user@host`, the latter through paramiko so the
ssh-agent and `~/.ssh/known_hosts` apply), else DOCKER_HOST / the local socket, as
the provider itself falls back (pulumi-docker provider/provider.go,
`setConfiguration`). Never from inside a container: no container gets the socket.
"""

from __future__ import annotations

from typing import Any, Final

SCHEMES: Final = ("unix://", "tcp://", "ssh://")


def connect(docker_host: str | None, timeout: int = 120) -> Any:
    """A docker.DockerClient for `docker_host` (None: the environment's default engine)."""
    import docker  # noqa: PLC0415 - the ops image runs lifecycle code without docker-py

    if docker_host:
        return docker.DockerClient(base_url=docker_host, use_ssh_client=False, timeout=timeout)
    return docker.from_env(timeout=timeout)
