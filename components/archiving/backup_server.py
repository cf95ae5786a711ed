"""The backup server sidecar: `pgbackrest server` beside PostgreSQL, for base backups.

A base backup reads the data directory and talks to PostgreSQL over its Unix socket, so
it must run where both are. Rejected: running it inside the database container (a second
long-running process there needs an init system, and the agent could reach it only
through the Docker socket, which no container gets); mounting the data volume into the
agent (the data belongs to the postgres image's uid, which differs between base images,
and the agent's image has no such user). Chosen: a second container of the same derived
image, as its `postgres` user, with the data volume read-only and the socket directory
shared, running pgBackRest's TLS server; the agent connects with a client certificate
from the stack's CA (`tls-server-auth` admits only that CN, for this stanza). Internal
network only, nothing published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.archiving import env
from components.containers import (
    container_options,
    env_list,
    health_gate,
    healthcheck,
    labels,
)


@dataclass(frozen=True)
class BackupServerArgs:
    name_prefix: str
    restart_policy: str
    image: pulumi.Input[str]
    internal_network: pulumi.Input[str]
    data_volume: pulumi.Input[str]
    socket_volume: pulumi.Input[str]
    pgdata: str
    user: str
    ca_pem: pulumi.Output[str]
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    docker_host: str | None = None
    depends_on: Sequence[pulumi.Resource] = ()
    """PostgreSQL's container: on the container itself, as a component's depends_on does
    not hold its children back (see BackupAgentArgs.depends_on)."""
    memory_mb: int = 256


class BackupServer(pulumi.ComponentResource):
    container: docker.Container
    ready: pulumi.Resource
    """Its HealthGate: the TLS server answers (the agent depends on this)."""

    def __init__(
        self, name: str, args: BackupServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:archiving:BackupServer", name, None, opts)
        self.container = docker.Container(
            "pgbackrest-server",
            name=f"{args.name_prefix}-pgbackrest-server",
            image=args.image,
            user="postgres",
            entrypoints=["escalafin-pem-files", "pgbackrest"],
            command=["server"],
            envs=env_list(
                {
                    **env.backup_server(args.pgdata, args.user),
                    "ESCALAFIN_PEM_CA": args.ca_pem,
                    "ESCALAFIN_PEM_CERT": args.cert_pem,
                },
                {"ESCALAFIN_PEM_KEY": args.key_pem},
            ),
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=args.data_volume, container_path=args.pgdata, read_only=True
                ),
                docker.ContainerVolumeArgs(
                    volume_name=args.socket_volume, container_path=env.SOCKET_DIR
                ),
            ],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=args.internal_network, aliases=[env.SERVER_ALIAS]
                )
            ],
            # `pgbackrest server-ping` asks the server itself over its TLS port.
            healthcheck=healthcheck(
                ["CMD", "pgbackrest", "server-ping", "--tls-server-address=127.0.0.1"],
                interval="30s",
                timeout="10s",
                retries=3,
                start_period="10s",
            ),
            restart=args.restart_policy,
            memory=args.memory_mb,
            memory_swap=args.memory_mb,
            labels=labels(args.name_prefix, "pgbackrest-server"),
            opts=container_options(self, args.depends_on),
        )
        self.ready = health_gate(
            self.container,
            "pgbackrest-server-health",
            docker_host=args.docker_host,
            timeout_s=120,
            parent=self,
        )
        self.register_outputs({"container": self.container.name})
