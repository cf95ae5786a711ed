"""Security groups of least privilege: who may talk to whom, and on which port only.

    internet ─80/443─▶ alb ─appPort─▶ app ─5432─▶ database ◀─5432─ ops (migrations, seed, backups)
                                       └─6379─▶ cache
    app, ops ─443 (+ integration ports)─▶ anywhere: AWS APIs through the NAT, S3 through its
    gateway endpoint, the app's integrations (Openpay, SMTP, WhatsApp, Sentry)

Every rule is its own `aws.vpc.SecurityGroupIngressRule`/`EgressRule` resource (the form the
provider recommends; inline rules cannot reference each other's groups without a cycle).
The database and cache groups have no egress rule at all: the AWS provider removes the
default allow-all egress rule of every group it creates (terraform-provider-aws,
resource_security_group.go, "revoke the default egress rule"), and replies to allowed
ingress need none (groups are stateful). Traffic to the VPC's DNS resolver is not filtered
by security groups (VPC user guide, "Amazon DNS server"), so no port 53 rule is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws

from components.settings import Integration

POSTGRES_PORT = 5432
REDIS_PORT = 6379
HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"


def egress_ports(integrations: Sequence[Integration]) -> tuple[int, ...]:
    """443 plus whatever port a configured integration needs (SMTP_PORT, a URL's port)."""
    ports = {HTTPS_PORT}
    for integration in integrations:
        for name, value in integration.env.items():
            if name == "SMTP_PORT":
                ports.add(int(value))
            elif value.startswith(("http://", "https://")):
                parts = urlsplit(value)
                ports.add(parts.port or (HTTPS_PORT if parts.scheme == "https" else 80))
    return tuple(sorted(ports))


@dataclass(frozen=True)
class SecurityGroupsArgs:
    name_prefix: str
    vpc_id: pulumi.Input[str]
    app_port: int
    app_egress_ports: tuple[int, ...]


class SecurityGroups(pulumi.ComponentResource):
    alb: aws.ec2.SecurityGroup
    app: aws.ec2.SecurityGroup
    ops: aws.ec2.SecurityGroup
    database: aws.ec2.SecurityGroup
    cache: aws.ec2.SecurityGroup

    def __init__(
        self, name: str, args: SecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def group(role: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                role,
                name=f"{args.name_prefix}-{role}",
                description=description,
                vpc_id=args.vpc_id,
                tags={"Name": f"{args.name_prefix}-{role}"},
                opts=child,
            )

        self.alb = group("alb", "EscalaFin load balancer: HTTP(S) from anywhere")
        self.app = group("app", "EscalaFin app tasks: only from the load balancer")
        self.ops = group("ops", "EscalaFin ops tasks (migrations, seed, backups): no ingress")
        self.database = group("database", "EscalaFin RDS: PostgreSQL from app and ops only")
        self.cache = group("cache", "EscalaFin ElastiCache: Valkey from the app only")

        def allow(
            rule: str,
            group: aws.ec2.SecurityGroup,
            port: int,
            peer: aws.ec2.SecurityGroup | None = None,
            *,
            inbound: bool,
        ) -> None:
            """One TCP port from/to one peer group (None = anywhere)."""
            kind = aws.vpc.SecurityGroupIngressRule if inbound else aws.vpc.SecurityGroupEgressRule
            kind(
                rule,
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=peer.id if peer else None,
                cidr_ipv4=None if peer else ANYWHERE,
                description=rule,
                opts=child,
            )

        allow_in = partial(allow, inbound=True)
        allow_out = partial(allow, inbound=False)
        allow_in("alb-http-in", self.alb, 80)
        allow_in("alb-https-in", self.alb, HTTPS_PORT)
        allow_out("alb-to-app", self.alb, args.app_port, self.app)
        allow_in("app-from-alb", self.app, args.app_port, self.alb)
        allow_out("app-to-database", self.app, POSTGRES_PORT, self.database)
        allow_out("app-to-cache", self.app, REDIS_PORT, self.cache)
        for port in args.app_egress_ports:
            allow_out(f"app-egress-{port}", self.app, port)
        allow_out("ops-to-database", self.ops, POSTGRES_PORT, self.database)
        allow_out("ops-egress-443", self.ops, HTTPS_PORT)
        allow_in("database-from-app", self.database, POSTGRES_PORT, self.app)
        allow_in("database-from-ops", self.database, POSTGRES_PORT, self.ops)
        allow_in("cache-from-app", self.cache, REDIS_PORT, self.app)
        self.register_outputs({"app": self.app.id, "database": self.database.id})
