"""EscalaFin: `pulumi up --stack dev|prod` on a Docker host, `--stack aws-prod` on AWS.

config ─▶ settings ─▶ target (escalafin:target) ─▶ one composition:
  docker-host  EscalaFin:    networks · images · postgres · redis · migrations → seed
                             · app replicas · ingress (Caddy) · backup agent + bucket
  aws-ecs      EscalaFinAws: VPC · ECR images · RDS · Valkey · Secrets Manager
                             · migrations → seed (ECS tasks) · ECS service · ALB · backups
─▶ the contract outputs every target exports, then the target's own.
"""

from components import platform
from components.settings import load

stack = platform.deploy("escalafin", platform.EscalaFinArgs(load()))
platform.export(stack)
