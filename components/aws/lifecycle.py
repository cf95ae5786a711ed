"""Migrations, then the conditional seed, as one-off ECS tasks of the ops image.

The same `DatabaseMigrations` / `ConditionalSeed` dynamic providers as on a Docker host, in
their `ecs` runner mode (lifecycle/ecs_runner.py): each run stages its input in the backup
bucket under `lifecycle-jobs/`, starts its task definition in the private subnets, waits
for it to stop and reports its exit code and CloudWatch log tail. Each job has its own task
definition so that its execution role reads only its own secrets: migrations get
DATABASE_URL; the seed also gets the three seed passwords. Their task role may only read
the staged inputs. The machine running `pulumi` needs ecs:RunTask/DescribeTasks/StopTask,
iam:PassRole on these roles, logs:GetLogEvents and s3:PutObject/DeleteObject on the prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.aws.task import FargateTask, FargateTaskArgs
from components.settings import AwsSettings, LifecycleSettings, project_relative
from components.specs import ContainerSpec
from lifecycle.jobs import EcsTarget, RunnerArgs
from lifecycle.providers import (
    ConditionalSeed,
    ConditionalSeedArgs,
    DatabaseMigrations,
    DatabaseMigrationsArgs,
)
from lifecycle.seed import password_env_name

BUNDLE_PREFIX = "lifecycle-jobs/"
OPS_CONTAINER = "ops"


@dataclass(frozen=True)
class AwsLifecycleArgs:
    settings: LifecycleSettings
    aws: AwsSettings
    name_prefix: str
    ops_image: pulumi.Input[str]
    ops_repository_arn: pulumi.Input[str]
    ops_memory_mb: int
    cluster_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    bucket: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    database_url: pulumi.Output[str]
    database_identity: pulumi.Input[str]
    secret_arns: Mapping[str, pulumi.Input[str]]
    """DATABASE_URL and every SEED_PASSWORD_* → Secrets Manager ARN."""
    seed_passwords: Mapping[str, pulumi.Output[str]]
    depends_on: Sequence[pulumi.Resource] = ()


class AwsLifecycle(pulumi.ComponentResource):
    migrations: DatabaseMigrations
    seed: ConditionalSeed
    migrate_task: FargateTask
    seed_task: FargateTask

    def __init__(
        self, name: str, args: AwsLifecycleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:Lifecycle", name, None, opts)
        s = args.settings
        read_inputs: pulumi.Output[list[dict[str, Any]]] = pulumi.Output.from_input(
            args.bucket_arn
        ).apply(
            lambda arn: [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{arn}/{BUNDLE_PREFIX}*"}
            ]
        )
        seed_secrets = [password_env_name(key) for key in sorted(args.seed_passwords)]

        def task(role: str, secrets: list[str]) -> FargateTask:
            return FargateTask(
                f"{role}-task",
                FargateTaskArgs(
                    family=f"{args.name_prefix}-{role}",
                    role=role,
                    container=ContainerSpec(
                        name=OPS_CONTAINER,
                        image=args.ops_image,
                        secrets={k: args.secret_arns[k] for k in ["DATABASE_URL", *secrets]},
                    ),
                    cpu=args.aws.ops_cpu,
                    memory_mb=args.ops_memory_mb,
                    cpu_architecture="X86_64",
                    region=args.aws.region,
                    log_retention_days=args.aws.log_retention_days,
                    repository_arn=args.ops_repository_arn,
                    task_policy_statements=read_inputs,
                ),
                pulumi.ResourceOptions(parent=self),
            )

        self.migrate_task = task("migrate", [])
        self.seed_task = task("seed", seed_secrets)

        def runner(job: FargateTask) -> pulumi.Output[RunnerArgs]:
            return pulumi.Output.all(
                args.cluster_arn,
                job.definition.arn,
                job.log_group.name,
                args.bucket,
                args.security_group_id,
                *args.subnet_ids,
            ).apply(
                lambda v: RunnerArgs(
                    mode="ecs",
                    ecs=EcsTarget(
                        cluster=v[0],
                        task_definition=v[1],
                        container=OPS_CONTAINER,
                        subnets=tuple(v[5:]),
                        security_groups=(v[4],),
                        region=args.aws.region,
                        log_group=v[2],
                        log_stream_prefix=job.log_stream_prefix,
                        bundle_bucket=v[3],
                        bundle_prefix=BUNDLE_PREFIX,
                    ),
                )
            )

        self.migrations = DatabaseMigrations(
            "migrations",
            DatabaseMigrationsArgs(
                database_url=args.database_url,
                migrations_dir=project_relative(s.migrations_dir),
                runner=runner(self.migrate_task),
                database_identity=args.database_identity,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.seed = ConditionalSeed(
            "seed",
            ConditionalSeedArgs(
                database_url=args.database_url,
                passwords=dict(args.seed_passwords),
                seed_file=project_relative(s.seed_file),
                runner=runner(self.seed_task),
                database_identity=args.database_identity,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.migrations]),
        )
        self.register_outputs(
            {"appliedCount": self.migrations.applied_count, "seedOutcome": self.seed.outcome}
        )
