"""Target-neutral descriptions of what to run: an image to build, a container to start.

Both targets take these (docs/targets.md): the aws-ecs components today, the docker-host
ones once the `Platform` seam lands. They name no Docker or AWS type on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi

from components.settings import Healthcheck


@dataclass(frozen=True)
class ImageSource:
    """What to build, wherever it is built and kept."""

    context: Path
    dockerfile: Path
    platform: str
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict[str, str])


@dataclass(frozen=True)
class ContainerSpec:
    """One container: image, plain environment, secrets by reference, command, port, health.

    `secrets` maps an environment variable to the target's reference to the value (a
    Secrets Manager ARN on aws-ecs; the Pulumi secret itself on a Docker host)."""

    name: str
    image: pulumi.Input[str]
    environment: Mapping[str, str] = field(default_factory=dict[str, str])
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict[str, pulumi.Input[str]])
    command: Sequence[str] | None = None
    port: int | None = None
    user: str | None = None
    health: Healthcheck | None = None
    """The container's own check (its command and timings; `path` is for load balancers)."""
