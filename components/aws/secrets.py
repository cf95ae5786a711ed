"""Secrets Manager: one secret per value, injected into tasks as ECS `secrets`.

One secret per value (not one JSON document) because IAM grants GetSecretValue per secret:
the app's execution role can then read the app's secrets and nothing else, the seed task's
can read the seed passwords, and no role reads them all. Names are auto-suffixed by Pulumi
(`name_prefix`), so a destroyed stack's secrets, kept for their recovery window in prod,
never block the next `up`. The values are Pulumi secrets end to end (state, SecretVersion).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

PROD_RECOVERY_DAYS = 7


@dataclass(frozen=True)
class AwsSecretsArgs:
    name_prefix: str
    values: Mapping[str, pulumi.Output[str]]
    """Environment variable name → secret value."""
    keep_after_delete: bool


class AwsSecrets(pulumi.ComponentResource):
    arns: dict[str, pulumi.Output[str]]
    """Environment variable name → secret ARN (what task definitions reference)."""

    def __init__(
        self, name: str, args: AwsSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:Secrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.arns = {}
        for env_name, value in sorted(args.values.items()):
            slug = env_name.lower().replace("_", "-")
            secret = aws.secretsmanager.Secret(
                slug,
                name_prefix=f"{args.name_prefix}/{env_name}-",
                description=f"EscalaFin {env_name} (injected as an ECS secret)",
                recovery_window_in_days=PROD_RECOVERY_DAYS if args.keep_after_delete else 0,
                opts=child,
            )
            version = aws.secretsmanager.SecretVersion(
                slug,
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(value),
                opts=child,
            )
            # The secret's ARN, known only once the value is stored (the version's id): a task
            # that references it never starts before its secret has a value. (Not the
            # version's `secret_arn`: pulumi-aws 7.0, the floor, has only the older `arn`.)
            self.arns[env_name] = version.id.apply(lambda _, arn=secret.arn: arn)
        self.register_outputs({"names": sorted(self.arns)})

    def subset(self, *names: str) -> dict[str, pulumi.Output[str]]:
        return {name: self.arns[name] for name in names}
