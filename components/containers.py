"""Conventions every container and volume of the stack shares.

Kept in one place because the docker provider's sharp edges (DESIGN.md,
"Pulumi facts that bite") apply to every container alike: fixed names need
delete-before-replace (the others create before delete), healthcheck edits
need replace_on_changes, durations must be canonical, memory limits need a swap
limit to change in place, and data volumes must survive their containers.
Containers do not use the provider's `wait`: a HealthGate
(lifecycle/health_gate.py) waits for them instead, with logs, and keeps failing
later `up`s until they are healthy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_docker as docker

from components.validation import parse_duration
from lifecycle.health_gate import HealthGate, HealthGateArgs

MANAGED_BY = "escalafin.managed-by"


def labels(name_prefix: str, component: str) -> list[docker.ContainerLabelArgs]:
    """Labels that let operators (and the e2e harness) find what the stack owns."""
    return [
        docker.ContainerLabelArgs(label=MANAGED_BY, value="pulumi"),
        docker.ContainerLabelArgs(label="escalafin.stack", value=name_prefix),
        docker.ContainerLabelArgs(label="escalafin.component", value=component),
    ]


def healthcheck(
    test: Sequence[pulumi.Input[str]],
    *,
    interval: str = "10s",
    timeout: str = "5s",
    retries: int = 5,
    start_period: str = "10s",
    start_interval: str = "1s",
) -> docker.ContainerHealthcheckArgs:
    """A healthcheck with durations in the canonical form the provider reads back.

    During `start_period` Docker checks every `start_interval` (API 1.44+; older
    engines ignore it), so a starting service is seen healthy within a second
    instead of one whole `interval`.
    """
    return docker.ContainerHealthcheckArgs(
        tests=list(test),
        interval=parse_duration(interval),
        timeout=parse_duration(timeout),
        retries=retries,
        start_period=parse_duration(start_period),
        start_interval=parse_duration(start_interval),
    )


def container_options(
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    *,
    create_before_delete: bool = False,
) -> pulumi.ResourceOptions:
    """Named containers must be deleted before their replacement can take the name.

    `create_before_delete` is for containers without a fixed name or host port
    (the app): the replacement starts beside the old one, which goes last.
    The option is always set explicitly, because the docker provider asks for
    delete-first on every container when the program says nothing.

    `healthcheck` and `tmpfs` are not ForceNew in the provider's schema, yet its update applies
    only the restart policy and resource limits (kreuzwerker/terraform-provider-docker,
    internal/provider/resource_docker_container.go schema and
    resource_docker_container_funcs.go resourceDockerContainerUpdate): without a replace, a
    change to either would be recorded in state and never reach the engine.
    """
    return pulumi.ResourceOptions(
        parent=parent,
        delete_before_replace=not create_before_delete,
        replace_on_changes=["healthcheck", "tmpfs"],
        depends_on=list(depends_on),
    )


def health_gate(
    container: docker.Container,
    resource_name: str,
    *,
    docker_host: str | None,
    timeout_s: float,
    parent: pulumi.Resource,
) -> HealthGate:
    """The resource dependents wait on: `container`, seen healthy on this very `up`."""
    return HealthGate(
        resource_name,
        HealthGateArgs(
            container_name=container.name,
            container_id=container.id,
            docker_host=docker_host,
            timeout_s=timeout_s,
        ),
        pulumi.ResourceOptions(parent=parent, depends_on=[container]),
    )


def data_volume(
    resource_name: str, volume_name: str, *, parent: pulumi.Resource, protect: bool
) -> docker.Volume:
    """A named volume that outlives `pulumi destroy` and container replacements."""
    return docker.Volume(
        resource_name,
        name=volume_name,
        labels=[
            docker.VolumeLabelArgs(label=MANAGED_BY, value="pulumi"),
        ],
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True, protect=protect),
    )


def env_list(
    plain: Mapping[str, pulumi.Input[str]],
    secret: Mapping[str, pulumi.Input[str]] | None = None,
) -> list[pulumi.Input[str]]:
    """NAME=value strings; secret values stay Pulumi secrets inside the list."""
    entries: list[pulumi.Input[str]] = [
        f"{k}={v}" if isinstance(v, str) else pulumi.Output.concat(k, "=", v)
        for k, v in plain.items()
    ]
    for key, value in (secret or {}).items():
        entries.append(pulumi.Output.secret(pulumi.Output.concat(key, "=", value)))
    return entries
