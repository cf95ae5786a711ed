"""The backup agent container: scheduled, verified, off-site backups inside the stack.

Runs the ops image (`python -m lifecycle.backup_agent`) on the internal network only —
it reaches `postgres` and, in dev, `objectstore`; nothing reaches it. The backups volume
is mounted at /backup-escalafin. Its healthcheck (`lifecycle.backup_agent healthcheck`)
turns unhealthy once a scheduled backup is missed or fails, so the stack's monitoring
sees broken backups. The environment follows the contract in lifecycle/backup_agent.py;
every credential is a Pulumi secret. On demand: `docker exec <name> python -m
lifecycle.backup now`; restores: `python -m lifecycle.restore --stack <stack> ...`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.containers import container_options, env_list, health_gate, healthcheck, labels
from components.settings import BackupSettings

BACKUP_DIR = "/backup-escalafin"
# A scheduled run may take this long before the healthcheck counts it as missed.
HEALTH_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class BackupAgentArgs:
    settings: BackupSettings
    name_prefix: str
    restart_policy: str
    ops_image: pulumi.Input[str]
    internal_network: pulumi.Input[str]
    database_url: pulumi.Input[str]
    """Secret; host `postgres` on the internal network."""
    backups_volume: pulumi.Input[str]
    s3_endpoint_url: pulumi.Input[str] | None
    """Set for the embedded store (dev); None means AWS S3."""
    s3_access_key_id: pulumi.Input[str]
    s3_secret_access_key: pulumi.Input[str]
    docker_host: str | None = None
    depends_on: Sequence[pulumi.Resource] = ()
    """What the container must wait for (the bucket, migrations). On the container itself:
    the Python SDK sends only a resource's own depends_on and property dependencies
    (pulumi/runtime/resource.py, prepare_resource), so a component's depends_on does not
    hold its children back, and the agent's first backup would find no bucket."""


class BackupAgent(pulumi.ComponentResource):
    container: docker.Container
    ready: pulumi.Resource
    """Its HealthGate."""
    container_name: pulumi.Output[str]
    """What `python -m lifecycle.restore --stack` needs (export it as backupAgentContainer)."""

    def __init__(
        self, name: str, args: BackupAgentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:BackupAgent", name, None, opts)
        s = args.settings
        plain: dict[str, pulumi.Input[str]] = {
            "BACKUP_DIR": BACKUP_DIR,
            "BACKUP_SCHEDULE": s.schedule,
            "BACKUP_TIMEZONE": s.timezone,
            "TZ": s.timezone,
            "BACKUP_RETENTION_DAYS": str(s.retention_days),
            "BACKUP_KEEP_MIN": str(s.keep_min),
            "BACKUP_HEALTH_GRACE_S": str(HEALTH_GRACE_SECONDS),
            "BACKUP_DRILL_SCHEDULE": s.drill_schedule,
            "S3_BUCKET": s.bucket_name,
            "S3_REGION": s.region,
        }
        if args.s3_endpoint_url is not None:
            plain["S3_ENDPOINT_URL"] = args.s3_endpoint_url
        secret: dict[str, pulumi.Input[str]] = {
            "DATABASE_URL": args.database_url,
            "AWS_ACCESS_KEY_ID": args.s3_access_key_id,
            "AWS_SECRET_ACCESS_KEY": args.s3_secret_access_key,
        }
        self.container = docker.Container(
            "backup-agent",
            name=f"{args.name_prefix}-backup-agent",
            image=args.ops_image,
            command=["lifecycle.backup_agent"],  # the ops image's entrypoint is `python -m`
            envs=env_list(plain, secret),
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=args.backups_volume, container_path=BACKUP_DIR
                )
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.internal_network)],
            healthcheck=healthcheck(
                ["CMD", "python", "-m", "lifecycle.backup_agent", "healthcheck"],
                interval="1m",
                timeout="30s",
                retries=2,
                start_period="1m",
            ),
            restart=args.restart_policy,
            memory=s.memory_mb,
            memory_swap=s.memory_mb,
            labels=labels(args.name_prefix, "backup-agent"),
            opts=container_options(self, args.depends_on),
        )
        self.ready = health_gate(
            self.container,
            "backup-agent-health",
            docker_host=args.docker_host,
            timeout_s=180,
            parent=self,
        )
        self.container_name = self.container.name
        self.register_outputs({"container": self.container_name})
