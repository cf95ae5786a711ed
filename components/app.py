"""The app containers: wired to PostgreSQL and Redis, health-checked, read-only, never published.

They are declared after the lifecycle resources (migrations, seed) and the
database and cache health gates, so they only ever start against a healthy,
migrated database. The ingress reaches them by name on the public network;
none publishes a port.

Zero-downtime replacement comes from Pulumi's default order, create before
delete, which the docker provider otherwise overrides for containers
(pulumi/pulumi-docker provider/resources.go: `"docker_container":
{DeleteBeforeReplace: true}`): `delete_before_replace=False` wins over the
provider's answer (pulumi/pulumi pkg/resource/deploy/step_generator.go,
continueStepsFromDiff: `if goal.DeleteBeforeReplace != nil`). That needs a
name that differs between old and new, so the name is left to the provider's
autonaming (`<resource name>-<7 hex>`, new on every replacement). The engine
then creates the replacement, its HealthGate waits until it is healthy (and
fails `up`, now and on every later `up`, while it is not), dependents are
updated — the ingress route switches traffic — and the old container is
deleted only after every other step of the `up` (GenerateDeletes runs once
the program has registered everything). Deleting stops it with SIGTERM and
`destroy_grace_seconds` to finish in-flight requests.

Replicas are chained: replica k+1 waits for replica k's gate, so a deploy
starts the new containers one at a time and a broken image fails on the
first one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.containers import (
    container_options,
    data_volume,
    env_list,
    health_gate,
    healthcheck,
    labels,
)
from components.settings import AppSettings, Integration

APP_USER = "1001:1001"
CACHE_PATH = "/app/.next/cache"
# The root filesystem is read-only: the app writes only to its cache volume and to /tmp.
TMPFS = {"/tmp": "rw,noexec,nosuid,nodev,size=64m"}  # noqa: S108 - a private tmpfs, not the host's


@dataclass(frozen=True)
class AppServiceArgs:
    settings: AppSettings
    environment: str
    name_prefix: str
    restart_policy: str
    image: pulumi.Input[str]
    database_url: pulumi.Output[str]
    redis_url: pulumi.Output[str]
    nextauth_secret: pulumi.Output[str]
    integrations: Sequence[Integration]
    internal_network: pulumi.Input[str]
    public_network: pulumi.Input[str]
    protect_data: bool
    depends_on: Sequence[pulumi.Resource] = ()
    docker_host: str | None = None


STOP_TIMEOUT_S = 30
"""SIGTERM, then this long to finish in-flight requests (kamal-proxy's drain default)."""
WAIT_TIMEOUT_S = 300
"""How long a new replica may take to become healthy before `up` fails."""


class AppService(pulumi.ComponentResource):
    containers: list[docker.Container]
    """Replica 1 is the resource `app` (as before replicas), then `app-2`, `app-3`, …"""
    gates: list[pulumi.Resource]
    """Each replica's HealthGate, in the same order: what the ingress route waits for."""
    cache_volume: docker.Volume
    url: str
    health_url: str

    def __init__(
        self, name: str, args: AppServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:AppService", name, None, opts)
        s = args.settings
        self.cache_volume = data_volume(
            "app-cache", f"{args.name_prefix}-app-cache", parent=self, protect=False
        )

        plain: dict[str, pulumi.Input[str]] = {
            "NODE_ENV": "production",
            "APP_ENV": args.environment,
            "APP_VERSION": s.version,
            "PORT": str(s.port),
            "HOSTNAME": "0.0.0.0",  # noqa: S104 - listen inside the container; publishing decides exposure
            "NEXTAUTH_URL": s.public_url,
            **s.extra_env,
        }
        secret: dict[str, pulumi.Input[str]] = {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "NEXTAUTH_SECRET": args.nextauth_secret,
        }
        for integration in args.integrations:
            plain.update(integration.env)
            secret.update(integration.secret_env)

        h = s.health
        self.containers = []
        self.gates = []
        for index in range(s.replicas):
            resource_name = "app" if index == 0 else f"app-{index + 1}"
            container = docker.Container(
                resource_name,
                image=args.image,
                user=APP_USER,
                read_only=True,
                tmpfs=TMPFS,
                envs=env_list(plain, secret),
                volumes=[
                    docker.ContainerVolumeArgs(
                        volume_name=self.cache_volume.name, container_path=CACHE_PATH
                    )
                ],
                networks_advanced=[
                    docker.ContainerNetworksAdvancedArgs(name=args.internal_network),
                    docker.ContainerNetworksAdvancedArgs(name=args.public_network),
                ],
                healthcheck=healthcheck(
                    h.command,
                    interval=h.interval,
                    timeout=h.timeout,
                    retries=h.retries,
                    start_period=h.start_period,
                ),
                restart=args.restart_policy,
                memory=s.memory_mb,
                memory_swap=s.memory_mb,
                stop_timeout=STOP_TIMEOUT_S,
                destroy_grace_seconds=STOP_TIMEOUT_S,
                labels=labels(args.name_prefix, "app"),
                opts=container_options(
                    self, [*args.depends_on, *self.gates[-1:]], create_before_delete=True
                ),
            )
            self.containers.append(container)
            self.gates.append(
                health_gate(
                    container,
                    f"{resource_name}-health",
                    docker_host=args.docker_host,
                    timeout_s=WAIT_TIMEOUT_S,
                    parent=self,
                )
            )
        self.url = s.public_url
        self.health_url = s.health_url
        self.register_outputs(
            {"url": self.url, "healthUrl": self.health_url, "containers": self.names}
        )

    @property
    def names(self) -> pulumi.Output[list[str]]:
        """Every replica's container name (generated: they change on each deploy)."""
        return pulumi.Output.all(*[c.name for c in self.containers])
