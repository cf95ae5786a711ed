"""The whole EscalaFin deployment on AWS (target aws-ecs), as one component.

Same reading order, same settings and the same outputs as `EscalaFin` (docker-host):
secrets and network, the images, the stateful services (RDS, ElastiCache), the lifecycle
(migrations, then the conditional seed, as one-off ECS tasks), the app (ECS service behind
the ALB), then backups (a scheduled task into the hardened bucket). docs/targets.md shows
how both compositions become implementations of one `Platform` seam.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.backups import AwsBackups, AwsBackupsArgs
from components.aws.cache import AwsCache, AwsCacheArgs
from components.aws.database import AwsDatabase, AwsDatabaseArgs
from components.aws.ingress import AwsIngress, AwsIngressArgs
from components.aws.lifecycle import AwsLifecycle, AwsLifecycleArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs
from components.aws.registry import RegistryImage, RegistryImageArgs
from components.aws.secrets import AwsSecrets, AwsSecretsArgs
from components.aws.security_groups import SecurityGroups, SecurityGroupsArgs, egress_ports
from components.aws.service import AwsAppService, AwsAppServiceArgs
from components.aws.task import FargateTask, FargateTaskArgs
from components.credentials import Credentials, CredentialsArgs
from components.settings import PROJECT_DIR, AwsSettings, Settings
from components.specs import ContainerSpec, ContractOutputs, EscalaFinArgs, ImageSource
from lifecycle.seed import password_env_name

APP_USER = "1001:1001"


class EscalaFinAws(pulumi.ComponentResource):
    """The aws-ecs target's composition (components/platform.py)."""

    contract: ContractOutputs
    extra_outputs: dict[str, Any]
    """loadBalancerDnsName: the CNAME target for appPublicUrl's host when the stack does not
    own its DNS zone; appService: the ECS service (`aws ecs update-service --desired-count 0`
    stops the app for a restore); backupTaskDefinition: run it on demand with `aws ecs
    run-task` (README)."""

    def __init__(
        self, name: str, args: EscalaFinArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:EscalaFin", name, None, opts)
        s = args.settings
        a = _aws(s)
        child = pulumi.ResourceOptions(parent=self)
        prefix = s.name_prefix

        credentials = Credentials("credentials", CredentialsArgs(s), child)
        network = AwsNetwork(
            "network", AwsNetworkArgs(prefix, a.vpc_cidr, a.nat_gateways, a.region), child
        )
        groups = SecurityGroups(
            "security-groups",
            SecurityGroupsArgs(prefix, network.vpc.id, s.app.port, egress_ports(s.integrations)),
            child,
        )
        platform = "linux/arm64" if a.cpu_architecture == "ARM64" else "linux/amd64"
        build = s.app.build
        app_image = RegistryImage(
            "app-image",
            RegistryImageArgs(
                f"{prefix}-app",
                ImageSource(
                    context=build.context,
                    dockerfile=build.dockerfile,
                    platform=platform,
                    target=build.target,
                    build_args={"BASE_IMAGE": build.base_image, **build.build_args},
                ),
            ),
            child,
        )
        ops_image = RegistryImage(
            "ops-image",
            RegistryImageArgs(
                f"{prefix}-ops",
                ImageSource(
                    context=PROJECT_DIR,
                    dockerfile=PROJECT_DIR / "ops" / "Dockerfile",
                    platform="linux/amd64",
                    build_args={
                        "BASE_IMAGE": s.ops_base_image,
                        "PG_MAJOR": str(s.database.major),
                    },
                ),
            ),
            child,
        )

        database = AwsDatabase(
            "database",
            AwsDatabaseArgs(
                settings=s.database,
                aws=a,
                name_prefix=prefix,
                password=credentials.database_password,
                subnet_ids=network.private_subnet_ids,
                security_group_id=groups.database.id,
            ),
            child,
        )
        cache = AwsCache(
            "cache",
            AwsCacheArgs(
                aws=a,
                name_prefix=prefix,
                auth_token=credentials.redis_password,
                subnet_ids=network.private_subnet_ids,
                security_group_id=groups.cache.id,
            ),
            child,
        )

        secret_values: dict[str, pulumi.Output[str]] = {
            "DATABASE_URL": database.url,
            "REDIS_URL": cache.url,
            "NEXTAUTH_SECRET": credentials.nextauth_secret,
        }
        plain_env: dict[str, str] = {}
        for integration in s.integrations:
            plain_env.update(integration.env)
            secret_values.update(
                {k: pulumi.Output.secret(v) for k, v in integration.secret_env.items()}
            )
        seed_envs = {
            password_env_name(key): value for key, value in credentials.seed_passwords.items()
        }
        secrets = AwsSecrets(
            "secrets",
            AwsSecretsArgs(prefix, {**secret_values, **seed_envs}, a.deletion_protection),
            child,
        )
        cluster = aws.ecs.Cluster(
            "cluster",
            name=prefix,
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="disabled")],
            opts=child,
        )
        backups = AwsBackups(
            "backups",
            AwsBackupsArgs(
                settings=s.backup,
                aws=a,
                name_prefix=prefix,
                ops_image=ops_image.image_ref,
                ops_repository_arn=ops_image.repository.arn,
                cluster_arn=cluster.arn,
                subnet_ids=network.private_subnet_ids,
                security_group_id=groups.ops.id,
                database_url_arn=secrets.arns["DATABASE_URL"],
            ),
            child,
        )
        lifecycle = AwsLifecycle(
            "lifecycle",
            AwsLifecycleArgs(
                settings=s.lifecycle,
                aws=a,
                name_prefix=prefix,
                ops_image=ops_image.image_ref,
                ops_repository_arn=ops_image.repository.arn,
                ops_memory_mb=s.backup.memory_mb,
                cluster_arn=cluster.arn,
                subnet_ids=network.private_subnet_ids,
                security_group_id=groups.ops.id,
                bucket=backups.bucket.name,
                bucket_arn=backups.bucket.arn,
                database_url=database.url,
                database_identity=database.identity,
                secret_arns=secrets.subset("DATABASE_URL", *sorted(seed_envs)),
                seed_passwords=credentials.seed_passwords,
                depends_on=[database.instance],
            ),
            child,
        )

        ingress = AwsIngress(
            "ingress",
            AwsIngressArgs(
                aws=a,
                name_prefix=prefix,
                vpc_id=network.vpc.id,
                public_subnet_ids=network.public_subnet_ids,
                security_group_id=groups.alb.id,
                app_port=s.app.port,
                health=s.app.health,
            ),
            child,
        )
        h = s.app.health
        app_task = FargateTask(
            "app-task",
            FargateTaskArgs(
                family=f"{prefix}-app",
                role="app",
                container=ContainerSpec(
                    name="app",
                    image=app_image.image_ref,
                    environment={
                        "NODE_ENV": "production",
                        "APP_ENV": s.environment,
                        "APP_VERSION": s.app.version,
                        "PORT": str(s.app.port),
                        "HOSTNAME": "0.0.0.0",  # noqa: S104 - inside the task; the SG decides exposure
                        "NEXTAUTH_URL": s.app.public_url,
                        **s.app.extra_env,
                        **plain_env,
                    },
                    secrets=secrets.subset(*sorted(secret_values)),
                    port=s.app.port,
                    user=APP_USER,
                    health=h,
                ),
                cpu=a.app_cpu,
                memory_mb=s.app.memory_mb,
                cpu_architecture=a.cpu_architecture,
                region=a.region,
                log_retention_days=a.log_retention_days,
                repository_arn=app_image.repository.arn,
            ),
            child,
        )
        app = AwsAppService(
            "app",
            AwsAppServiceArgs(
                name_prefix=prefix,
                cluster_arn=cluster.arn,
                task=app_task,
                desired_count=s.app.replicas,
                subnet_ids=network.private_subnet_ids,
                security_group_id=groups.app.id,
                target_group_arn=ingress.target_group.arn,
                app_port=s.app.port,
                start_period=h.start_period,
                depends_on=[lifecycle.seed, lifecycle.migrations, ingress.https],
            ),
            child,
        )

        self.contract = ContractOutputs(
            app_url=s.app.public_url,
            health_url=s.app.health_url,
            image_digest=app_image.image_ref,
            backup_bucket=backups.bucket.name,
            generated_secrets=credentials.generated,
        )
        self.extra_outputs = {
            "loadBalancerDnsName": ingress.dns_name,
            "appService": app.service.name,
            "backupTaskDefinition": backups.task.definition.arn,
        }
        self.register_outputs(
            {
                "appUrl": s.app.public_url,
                "healthUrl": s.app.health_url,
                "imageDigest": app_image.image_ref,
                "backupBucket": backups.bucket.name,
            }
        )


def _aws(s: Settings) -> AwsSettings:
    if s.aws is None:
        raise AssertionError("EscalaFinAws needs settings loaded with target aws-ecs")
    return s.aws
