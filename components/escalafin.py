"""The whole EscalaFin deployment on one Docker host, as one component.

Reading order follows the dependency order: secrets and networks, the image,
the stateful services, the lifecycle (migrations, then the conditional seed),
the app, then backups. Everything below takes its values from `Settings`,
which has already been validated.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.app import WAIT_TIMEOUT_S, AppService, AppServiceArgs
from components.app_image import AppImage, AppImageArgs
from components.backup_agent import BackupAgent, BackupAgentArgs
from components.backup_bucket import BackupBucket, BackupBucketArgs
from components.cache import Cache, CacheArgs
from components.credentials import Credentials, CredentialsArgs
from components.database import Database, DatabaseArgs
from components.ingress import Ingress, IngressArgs
from components.lifecycle import DatabaseLifecycle, DatabaseLifecycleArgs
from components.network import Networks, NetworksArgs
from components.object_store import EmbeddedObjectStore, EmbeddedObjectStoreArgs
from components.ops_image import OpsImage, OpsImageArgs
from components.specs import ContractOutputs, EscalaFinArgs

__all__ = ["EscalaFin", "EscalaFinArgs"]


class EscalaFin(pulumi.ComponentResource):
    """The docker-host target's composition (components/platform.py)."""

    contract: ContractOutputs
    extra_outputs: dict[str, Any]
    """backupAgentContainer; appContainer, the first replica's name (generated: it changes
    on every deploy); appContainers, every replica (what `python -m lifecycle.restore
    --stack` stops and starts); databaseAdminEndpoint."""

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
        image = AppImage(
            "app-image", AppImageArgs(s.app.build, s.docker_host, pinned=s.app.image), child
        )
        ops_image = OpsImage(
            "ops-image",
            OpsImageArgs(
                s.name_prefix,
                s.ops_base_image,
                s.database.major,
                s.app.build.platform,
                s.docker_host,
            ),
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
                docker_host=s.docker_host,
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
                docker_host=s.docker_host,
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
                depends_on=[database.ready, cache.ready, lifecycle.seed],
                docker_host=s.docker_host,
            ),
            child,
        )
        Ingress(
            "ingress",
            IngressArgs(
                settings=s.ingress,
                name_prefix=s.name_prefix,
                restart_policy=s.restart_policy,
                public_network=networks.public.name,
                app_containers=app.containers,
                app_gates=app.gates,
                app_port=s.app.port,
                docker_host=s.docker_host,
                protect_data=s.is_prod,
                health_timeout_s=WAIT_TIMEOUT_S,
            ),
            child,
        )

        # Backups: the bucket (the embedded store in dev, AWS otherwise) and the agent.
        b = s.backup
        if b.store == "embedded":
            store = EmbeddedObjectStore(
                "objectstore",
                EmbeddedObjectStoreArgs(
                    image=b.store_image,
                    name_prefix=s.name_prefix,
                    restart_policy=s.restart_policy,
                    internal_network=networks.internal.name,
                    internal_network_name=networks.internal_name,
                    access_key=_required(credentials.store_access_key),
                    secret_key=_required(credentials.store_secret_key),
                    region=b.region,
                    bucket=b.bucket_name,
                    ops_image=ops_image.image_name,
                    ops_image_resource=ops_image.image,
                    docker_host=s.docker_host,
                ),
                child,
            )
            bucket_ready: pulumi.Resource = store.bucket
            backup_bucket = pulumi.Output.from_input(b.bucket_name)
            endpoint: str | None = store.endpoint_in_network
            agent_key = _required(credentials.store_access_key)
            agent_secret = _required(credentials.store_secret_key)
        else:
            bucket = BackupBucket(
                "backup-bucket",
                BackupBucketArgs(
                    settings=b, protect=s.is_prod, create_credentials=b.access_key_id is None
                ),
                child,
            )
            bucket_ready = bucket.bucket
            backup_bucket = bucket.name
            endpoint = None
            agent_key = _required(b.access_key_id or bucket.access_key_id)
            agent_secret = _required(b.secret_access_key or bucket.secret_access_key)
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
                s3_endpoint_url=endpoint,
                s3_access_key_id=agent_key,
                s3_secret_access_key=agent_secret,
                docker_host=s.docker_host,
                depends_on=[bucket_ready, lifecycle.migrations],
            ),
            child,
        )

        self.contract = ContractOutputs(
            app_url=app.url,
            health_url=app.health_url,
            image_digest=image.repo_digest,
            backup_bucket=backup_bucket,
            generated_secrets=credentials.generated,
        )
        self.extra_outputs = {
            "backupAgentContainer": agent.container_name,
            "appContainer": app.containers[0].name,
            "appContainers": app.names,
            "databaseAdminEndpoint": database.admin_endpoint,
        }
        self.register_outputs(
            {
                "appUrl": app.url,
                "healthUrl": app.health_url,
                "imageDigest": image.repo_digest,
                "backupBucket": backup_bucket,
            }
        )


def _required(value: pulumi.Output[str] | None) -> pulumi.Output[str]:
    """Settings validation guarantees these; a None here is a bug, not a config error."""
    if value is None:
        raise AssertionError("backup credentials missing after settings validation")
    return value
