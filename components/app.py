"""The app container: wired to PostgreSQL and Redis, published, health-checked, read-only.

It is declared after the lifecycle resources (migrations, seed) and the
database and cache health gates, so it only ever starts against a healthy,
migrated database; its own gate fails `up` (now and on every later `up`) while
it is unhealthy.
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


class AppService(pulumi.ComponentResource):
    container: docker.Container
    ready: pulumi.Resource
    """Its HealthGate."""
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
        self.container = docker.Container(
            "app",
            name=f"{args.name_prefix}-app",
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
            ports=[
                docker.ContainerPortArgs(internal=s.port, external=s.host_port, ip=s.bind_address)
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
            stop_timeout=30,
            labels=labels(args.name_prefix, "app"),
            opts=container_options(self, args.depends_on),
        )
        self.ready = health_gate(
            self.container, "app-health", docker_host=args.docker_host, timeout_s=300, parent=self
        )
        self.url = s.public_url
        self.health_url = s.health_url
        self.register_outputs({"url": self.url, "healthUrl": self.health_url})
