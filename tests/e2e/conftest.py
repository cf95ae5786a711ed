"""E2E fixtures: a unique stack prefix, free loopback ports, lab images, a cleaned-up harness."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any

import docker
import pytest
import yaml

from tests.e2e.harness import Harness, UpResult
from tests.support import images
from tests.support.docker_env import require_image
from tests.support.program import PROJECT, PROJECT_DIR, ProgramRun, run_program

CONTAINER_PORT_KEYS = {"appPort", "smtpPort"}  # inside a container / an integration's server
LAB_IMAGES = {
    "postgresImage": images.POSTGRES,
    "redisImage": images.REDIS,
    "appBaseImage": images.PYTHON,
    "opsBaseImage": images.PYTHON,
    "backupStoreImage": images.S3,
    "ingressImage": images.CADDY,
}


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_port_keys() -> list[str]:
    """Config keys that publish a port on the host (ingressHttpPort, databaseAdminPort, ...)."""
    config = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    return [
        key
        for key, spec in config.items()
        if key.endswith("Port") and key not in CONTAINER_PORT_KEYS and spec.get("type") == "integer"
    ]


def e2e_overrides(**extra: str | None) -> dict[str, str | None]:
    """Config overrides that point a stack file at the lab images, a fresh prefix and free ports."""
    values: dict[str, str | None] = {
        **LAB_IMAGES,
        "namePrefix": f"escalafin-e2e-{secrets.token_hex(4)}",
        **{key: str(free_port()) for key in host_port_keys()},
        **extra,
    }
    return {f"{PROJECT}:{k}": v for k, v in values.items()}


class Deployment:
    """A stack under test: its config overrides, the harness, and `up` with more overrides."""

    def __init__(self, harness: Harness, stack: str, overrides: Mapping[str, str | None]) -> None:
        self.harness = harness
        self.stack = stack
        self.overrides = dict(overrides)

    def configure(self, **extra: str | None) -> None:
        """Change config for every later `up`, as `pulumi config set` would."""
        self.overrides.update({f"{PROJECT}:{k}": v for k, v in extra.items()})

    def program(self) -> ProgramRun:
        return run_program(self.stack, self.overrides)

    def up(self, *, replace: Iterable[str] = ()) -> UpResult:
        """Run the program under mocks with the current config, then realise it."""
        return self.harness.up(self.program(), replace=replace)

    def container(self, name: str) -> Any:
        return self.harness.container(name)

    @property
    def app_port(self) -> int:
        """Where the app is served: the ingress's HTTP port on 127.0.0.1."""
        return int(self.overrides[f"{PROJECT}:ingressHttpPort"] or 0)

    @property
    def prefix(self) -> str:
        return str(self.overrides[f"{PROJECT}:namePrefix"])


def deployment(
    client: docker.DockerClient, stack: str, **extra: str | None
) -> Generator[Deployment, None, None]:
    """A Deployment whose harness is destroyed when the generator closes (fixtures, benchmark)."""
    for name in (images.POSTGRES, images.REDIS, images.PYTHON, images.CADDY):
        require_image(client, name)
    overrides = e2e_overrides(**extra)
    harness = Harness(client, str(overrides[f"{PROJECT}:namePrefix"]))
    try:
        yield Deployment(harness, stack, overrides)
    finally:
        harness.destroy()


@pytest.fixture(scope="module")
def dev(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    """The dev stack, realised once per module and removed afterwards (also on failure)."""
    yield from deployment(docker_client, "dev")


@pytest.fixture(scope="module")
def prodlike(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    """The dev stack with prod's database setting: no admin port, lifecycle in-network."""
    yield from deployment(
        docker_client, "dev", databaseAdminPortEnabled="false", lifecycleMode="in-network"
    )
