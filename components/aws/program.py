"""The aws-ecs program: what `__main__.py` runs when `escalafin:target` is aws-ecs.

Phase 1 of issue 16 keeps __main__.py (the docker-host program) untouched while other work
lands there; docs/targets.md describes the `Platform` seam through which __main__.py will
choose between `EscalaFin` and `EscalaFinAws`. Until then tests run this entry point
(tests/support/program.py picks it by the stack's target). The exports are EscalaFin's
contract outputs plus what only this target has.
"""

from __future__ import annotations

import pulumi

from components.aws.escalafin_aws import EscalaFinAws, EscalaFinAwsArgs
from components.settings import load


def main() -> None:
    settings = load()
    stack = EscalaFinAws("escalafin", EscalaFinAwsArgs(settings))
    pulumi.export("appUrl", stack.app_url)
    pulumi.export("healthUrl", stack.health_url)
    pulumi.export("monitoring", stack.monitoring)
    pulumi.export("imageDigest", stack.image_digest)
    pulumi.export("backupBucket", stack.backup_bucket)
    pulumi.export("loadBalancerDnsName", stack.load_balancer_dns_name)
    pulumi.export("appService", stack.app_service)
    pulumi.export("backupTaskDefinition", stack.backup_task_definition)
    for key, value in stack.generated_secrets.items():
        pulumi.export(key, pulumi.Output.secret(value))
