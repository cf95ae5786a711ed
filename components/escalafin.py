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
from components.archiving.archiving import ContinuousArchiving, ContinuousArchivingArgs
from components.archiving.backup_server import BackupServer, BackupServerArgs
from components.backup_agent import BackupAgent, BackupAgentArgs
from components.backup_bucket import BackupBucket, BackupBucketArgs
from components.cache import Cache, CacheArgs
from components.credentials import Credentials, CredentialsArgs
from components.database import DATA_PATH, Database, DatabaseArgs
from components.ingress import Ingress, IngressArgs
from components.lifecycle import DatabaseLifecycle, DatabaseLifecycleArgs
from components.monitoring import HEALTH_CHECK_INTERVAL_SECONDS
from components.network import Networks, NetworksArgs
from components.object_store import EmbeddedObjectStore, EmbeddedObjectStoreArgs
from components.ops_image import OpsImage, OpsImageArgs
from components.settings import Settings
from components.specs import ContractOutputs, EscalaFinArgs

__all__ = ["EscalaFin", "EscalaFinArgs"]


class EscalaFin(pulumi.ComponentResource):
    """The docker-host target's composition (components/platform.py)."""

    contract: ContractOutputs
    extra_outputs: dict[str, Any]
    """backupAgentContainer; appContainer, the first replica's name (generated: it changes
    on every deploy); appContainers, every replica (what `python -m lifecycle.restore
    --stack` stops and starts); databaseContainer, what a point-in-time restore stops,
    restores into and starts; backupMonitoring, where an uptime monitor sees broken backups
    or archiving; databaseAdminEndpoint."""

    def __init__(
        self, name: str, args: EscalaFinArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:EscalaFin", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)

        credentials = Credentials("credentials", CredentialsArgs(s), child)
        networks = Networks(
            "networks",
            NetworksArgs(
                s.name_prefix,
                admin_network=s.database.admin_endpoint is not None,
                egress_network=s.archiving is not None and s.backup.store == "aws",
            ),
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

        # The backup bucket (the embedded store in dev, AWS otherwise): the database archives
        # into it, so it comes first.
        b = s.backup
        store: EmbeddedObjectStore | None = None
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
            s3_key_id = _required(credentials.store_access_key)
            s3_secret = _required(credentials.store_secret_key)
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
            s3_key_id = _required(b.access_key_id or bucket.access_key_id)
            s3_secret = _required(b.secret_access_key or bucket.secret_access_key)
        archiving = (
            ContinuousArchiving(
                "archiving",
                ContinuousArchivingArgs(
                    settings=s.archiving,
                    backup=b,
                    name_prefix=s.name_prefix,
                    restart_policy=s.restart_policy,
                    postgres_image=s.database.image,
                    platform=s.app.build.platform,
                    docker_host=s.docker_host,
                    database_user=s.database.user,
                    internal_network=networks.internal.name,
                    egress_network=networks.egress.name if networks.egress else None,
                    store_upstream=store.upstream if store else None,
                    s3_access_key_id=s3_key_id,
                    s3_secret_access_key=s3_secret,
                ),
                child,
            )
            if s.archiving
            else None
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
                archiving=archiving.database if archiving else None,
            ),
            child,
        )
        backup_server = (
            BackupServer(
                "pgbackrest-server",
                BackupServerArgs(
                    name_prefix=s.name_prefix,
                    restart_policy=s.restart_policy,
                    image=archiving.image,
                    internal_network=networks.internal.name,
                    data_volume=database.data_volume.name,
                    socket_volume=database.socket_volume.name,
                    pgdata=DATA_PATH,
                    user=s.database.user,
                    ca_pem=archiving.pki.ca_cert_pem,
                    cert_pem=archiving.server_leaf.cert_pem,
                    key_pem=archiving.server_leaf.key_pem,
                    docker_host=s.docker_host,
                    depends_on=[database.container],
                ),
                child,
            )
            if archiving and database.socket_volume
            else None
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
                s3_access_key_id=s3_key_id,
                s3_secret_access_key=s3_secret,
                docker_host=s.docker_host,
                depends_on=[
                    bucket_ready,
                    lifecycle.migrations,
                    *(archiving.ready if archiving else []),
                    *([backup_server.ready] if backup_server else []),
                ],
                archiving_env=archiving.agent_env if archiving else {},
                archiving_secret_env=archiving.agent_secret_env if archiving else {},
                extra_networks=[networks.egress.name] if networks.egress else [],
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
            "databaseContainer": database.container.name,
            "backupMonitoring": backup_monitoring(agent.container_name, s),
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


def backup_monitoring(agent_container: pulumi.Output[str], s: Settings) -> dict[str, Any]:
    """The second probe: the backup agent's Docker health, unhealthy when a logical backup
    or a base backup is missed or failed, or (archiving on) WAL lags beyond the RPO."""
    return {
        "kind": "docker-health",
        "container": agent_container,
        "command": pulumi.Output.concat(
            "docker inspect --format '{{.State.Health.Status}}' ", agent_container
        ),
        "expectedValue": "healthy",
        "details": pulumi.Output.concat(
            "docker exec ", agent_container, " python -m lifecycle.backup_agent healthcheck"
        ),
        "intervalSeconds": HEALTH_CHECK_INTERVAL_SECONDS,
        "rpoSeconds": s.archiving.rpo_s if s.archiving else None,
    }


def _required(value: pulumi.Output[str] | None) -> pulumi.Output[str]:
    """Settings validation guarantees these; a None here is a bug, not a config error."""
    if value is None:
        raise AssertionError("backup credentials missing after settings validation")
    return value
