"""Portable backups beside RDS's own: the nightly verified logical dump, as a scheduled task.

RDS keeps automated snapshots and point-in-time recovery (database.py), but those only
restore into RDS. The same `lifecycle.backup now` that the docker-host backup agent runs —
pg_dump -Fc streamed, verified with pg_restore, uploaded with a checksum, pruned by age with
a floor — runs here as an ECS task started by EventBridge Scheduler on backupSchedule in
backupTimezone, into the same hardened bucket component (backup_bucket.py). Those archives
restore anywhere: into a docker-host stack, another region, a laptop. The task role may
list, read, write and delete in that bucket only; no access keys exist.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.task import FargateTask, FargateTaskArgs, role_with_policy
from components.backup_bucket import BackupBucket, BackupBucketArgs, agent_policy
from components.settings import AwsSettings, BackupSettings
from components.specs import ContainerSpec

OPS_CONTAINER = "ops"


@dataclass(frozen=True)
class AwsBackupsArgs:
    settings: BackupSettings
    aws: AwsSettings
    name_prefix: str
    ops_image: pulumi.Input[str]
    ops_repository_arn: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    database_url_arn: pulumi.Input[str]


class AwsBackups(pulumi.ComponentResource):
    bucket: BackupBucket
    task: FargateTask
    schedule: aws.scheduler.Schedule

    def __init__(
        self, name: str, args: AwsBackupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:Backups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        b, a = args.settings, args.aws
        self.bucket = BackupBucket(
            "backup-bucket",
            BackupBucketArgs(settings=b, protect=a.deletion_protection, create_credentials=False),
            child,
        )
        bucket_statements: pulumi.Output[list[dict[str, Any]]] = self.bucket.arn.apply(
            lambda arn: list(json.loads(agent_policy(arn))["Statement"])
        )
        self.task = FargateTask(
            "backup-task",
            FargateTaskArgs(
                family=f"{args.name_prefix}-backup",
                role="backup",
                container=ContainerSpec(
                    name=OPS_CONTAINER,
                    image=args.ops_image,
                    command=["lifecycle.backup", "now", "--json"],
                    environment={
                        "S3_BUCKET": b.bucket_name,
                        "S3_REGION": b.region,
                        "BACKUP_RETENTION_DAYS": str(b.retention_days),
                        "BACKUP_KEEP_MIN": str(b.keep_min),
                        "TZ": b.timezone,
                    },
                    secrets={"DATABASE_URL": args.database_url_arn},
                ),
                cpu=a.ops_cpu,
                memory_mb=b.memory_mb,
                cpu_architecture="X86_64",
                region=a.region,
                log_retention_days=a.log_retention_days,
                repository_arn=args.ops_repository_arn,
                task_policy_statements=bucket_statements,
            ),
            child,
        )
        roles = [self.task.execution_role.arn]
        if self.task.task_role is not None:
            roles.append(self.task.task_role.arn)
        scheduler_role = role_with_policy(
            "scheduler",
            f"{args.name_prefix[:24]}-backup-sched-",  # IAM name_prefix: at most 38
            "scheduler.amazonaws.com",
            pulumi.Output.all(
                self.task.definition.arn_without_revision, args.cluster_arn, *roles
            ).apply(lambda v: run_task_policy(v[0], v[1], v[2:])),
            child,
        )
        self.schedule = aws.scheduler.Schedule(
            "nightly",
            name=f"{args.name_prefix}-backup",
            description=f"lifecycle.backup now, {b.schedule} ({b.timezone})",
            schedule_expression=a.backup_schedule_expression,
            schedule_expression_timezone=b.timezone,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=args.cluster_arn,
                role_arn=scheduler_role.arn,
                ecs_parameters=aws.scheduler.ScheduleTargetEcsParametersArgs(
                    task_definition_arn=self.task.definition.arn,
                    launch_type="FARGATE",
                    task_count=1,
                    network_configuration=(
                        aws.scheduler.ScheduleTargetEcsParametersNetworkConfigurationArgs(
                            subnets=list(args.subnet_ids),
                            security_groups=[args.security_group_id],
                            assign_public_ip=False,
                        )
                    ),
                ),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600
                ),
            ),
            opts=child,
        )
        self.register_outputs({"bucket": self.bucket.name, "schedule": self.schedule.name})


def run_task_policy(family_arn: str, cluster_arn: str, role_arns: Sequence[str]) -> dict[str, Any]:
    """EventBridge Scheduler may start this task family in this cluster, and nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ecs:RunTask",
                "Resource": f"{family_arn}:*",
                "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": sorted(role_arns),
                "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
        ],
    }
