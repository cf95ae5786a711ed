"""Target-neutral types: what to build and run, what a composition takes and exports.

Every target takes and returns these (components/platform.py, docs/targets.md). They name
no Docker or AWS type on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pulumi

from components.monitoring import monitoring_spec
from components.settings import Healthcheck, Settings


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


@dataclass(frozen=True)
class EscalaFinArgs:
    """What every target's composition takes: the validated stack settings.

    The shared concerns read the same typed parts of it on every target (`app`,
    `database`, `cache`, `backup`, `integrations`, `lifecycle`); each target reads only
    its own extras (`ingress` on docker-host, `aws` on aws-ecs)."""

    settings: Settings


@dataclass(frozen=True)
class ContractOutputs:
    """The stack outputs every target exports under the same names with the same meaning
    (tests/unit/test_contract.py holds each target to them). One declaration: the export
    names are this dataclass's field metadata, and `CONTRACT_OUTPUTS` lists them."""

    app_url: str = field(metadata={"export": "appUrl"})
    health_url: str = field(metadata={"export": "healthUrl"})
    image_digest: pulumi.Output[str] = field(metadata={"export": "imageDigest"})
    """What the app runs: an image id on a Docker host, `repo@sha256:` on ECR."""
    backup_bucket: pulumi.Output[str] = field(metadata={"export": "backupBucket"})
    generated_secrets: Mapping[str, pulumi.Output[str]] = field(
        default_factory=dict[str, pulumi.Output[str]]
    )
    """Passwords the stack generated, exported under their own names as Pulumi secrets."""

    @property
    def monitoring(self) -> dict[str, Any]:
        return monitoring_spec(self.health_url)

    def exports(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            f.metadata["export"]: getattr(self, f.name) for f in fields(self) if f.metadata
        }
        values["monitoring"] = self.monitoring
        return values | {k: pulumi.Output.secret(v) for k, v in self.generated_secrets.items()}


CONTRACT_OUTPUTS: tuple[str, ...] = (
    *(f.metadata["export"] for f in fields(ContractOutputs) if f.metadata),
    "monitoring",
)
