"""Redis: persistent (AOF, fsync every second), password-protected, internal only."""

from __future__ import annotations

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
from components.dsn import redis_url
from components.network import INTERNAL_ALIASES
from components.settings import CacheSettings


@dataclass(frozen=True)
class CacheArgs:
    settings: CacheSettings
    name_prefix: str
    restart_policy: str
    password: pulumi.Output[str]
    internal_network: pulumi.Input[str]
    protect_data: bool
    docker_host: str | None = None


class Cache(pulumi.ComponentResource):
    container: docker.Container
    ready: pulumi.Resource
    """Its HealthGate (depend on this, not on the container)."""
    data_volume: docker.Volume
    url: pulumi.Output[str]
    """Secret REDIS_URL for containers on the internal network."""

    def __init__(
        self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:Cache", name, None, opts)
        s = args.settings
        self.data_volume = data_volume(
            "redis-data", f"{args.name_prefix}-redis-data", parent=self, protect=args.protect_data
        )
        image = docker.RemoteImage(
            "redis-image", name=s.image, keep_locally=True, opts=pulumi.ResourceOptions(parent=self)
        )
        self.container = docker.Container(
            "redis",
            name=f"{args.name_prefix}-redis",
            image=image.image_id,
            command=[
                "redis-server",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--requirepass",
                args.password,
            ],
            # redis-cli reads REDISCLI_AUTH, so the healthcheck carries no password itself.
            envs=env_list({}, {"REDISCLI_AUTH": args.password}),
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=self.data_volume.name, container_path="/data"
                )
            ],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=args.internal_network, aliases=[INTERNAL_ALIASES["redis"]]
                )
            ],
            healthcheck=healthcheck(
                ["CMD-SHELL", "redis-cli ping | grep -q PONG"],
                interval="10s",
                timeout="5s",
                retries=5,
                start_period="5s",
            ),
            restart=args.restart_policy,
            memory=s.memory_mb,
            memory_swap=s.memory_mb,
            labels=labels(args.name_prefix, "redis"),
            opts=container_options(self),
        )
        self.ready = health_gate(
            self.container, "redis-health", docker_host=args.docker_host, timeout_s=120, parent=self
        )
        self.url = pulumi.Output.secret(
            args.password.apply(lambda p: redis_url(p, INTERNAL_ALIASES["redis"], 6379))
        )
        self.register_outputs({"container": self.container.name})
