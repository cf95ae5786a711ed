"""Throwaway PostgreSQL 17 and Redis containers published on 127.0.0.1 only."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker
from docker.models.containers import Container

from tests.support import images
from tests.support.docker_env import LABEL, require_image

# A free host port on loopback only (docker-py accepts None; its stubs do not say so).
ANY_LOOPBACK_PORT: Any = ("127.0.0.1", None)


@dataclass(frozen=True)
class Postgres:
    container: Container
    host_port: int
    user: str
    password: str
    database: str

    @property
    def url(self) -> str:
        """DSN reachable from the test process (published loopback port)."""
        return (
            f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.host_port}/{self.database}"
        )

    def url_in_network(self, host: str) -> str:
        """DSN reachable from another container on a shared network."""
        return f"postgresql://{self.user}:{self.password}@{host}:5432/{self.database}"


def _published_port(container: Container, port: str) -> int:
    container.reload()
    bindings = container.ports.get(port) or []
    if not bindings:
        raise RuntimeError(f"{container.name}: {port} is not published")
    return int(bindings[0]["HostPort"])


def wait_healthy(container: Container, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        if state["Status"] in {"exited", "dead"}:
            logs = container.logs(tail=50).decode(errors="replace")
            raise RuntimeError(f"{container.name} exited:\n{logs}")
        time.sleep(0.2)
    raise TimeoutError(f"{container.name} not healthy after {timeout}s")


@contextmanager
def postgres(
    c: docker.DockerClient,
    *,
    network: str | None = None,
    alias: str = "postgres",
    volume: str | None = None,
) -> Iterator[Postgres]:
    require_image(c, images.POSTGRES)
    password = secrets.token_urlsafe(16)
    name = f"escalafin-test-pg-{uuid.uuid4().hex[:8]}"
    container = c.containers.run(
        images.POSTGRES,
        name=name,
        detach=True,
        labels={LABEL: "1"},
        environment={
            "POSTGRES_USER": "escalafin",
            "POSTGRES_PASSWORD": password,
            "POSTGRES_DB": "escalafin",
        },
        ports={"5432/tcp": ANY_LOOPBACK_PORT},
        volumes={volume: {"bind": "/var/lib/postgresql/data", "mode": "rw"}} if volume else None,
        healthcheck={
            "test": ["CMD-SHELL", "pg_isready -U escalafin -d escalafin -h 127.0.0.1"],
            "interval": 500_000_000,
            "timeout": 5_000_000_000,
            "retries": 120,
        },
    )
    try:
        if network:
            c.networks.get(network).connect(container, aliases=[alias])
        wait_healthy(container)
        yield Postgres(
            container, _published_port(container, "5432/tcp"), "escalafin", password, "escalafin"
        )
    finally:
        container.remove(force=True, v=True)


@dataclass(frozen=True)
class Redis:
    container: Container
    host_port: int
    password: str

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.host_port}/0"

    def url_in_network(self, host: str) -> str:
        return f"redis://:{self.password}@{host}:6379/0"


@contextmanager
def redis(
    c: docker.DockerClient, *, network: str | None = None, alias: str = "redis"
) -> Iterator[Redis]:
    require_image(c, images.REDIS)
    password = secrets.token_urlsafe(16)
    container = c.containers.run(
        images.REDIS,
        ["--requirepass", password],
        name=f"escalafin-test-redis-{uuid.uuid4().hex[:8]}",
        detach=True,
        labels={LABEL: "1"},
        ports={"6379/tcp": ANY_LOOPBACK_PORT},
        healthcheck={
            "test": [
                "CMD-SHELL",
                f"redis-cli -a '{password}' --no-auth-warning ping | grep -q PONG",
            ],
            "interval": 500_000_000,
            "timeout": 5_000_000_000,
            "retries": 60,
        },
    )
    try:
        if network:
            c.networks.get(network).connect(container, aliases=[alias])
        wait_healthy(container)
        yield Redis(container, _published_port(container, "6379/tcp"), password)
    finally:
        container.remove(force=True, v=True)


@contextmanager
def network(c: docker.DockerClient, *, internal: bool = False) -> Iterator[str]:
    name = f"escalafin-test-net-{uuid.uuid4().hex[:8]}"
    net = c.networks.create(name, internal=internal, labels={LABEL: "1"})
    try:
        yield name
    finally:
        net.reload()
        for container in net.containers:
            net.disconnect(container, force=True)
        net.remove()
