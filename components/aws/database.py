"""RDS PostgreSQL: encrypted, private, backed up with point-in-time recovery.

- In the private subnets only, `publicly_accessible=False`, reachable only from the app's
  and the ops tasks' security groups (security_groups.py).
- Storage encrypted (the account's aws/rds KMS key), gp3, autoscaling up to a ceiling.
- Automated backups kept `backupRetentionDays` (RDS allows 1-35; that window is also the
  point-in-time-recovery window), copied tags, a final snapshot and deletion protection in
  prod, Multi-AZ standby in prod (config), minor versions upgraded in the maintenance window.
- TLS required (`rds.force_ssl=1` in our parameter group, plus any parameters from config);
  the DSN says `sslmode=require`, which libpq (lifecycle) and Prisma both honour.
- The master password is ours (config secret or generated), so the same DSN shape serves
  the app (DATABASE_URL via Secrets Manager) and the lifecycle; it is a Pulumi secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import AwsSettings, DatabaseSettings

PORT = 5432
BACKUP_WINDOW = "03:00-03:30"  # UTC; before the maintenance window, never overlapping it
MAINTENANCE_WINDOW = "sun:04:00-sun:04:30"


@dataclass(frozen=True)
class AwsDatabaseArgs:
    settings: DatabaseSettings
    aws: AwsSettings
    name_prefix: str
    password: pulumi.Output[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]


class AwsDatabase(pulumi.ComponentResource):
    instance: aws.rds.Instance
    url: pulumi.Output[str]
    """Secret DSN (`postgresql://user:pw@host:5432/db?sslmode=require`)."""
    identity: pulumi.Output[str]
    """Changes when the database itself is new (instance replaced): the seed is re-checked."""

    def __init__(
        self, name: str, args: AwsDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s, a = args.settings, args.aws
        subnets = aws.rds.SubnetGroup(
            "subnets", name=f"{args.name_prefix}-db", subnet_ids=list(args.subnet_ids), opts=child
        )
        parameters = {**a.db_parameters, "rds.force_ssl": "1"}
        group = aws.rds.ParameterGroup(
            "parameters",
            name_prefix=f"{args.name_prefix}-pg{s.major}-",
            family=f"postgres{s.major}",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(
                    name=key, value=value, apply_method="pending-reboot"
                )
                for key, value in sorted(parameters.items())
            ],
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["family"]),
        )
        prod = a.deletion_protection
        self.instance = aws.rds.Instance(
            "postgres",
            identifier=f"{args.name_prefix}-postgres",
            engine="postgres",
            engine_version=str(s.major),
            instance_class=a.db_instance_class,
            allocated_storage=a.db_allocated_storage_gb,
            max_allocated_storage=a.db_max_allocated_storage_gb or None,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=s.name,
            username=s.user,
            password=pulumi.Output.secret(args.password),
            port=PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[args.security_group_id],
            parameter_group_name=group.name,
            publicly_accessible=False,
            multi_az=a.db_multi_az,
            backup_retention_period=a.db_backup_retention_days,
            backup_window=BACKUP_WINDOW,
            maintenance_window=MAINTENANCE_WINDOW,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not prod,
            deletion_protection=prod,
            skip_final_snapshot=not prod,
            final_snapshot_identifier=f"{args.name_prefix}-postgres-final" if prod else None,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            apply_immediately=not prod,
            performance_insights_enabled=False,
            opts=pulumi.ResourceOptions(parent=self, protect=prod),
        )
        self.url = pulumi.Output.secret(
            pulumi.Output.concat(
                "postgresql://",
                s.user,
                ":",
                args.password,
                "@",
                self.instance.address,
                ":",
                str(PORT),
                "/",
                s.name,
                "?sslmode=require",
            )
        )
        self.identity = self.instance.resource_id
        self.register_outputs({"address": self.instance.address})
