"""Continuous archiving as one component: the CA, the derived image, the dev store's TLS
front, and the environment each container gets (see this package's docstring)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.archiving import env, store_tls
from components.archiving.pki import ArchivingPki, Leaf
from components.archiving.postgres_image import (
    ArchivingPostgresImage,
    ArchivingPostgresImageArgs,
)
from components.archiving.store_tls import StoreTlsFront, StoreTlsFrontArgs
from components.database import DATA_PATH, DatabaseArchiving
from components.settings import ArchivingSettings, BackupSettings

HEALTH_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class ContinuousArchivingArgs:
    settings: ArchivingSettings
    backup: BackupSettings
    name_prefix: str
    restart_policy: str
    postgres_image: str
    platform: str
    """The Docker host's platform, for the derived PostgreSQL image."""
    docker_host: str | None
    database_user: str
    internal_network: pulumi.Input[str]
    egress_network: pulumi.Input[str] | None
    store_upstream: str | None
    """host:port of the embedded store's plain-HTTP S3 API; None = AWS S3."""
    s3_access_key_id: pulumi.Output[str]
    s3_secret_access_key: pulumi.Output[str]


class ContinuousArchiving(pulumi.ComponentResource):
    pki: ArchivingPki
    image: pulumi.Output[str]
    database: DatabaseArchiving
    agent_env: dict[str, pulumi.Input[str]]
    agent_secret_env: dict[str, pulumi.Input[str]]
    server_leaf: Leaf
    ready: list[pulumi.Resource]
    """What base backups need besides the sidecar: the dev store's TLS front, healthy."""
    """The backup server sidecar's certificate (BackupServer is created after Database)."""

    def __init__(
        self, name: str, args: ContinuousArchivingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:archiving:ContinuousArchiving", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        self.pki = ArchivingPki("pki", args.name_prefix, child)
        self.image = ArchivingPostgresImage(
            "postgres-image",
            ArchivingPostgresImageArgs(
                args.name_prefix, args.postgres_image, args.platform, args.docker_host
            ),
            child,
        ).repo_digest
        front: StoreTlsFront | None = None
        if args.store_upstream:
            leaf = self.pki.leaf("store-tls", store_tls.ALIAS, [store_tls.ALIAS])
            front = StoreTlsFront(
                "store-tls",
                StoreTlsFrontArgs(
                    image=s.store_tls_image,
                    name_prefix=args.name_prefix,
                    restart_policy=args.restart_policy,
                    internal_network=args.internal_network,
                    upstream=args.store_upstream,
                    cert_pem=leaf.cert_pem,
                    key_pem=leaf.key_pem,
                    docker_host=args.docker_host,
                ),
                child,
            )
        repo = env.Repository(
            bucket=args.backup.bucket_name,
            region=args.backup.region,
            endpoint_host=front.endpoint_host if front else None,
            verify_ca=front is not None,
        )
        keys: dict[str, pulumi.Input[str]] = {
            "PGBACKREST_REPO1_S3_KEY": args.s3_access_key_id,
            "PGBACKREST_REPO1_S3_KEY_SECRET": args.s3_secret_access_key,
        }
        egress = [args.egress_network] if args.egress_network is not None else []
        self.database = DatabaseArchiving(
            image=self.image,
            env={
                **env.database_server(repo, DATA_PATH, args.database_user, s.queue_max_mb),
                "ESCALAFIN_PEM_CA": self.pki.ca_cert_pem,
            },
            secret_env=keys,
            settings=env.postgres_settings(s.archive_timeout_s),
            extra_networks=egress,
        )
        client = self.pki.leaf("agent", env.CLIENT_CN)
        self.agent_env = {
            **env.agent(repo, DATA_PATH, args.database_user),
            "ESCALAFIN_PEM_CA": self.pki.ca_cert_pem,
            "ESCALAFIN_PEM_CERT": client.cert_pem,
            "PITR_BACKUP_SCHEDULE": s.schedule,
            "PITR_FULL_EVERY_DAYS": str(s.full_every_days),
            "PITR_RETENTION_DAYS": str(s.retention_days),
            "PITR_KEEP_MIN": str(s.keep_min),
            "PITR_RPO_S": str(s.rpo_s),
        }
        self.agent_secret_env = {**keys, "ESCALAFIN_PEM_KEY": client.key_pem}
        self.ready = [front.ready] if front else []
        self.server_leaf = self.pki.leaf("backup-server", env.SERVER_ALIAS, [env.SERVER_ALIAS])
        self.register_outputs({"image": self.image})
