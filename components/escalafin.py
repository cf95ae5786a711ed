"""The whole EscalaFin deployment on one Docker host, as one component.

Reading order follows the dependency order: secrets and networks, the image,
the stateful services, the lifecycle (migrations, then the conditional seed),
the app, then backups. Everything below takes its values from `Settings`,
which has already been validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.app import AppService, AppServiceArgs
from components.app_image import AppImage, AppImageArgs
from components.backup_agent import BackupAgent, BackupAgentArgs
from components.backup_bucket import BackupBucket, BackupBucketArgs
from components.cache import Cache, CacheArgs
from components.credentials import Credentials, CredentialsArgs
from components.database import Database, DatabaseArgs
from components.lifecycle import DatabaseLifecycle, DatabaseLifecycleArgs
from components.monitoring import monitoring_spec
from components.network import Networks, NetworksArgs
from components.object_store import EmbeddedObjectStore, EmbeddedObjectStoreArgs
from components.ops_image import OpsImage, OpsImageArgs
from components.settings import Settings


@dataclass(frozen=True)
class EscalaFinArgs:
    settings: Settings


class EscalaFin(pulumi.ComponentResource):
    app_url: str
    health_url: str
    image_digest: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]
    backup_agent_container: pulumi.Output[str]
    app_container: pulumi.Output[str]
    """What `python -m lifecycle.restore --stack` stops and starts."""
    database_admin_endpoint: str | None
    monitoring: dict[str, Any]
    generated_secrets: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: EscalaFinArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:EscalaFin", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)

        credentials = Credentials("credentials", CredentialsArgs(s), child)
        networks = Networks(
            "networks",
            NetworksArgs(s.name_prefix, admin_network=s.database.admin_endpoint is not None),
            child,
        )
        image = AppImage("app-image", AppImageArgs(s.app.build), child)
        ops_image = OpsImage(
            "ops-image",
            OpsImageArgs(s.name_prefix, s.ops_base_image, s.database.major),
            child,
        )

        database = Database(
            "database",
            DatabaseArgs(
                settings=s.database,
                name_prefix=s.name_prefix,
                restart_policy=s.restart_policy,
                password=credentials.database_password,
                internal_network=networks.internal.name,
                admin_network=networks.admin.name if networks.admin else None,
                protect_data=s.is_prod,
            ),
            child,
        )
        cache = Cache(
            "cache",
            CacheArgs(
                settings=s.cache,
                name_prefix=s.name_prefix,
                restart_policy=s.restart_policy,
                password=credentials.redis_password,
                internal_network=networks.internal.name,
                protect_data=s.is_prod,
            ),
            child,
        )
        lifecycle = DatabaseLifecycle(
            "lifecycle",
            DatabaseLifecycleArgs(
                settings=s.lifecycle,
                database=database,
                internal_network=networks.internal_name,
                ops_image=ops_image.image_name,
                ops_image_resource=ops_image.image,
                docker_host=s.docker_host,
                seed_passwords=credentials.seed_passwords,
            ),
            child,
        )

        app = AppService(
            "app",
            AppServiceArgs(
                settings=s.app,
                environment=s.environment,
                name_prefix=s.name_prefix,
                restart_policy=s.restart_policy,
                image=image.repo_digest,
                database_url=database.internal_url,
                redis_url=cache.url,
                nextauth_secret=credentials.nextauth_secret,
                integrations=s.integrations,
                internal_network=networks.internal.name,
                public_network=networks.public.name,
                protect_data=s.is_prod,
                depends_on=[database.container, cache.container, lifecycle.seed],
            ),
            child,
        )

        # Backups: the bucket (AWS, or the embedded store in dev) and the agent.
        b = s.backup
        store = (
            EmbeddedObjectStore(
                "objectstore",
                EmbeddedObjectStoreArgs(
                    image=b.store_image,
                    name_prefix=s.name_prefix,
                    restart_policy=s.restart_policy,
                    internal_network=networks.internal.name,
                    publish_network=networks.public.name,
                    host_port=b.store_port,
                    access_key=_required(credentials.store_access_key),
                    secret_key=_required(credentials.store_secret_key),
                    region=b.region,
                ),
                child,
            )
            if b.store == "embedded"
            else None
        )
        bucket = BackupBucket(
            "backup-bucket",
            BackupBucketArgs(
                settings=b,
                hardened=store is None,
                protect=s.is_prod,
                create_credentials=store is None and b.access_key_id is None,
                provider=store.provider if store else None,
            ),
            child,
        )
        agent = BackupAgent(
            "backup-agent",
            BackupAgentArgs(
                settings=b,
                name_prefix=s.name_prefix,
                restart_policy=s.restart_policy,
                ops_image=ops_image.repo_digest,
                internal_network=networks.internal.name,
                database_url=database.internal_url,
                backups_volume=database.backups_volume.name,
                s3_endpoint_url=store.endpoint_in_network if store else None,
                s3_access_key_id=_required(
                    credentials.store_access_key or b.access_key_id or bucket.access_key_id
                ),
                s3_secret_access_key=_required(
                    credentials.store_secret_key or b.secret_access_key or bucket.secret_access_key
                ),
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[bucket.bucket, lifecycle.migrations]),
        )

        self.app_url = app.url
        self.health_url = app.health_url
        self.image_digest = image.repo_digest
        self.backup_bucket = bucket.name
        self.backup_agent_container = agent.container_name
        self.app_container = app.container.name
        self.database_admin_endpoint = database.admin_endpoint
        self.monitoring = monitoring_spec(app.health_url)
        self.generated_secrets = credentials.generated
        self.register_outputs(
            {
                "appUrl": self.app_url,
                "healthUrl": self.health_url,
                "imageDigest": self.image_digest,
                "backupBucket": self.backup_bucket,
            }
        )


def _required(value: pulumi.Output[str] | None) -> pulumi.Output[str]:
    """Settings validation guarantees these; a None here is a bug, not a config error."""
    if value is None:
        raise AssertionError("backup credentials missing after settings validation")
    return value
