"""ElastiCache for Valkey: private, encrypted in transit and at rest, AUTH required.

Valkey is the open-source Redis fork ElastiCache now leads with (same protocol, lower
price); the app's REDIS_URL scheme becomes `rediss://` (TLS). The AUTH token is
redisPassword (config secret or generated, alphanumeric, as ElastiCache's 16-128
printable-characters rule allows). Two or more nodes add a replica in another zone with
automatic failover. Reachable only from the app's security group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.rules import fit_name
from components.settings import AwsSettings

PORT = 6379
ENGINE_VERSION = "8.0"


@dataclass(frozen=True)
class AwsCacheArgs:
    aws: AwsSettings
    name_prefix: str
    auth_token: pulumi.Output[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]


class AwsCache(pulumi.ComponentResource):
    group: aws.elasticache.ReplicationGroup
    url: pulumi.Output[str]
    """Secret `rediss://:<token>@<primary endpoint>:6379/0`."""

    def __init__(
        self, name: str, args: AwsCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        a = args.aws
        subnets = aws.elasticache.SubnetGroup(
            "subnets",
            name=f"{args.name_prefix}-cache",
            subnet_ids=list(args.subnet_ids),
            opts=child,
        )
        replicated = a.cache_nodes > 1
        self.group = aws.elasticache.ReplicationGroup(
            "valkey",
            replication_group_id=fit_name(f"{args.name_prefix}-cache", 40),
            description="EscalaFin cache (sessions, rate limits)",
            engine="valkey",
            engine_version=ENGINE_VERSION,
            node_type=a.cache_node_type,
            num_cache_clusters=a.cache_nodes,
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            port=PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[args.security_group_id],
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=pulumi.Output.secret(args.auth_token),
            snapshot_retention_limit=1 if a.deletion_protection else 0,
            apply_immediately=not a.deletion_protection,
            opts=child,
        )
        self.url = pulumi.Output.secret(
            pulumi.Output.concat(
                "rediss://:",
                args.auth_token,
                "@",
                self.group.primary_endpoint_address,
                ":",
                str(PORT),
                "/0",
            )
        )
        self.register_outputs({"endpoint": self.group.primary_endpoint_address})
