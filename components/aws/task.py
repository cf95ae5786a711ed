"""One Fargate task definition with its log group and its two least-privilege roles.

Used for the app service, the one-off lifecycle tasks (migrations, seed) and the scheduled
backup, so every task gets the same guarantees:
- plain `environment` only for values that are not secret; every secret is an ECS `secrets`
  entry (`valueFrom` = a Secrets Manager ARN), resolved by ECS at start — never plaintext
  in the task definition, whose JSON anyone with ecs:DescribeTaskDefinition can read;
- the execution role may pull from this image's repository, write this task's log group
  and read exactly this task's secrets — nothing else (no AmazonECSTaskExecutionRolePolicy,
  whose ECR and Logs grants cover every repository and log group);
- the task role exists only when the task itself calls AWS (S3 for backups and job inputs);
- logs go to CloudWatch (awslogs) with the configured retention, stream prefix = role, so a
  task's stream is `<role>/<container>/<task id>` (what lifecycle.ecs_runner reads).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.rules import duration_seconds
from components.specs import ContainerSpec


@dataclass(frozen=True)
class FargateTaskArgs:
    family: str
    role: str
    """Short name: log stream prefix and role names (app, migrate, seed, backup)."""
    container: ContainerSpec
    cpu: int
    memory_mb: int
    cpu_architecture: str
    region: str
    log_retention_days: int
    repository_arn: pulumi.Input[str]
    task_policy_statements: pulumi.Input[list[dict[str, Any]]] | None = None


class FargateTask(pulumi.ComponentResource):
    definition: aws.ecs.TaskDefinition
    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role
    task_role: aws.iam.Role | None
    container_name: str
    log_stream_prefix: str

    def __init__(
        self, name: str, args: FargateTaskArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:FargateTask", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        c = args.container
        self.container_name = c.name
        self.log_stream_prefix = args.role
        self.log_group = aws.cloudwatch.LogGroup(
            "logs",
            name=f"/escalafin/{args.family}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.execution_role = aws.iam.Role(
            "execution",
            name_prefix=f"{args.family[:30]}-exec-",
            assume_role_policy=assume_role("ecs-tasks.amazonaws.com"),
            opts=child,
        )
        secret_arns = list(c.secrets.values())
        aws.iam.RolePolicy(
            "execution",
            role=self.execution_role.id,
            policy=pulumi.Output.all(args.repository_arn, self.log_group.arn, *secret_arns).apply(
                lambda v: json.dumps(execution_policy(v[0], v[1], v[2:]))
            ),
            opts=child,
        )
        self.task_role = None
        if args.task_policy_statements is not None:
            self.task_role = aws.iam.Role(
                "task",
                name_prefix=f"{args.family[:30]}-task-",
                assume_role_policy=assume_role("ecs-tasks.amazonaws.com"),
                opts=child,
            )
            aws.iam.RolePolicy(
                "task",
                role=self.task_role.id,
                policy=pulumi.Output.from_input(args.task_policy_statements).apply(
                    lambda statements: json.dumps(
                        {"Version": "2012-10-17", "Statement": statements}
                    )
                ),
                opts=child,
            )

        definition = pulumi.Output.all(
            c.image, self.log_group.name, pulumi.Output.all(**dict(c.secrets))
        ).apply(
            lambda v: json.dumps(
                [container_definition(c, image=v[0], log_group=v[1], secret_arns=v[2], args=args)]
            )
        )
        self.definition = aws.ecs.TaskDefinition(
            "definition",
            family=args.family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(args.cpu),
            memory=str(args.memory_mb),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=args.cpu_architecture
            ),
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn if self.task_role else None,
            container_definitions=definition,
            opts=child,
        )
        self.register_outputs({"taskDefinition": self.definition.arn})


def role_with_policy(
    name: str,
    name_prefix: str,
    service: str,
    policy: pulumi.Output[dict[str, Any]],
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """A role `service` may assume, with one inline policy (and nothing attached)."""
    role = aws.iam.Role(
        name, name_prefix=name_prefix, assume_role_policy=assume_role(service), opts=opts
    )
    aws.iam.RolePolicy(name, role=role.id, policy=policy.apply(json.dumps), opts=opts)
    return role


def assume_role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def execution_policy(
    repository_arn: str, log_group_arn: str, secret_arns: Sequence[str]
) -> dict[str, Any]:
    """Pull this image, write this log group, read these secrets."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            "Resource": repository_arn,
        },
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
    ]
    if secret_arns:
        statements.append(
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": sorted(secret_arns),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def container_definition(
    c: ContainerSpec,
    *,
    image: str,
    log_group: str,
    secret_arns: Mapping[str, str],
    args: FargateTaskArgs,
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": c.name,
        "image": image,
        "essential": True,
        "environment": [{"name": k, "value": v} for k, v in sorted(c.environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secret_arns.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": args.region,
                "awslogs-stream-prefix": args.role,
            },
        },
    }
    if c.command is not None:
        definition["command"] = list(c.command)
    if c.port is not None:
        definition["portMappings"] = [{"containerPort": c.port, "protocol": "tcp"}]
    if c.user is not None:
        definition["user"] = c.user
    if c.health is not None:
        h = c.health
        definition["healthCheck"] = {
            "command": list(h.command),
            "interval": duration_seconds(h.interval),
            "timeout": duration_seconds(h.timeout),
            "retries": h.retries,
            "startPeriod": duration_seconds(h.start_period),
        }
    return definition
