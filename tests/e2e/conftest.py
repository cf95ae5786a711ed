"""E2E fixtures: a unique stack prefix, free loopback ports, lab images, a cleaned-up harness."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Generator, Iterable, Mapping
from typing import Any

import docker
import yaml

from tests.e2e.harness import Harness, RefreshResult, UpResult
from tests.support import images, s3_store
from tests.support.docker_env import require_image
from tests.support.program import PROJECT, PROJECT_DIR, ProgramRun, run_program

CONTAINER_PORT_KEYS = {"appPort", "smtpPort"}  # inside a container / an integration's server
LAB_IMAGES = {
    "postgresImage": images.POSTGRES,
    "redisImage": images.REDIS,
    "appBaseImage": images.PYTHON,
    "opsBaseImage": images.PYTHON,
    "ingressImage": images.CADDY,
}
# The app's health check as a monitor would want it, but fast enough for tests: a broken
# app is unhealthy after ~15 s instead of the default 40 s start period + 3 x 30 s.
FAST_APP_HEALTH = {"healthInterval": "2s", "healthRetries": "2", "healthStartPeriod": "10s"}


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


def e2e_overrides(store_image: str, **extra: str | None) -> dict[str, str | None]:
    """Config overrides that point a stack file at the lab images, a fresh prefix and free ports."""
    values: dict[str, str | None] = {
        **LAB_IMAGES,
        "backupStoreImage": store_image,
        **FAST_APP_HEALTH,
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
        self.initial = dict(overrides)
        """The config the deployment started with (the module's app, template, ports...)."""
        self.secrets: dict[str, str] = {}

    def configure(self, **extra: str | None) -> None:
        """Change config for every later `up`, as `pulumi config set` would."""
        self.overrides.update({f"{PROJECT}:{k}": v for k, v in extra.items()})

    def reset(self, *keys: str) -> bool:
        """Set `keys` back to the values the deployment started with; whether any differed."""
        initial = {key: self.initial.get(f"{PROJECT}:{key}") for key in keys}
        changed = any(self.overrides.get(f"{PROJECT}:{k}") != v for k, v in initial.items())
        self.configure(**initial)
        return changed

    def configure_secret(self, **values: str) -> None:
        """`pulumi config set --secret` for every later `up`."""
        self.secrets.update({f"{PROJECT}:{k}": v for k, v in values.items()})

    def program(self) -> ProgramRun:
        return run_program(self.stack, self.overrides, secrets=self.secrets)

    def up(self, *, replace: Iterable[str] = ()) -> UpResult:
        """`pulumi up`: run the program under mocks with the current config, then realise it."""
        return self.harness.up(self.program(), replace=replace)

    def refresh(self) -> RefreshResult:
        """`pulumi refresh`."""
        return self.harness.refresh()

    def destroy(self) -> list[str]:
        """`pulumi destroy` (retained volumes stay, image builds stay)."""
        return self.harness.destroy()

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
    overrides = e2e_overrides(s3_store.image(client), **extra)
    harness = Harness(client, str(overrides[f"{PROJECT}:namePrefix"]))
    try:
        yield Deployment(harness, stack, overrides)
    finally:
        harness.cleanup()
