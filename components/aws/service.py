"""The app on ECS Fargate: desired count from config, rolling deploys that roll themselves back.

- Tasks run in the private subnets without public IPs, behind the ALB's target group.
- Rolling deploy: new tasks start beside the old ones (maximum 200 %), old ones stop only
  once the new are healthy (minimum 100 %): no capacity drop, no dropped request (the
  target group drains for 30 s).
- The deployment circuit breaker with rollback: a deploy whose tasks keep failing their
  health checks is stopped and the previous task definition (previous image digest)
  restored by ECS itself. `wait_for_steady_state` makes `pulumi up` wait for the outcome,
  so a rolled-back deploy fails the `up` instead of reporting success.
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
        self.register_outputs({"service": self.service.name})
