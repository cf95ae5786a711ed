"""PostgreSQL: its data and backups volumes and the server container.

The admin port, when enabled, is published on 127.0.0.1 only and needs a
second, non-internal network (Docker publishes nothing for internal-only
containers). Prod leaves it off: nothing outside the internal network can
reach the database.

The configured (or generated) password is the truth at every `up`: the image
applies POSTGRES_PASSWORD only when it initialises an empty data directory, so
a retained volume (destroy then up, a changed `databasePassword`) or a physical
restore would otherwise keep an older password. The healthcheck
(`credential_healthcheck`) logs in over TCP with $POSTGRES_PASSWORD and, when
that fails, sets the role's password over the local socket (trust), reading it
from the environment inside psql — never in argv. The container is healthy only
once that login works, so nothing depending on it starts with a stale password.
"""

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
from components.dsn import postgres_url
from components.network import INTERNAL_ALIASES
from components.settings import DatabaseSettings

DATA_PATH = "/var/lib/postgresql/data"
BACKUP_PATH = "/backup-escalafin"


@dataclass(frozen=True)
class DatabaseArgs:
    settings: DatabaseSettings
    name_prefix: str
    restart_policy: str
    password: pulumi.Output[str]
    internal_network: pulumi.Input[str]
    admin_network: pulumi.Input[str] | None
    protect_data: bool
    docker_host: str | None = None


class Database(pulumi.ComponentResource):
    container: docker.Container
    ready: pulumi.Resource
    """Its HealthGate: healthy, and the configured password works (depend on this)."""
    data_volume: docker.Volume
    backups_volume: docker.Volume
    internal_url: pulumi.Output[str]
    """Secret DSN for containers on the internal network (host `postgres`)."""
    admin_url: pulumi.Output[str] | None
    """Secret DSN through the loopback admin port; None when the port is off."""
    admin_endpoint: str | None
    """host:port of the admin port, never with credentials."""
    identity: pulumi.Output[str]
    """Changes when the database itself is new (container or volume replaced)."""

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:Database", name, None, opts)
        s = args.settings
        prefix = args.name_prefix
        self.data_volume = data_volume(
            "postgres-data", f"{prefix}-postgres-data", parent=self, protect=args.protect_data
        )
        self.backups_volume = data_volume(
            "postgres-backups", f"{prefix}-postgres-backups", parent=self, protect=args.protect_data
        )
        image = docker.RemoteImage(
            "postgres-image",
            name=s.image,
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

        networks = [
            docker.ContainerNetworksAdvancedArgs(
                name=args.internal_network, aliases=[INTERNAL_ALIASES["postgres"]]
            )
        ]
        ports: list[docker.ContainerPortArgs] = []
        if s.admin_endpoint is not None and args.admin_network is not None:
            networks.append(docker.ContainerNetworksAdvancedArgs(name=args.admin_network))
            ports.append(
                docker.ContainerPortArgs(
                    internal=5432, external=s.admin_endpoint.port, ip=s.admin_endpoint.host
                )
            )

        self.container = docker.Container(
            "postgres",
            name=f"{prefix}-postgres",
            image=image.image_id,
            envs=env_list(
                {"POSTGRES_USER": s.user, "POSTGRES_DB": s.name, "PGDATA": DATA_PATH},
                {"POSTGRES_PASSWORD": args.password},
            ),
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=self.data_volume.name, container_path=DATA_PATH
                ),
                docker.ContainerVolumeArgs(
                    volume_name=self.backups_volume.name, container_path=BACKUP_PATH
                ),
            ],
            networks_advanced=networks,
            ports=ports,
            healthcheck=healthcheck(
                ["CMD-SHELL", credential_healthcheck()],
                interval="10s",
                timeout="10s",
                retries=5,
                start_period="60s",
            ),
            restart=args.restart_policy,
            memory=s.memory_mb,
            memory_swap=s.memory_mb,
            # postgres stops on SIGINT (fast shutdown); give it time to checkpoint.
            stop_signal="SIGINT",
            stop_timeout=60,
            destroy_grace_seconds=60,
            labels=labels(prefix, "postgres"),
            opts=container_options(self),
        )
        self.ready = health_gate(
            self.container,
            "postgres-health",
            docker_host=args.docker_host,
            timeout_s=180,
            parent=self,
        )

        def dsn(host: str, port: int) -> pulumi.Output[str]:
            return pulumi.Output.secret(
                args.password.apply(lambda p: postgres_url(s.user, p, host, port, s.name))
            )

        self.internal_url = dsn(INTERNAL_ALIASES["postgres"], 5432)
        self.admin_url = (
            dsn(s.admin_endpoint.host, s.admin_endpoint.port) if s.admin_endpoint else None
        )
        self.admin_endpoint = str(s.admin_endpoint) if s.admin_endpoint else None
        self.identity = pulumi.Output.concat(self.container.id, "/", self.data_volume.name)
        self.register_outputs(
            {
                "container": self.container.name,
                "adminEndpoint": self.admin_endpoint,
            }
        )


def credential_healthcheck() -> str:
    """Healthy only when $POSTGRES_USER can log in over TCP with $POSTGRES_PASSWORD.

    POSIX sh, so the same text can later ship as a script in a derived image. The
    TCP login targets the container's own address, not 127.0.0.1: the official
    image's initdb leaves loopback connections on `trust`, which would accept
    any password; other addresses use scram-sha-256. When the login fails while
    the server accepts connections, the role's password is set over the local
    socket (trust) from $POSTGRES_PASSWORD via psql's `\\getenv`, then checked
    again. Prints only what it did, never a password.
    """
    return "\n".join(
        [
            'h="$(hostname)"',
            'pg_isready -q -h "$h" -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB" || exit 1',
            'login() { PGPASSWORD="$POSTGRES_PASSWORD" psql -X -w -q -h "$h" -p 5432'
            ' -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "SELECT 1" >/dev/null 2>&1; }',
            "login && exit 0",
            "printf '%s\\n' '\\getenv pw POSTGRES_PASSWORD'"
            " 'ALTER ROLE :\"role\" PASSWORD :'\\''pw'\\'';'"
            ' | psql -X -w -q -v ON_ERROR_STOP=1 -v role="$POSTGRES_USER"'
            ' -U "$POSTGRES_USER" -d "$POSTGRES_DB" >/dev/null || exit 1',
            'login && echo "set the configured password on role $POSTGRES_USER" && exit 0',
            'echo "login as $POSTGRES_USER fails even after setting its password"',
            "exit 1",
        ]
    )
