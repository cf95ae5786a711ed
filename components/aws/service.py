"""The app on ECS Fargate: desired count from config, rolling deploys that roll themselves back.

- Tasks run in the private subnets without public IPs, behind the ALB's target group.
- Rolling deploy: new tasks start beside the old ones (maximum 200 %), old ones stop only
  once the new are healthy (minimum 100 %): no capacity drop, no dropped request (the
  target group drains for 30 s).
- The deployment circuit breaker with rollback: a deploy whose tasks keep failing their
  health checks is stopped and the previous task definition (previous image digest)
  restored by ECS itself. `wait_for_steady_state` makes `pulumi up` wait for the outcome —
  but a rolled-back service is steady too, and the provider then reports success
  (hashicorp/terraform-provider-aws#20858, open; terraform-aws-modules/terraform-aws-ecs#325).
  So the service's task definition as read back after the wait must be the one requested
  (`rolled_forward`, registered as a component output, so a mismatch fails the `up`) — the
  check the Terraform community uses as a lifecycle postcondition.
- The service is declared after the migrations and the seed (depends_on): a new image only
  reaches users once its migrations have been applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.rules import duration_seconds
from components.aws.task import FargateTask


@dataclass(frozen=True)
class AwsAppServiceArgs:
    name_prefix: str
    cluster_arn: pulumi.Input[str]
    task: FargateTask
    desired_count: int
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    app_port: int
    start_period: str
    depends_on: Sequence[pulumi.Resource] = ()


class AwsAppService(pulumi.ComponentResource):
    service: aws.ecs.Service
    deployed: pulumi.Output[str]
    """The task definition the service runs after `up` — the requested one, or `up` fails."""

    def __init__(
        self, name: str, args: AwsAppServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:AppService", name, None, opts)
        self.service = aws.ecs.Service(
            "app",
            name=f"{args.name_prefix}-app",
            cluster=args.cluster_arn,
            task_definition=args.task.definition.arn,
            desired_count=args.desired_count,
            launch_type="FARGATE",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids),
                security_groups=[args.security_group_id],
                assign_public_ip=False,
            ),
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=args.target_group_arn,
                    container_name=args.task.container_name,
                    container_port=args.app_port,
                )
            ],
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            health_check_grace_period_seconds=duration_seconds(args.start_period),
            enable_execute_command=False,
            propagate_tags="SERVICE",
            wait_for_steady_state=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.deployed = pulumi.Output.all(
            self.service.task_definition, args.task.definition.arn
        ).apply(lambda v: rolled_forward(v[0], v[1]))
        self.register_outputs({"service": self.service.name, "taskDefinition": self.deployed})


class RolledBack(RuntimeError):
    """ECS rolled the deployment back: the service runs an older task definition."""


def rolled_forward(running: str, requested: str) -> str:
    """`requested` when the service runs it; RolledBack otherwise (circuit breaker)."""
    if running != requested:
        raise RolledBack(
            f"the ECS deployment of {requested} was rolled back by the circuit breaker: the "
            f"service still runs {running}. Its events and the app's logs say why "
            "(aws ecs describe-services ...); the next `pulumi up` deploys again."
        )
    return requested
