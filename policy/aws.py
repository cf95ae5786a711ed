"""Checks over the aws-ecs target's resources, one resource's props at a time.

Same shape as policy/containers.py: pure functions props -> violation messages (never a
secret value), values not known yet (preview) not judged. Task definitions reuse the
container checks: an ECS `environment` entry is judged exactly like a Docker env entry, so
a secret-looking name or a URL with credentials must be an ECS `secrets` entry instead.
"""

from __future__ import annotations

import json
from typing import Any

from policy.containers import plaintext_secrets
from policy.props import UNKNOWN, as_int, get, is_secret, items, reveal

RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
WORLD = frozenset({"0.0.0.0/0", "::/0"})
WEB_PORTS = frozenset({80, 443})


def rds_exposed(props: Any) -> list[str]:
    """An RDS instance is not publicly accessible and its storage is encrypted."""
    found: list[str] = []
    if get(props, "publiclyAccessible") is True:
        found.append("RDS instance is publicly accessible: set publicly_accessible=False")
    encrypted = get(props, "storageEncrypted")
    if encrypted is not UNKNOWN and encrypted is not True:
        found.append("RDS storage is not encrypted: set storage_encrypted=True")
    return found


def rds_unprotected(props: Any) -> list[str]:
    """Where required (prod): deletion protection, a final snapshot, automated backups."""
    found: list[str] = []
    if get(props, "deletionProtection") not in (True, UNKNOWN):
        found.append("RDS instance without deletion protection: set deletion_protection=True")
    if get(props, "skipFinalSnapshot") is True or not get(props, "finalSnapshotIdentifier"):
        found.append(
            "RDS instance would be deleted without a final snapshot: "
            "set skip_final_snapshot=False and a final_snapshot_identifier"
        )
    retention = get(props, "backupRetentionPeriod")
    if retention is not UNKNOWN and (as_int(retention) or 0) < 1:
        found.append("RDS automated backups are off: set backup_retention_period >= 1")
    return found


def cache_unencrypted(props: Any) -> list[str]:
    """ElastiCache: TLS in transit, encryption at rest, and an AUTH token."""
    found: list[str] = []
    for key, what in (
        ("transitEncryptionEnabled", "in-transit encryption (transit_encryption_enabled)"),
        ("atRestEncryptionEnabled", "at-rest encryption (at_rest_encryption_enabled)"),
    ):
        if get(props, key) not in (True, UNKNOWN):
            found.append(f"ElastiCache without {what}")
    if not get(props, "authToken"):
        found.append("ElastiCache without an AUTH token (auth_token, as a secret)")
    return found


def task_definition_plaintext_secrets(props: Any) -> list[str]:
    """No secret-looking value in a task definition's plain `environment` or `command`."""
    raw = get(props, "containerDefinitions")
    if raw is UNKNOWN or is_secret(raw):
        return []  # not known yet, or the whole document travels as a secret
    try:
        containers = json.loads(reveal(raw)) if isinstance(reveal(raw), str) else []
    except ValueError:
        return ["containerDefinitions is not valid JSON"]
    found: list[str] = []
    for container in containers if isinstance(containers, list) else []:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(container, dict):
            continue
        envs = [
            f"{e.get('name')}={e.get('value', '')}"
            for e in container.get("environment", [])  # pyright: ignore[reportUnknownVariableType,reportUnknownMemberType]
            if isinstance(e, dict)
        ]
        name = container.get("name", "?")  # pyright: ignore[reportUnknownMemberType,reportUnknownVariableType]
        for message in plaintext_secrets({"envs": envs, "command": container.get("command", [])}):  # pyright: ignore[reportUnknownMemberType]
            found.append(f"container {name}: {message} (use the task definition's secrets)")
    return found


def service_public_ip(props: Any) -> list[str]:
    """ECS tasks get no public IP: they live in private subnets behind the load balancer."""
    network = get(props, "networkConfiguration")
    if get(network, "assignPublicIp") is True:
        return ["ECS service assigns public IPs: set assign_public_ip=False (private subnets)"]
    return []


def _open_to_world(port_from: Any, port_to: Any, cidrs: list[Any]) -> str | None:
    low, high = as_int(port_from), as_int(port_to)
    if low is None or high is None or not any(c in WORLD for c in cidrs):
        return None
    if low == high and low in WEB_PORTS:
        return None
    return f"ports {low}-{high} open to the internet: only 80 and 443 may be (the load balancer)"


def ingress_open_to_world(props: Any) -> list[str]:
    """A rule resource, or inline rules of a group: only 80/443 from 0.0.0.0/0 or ::/0."""
    found: list[str] = []
    rule = _open_to_world(
        get(props, "fromPort"),
        get(props, "toPort"),
        [reveal(get(props, "cidrIpv4")), reveal(get(props, "cidrIpv6"))],
    )
    if rule:
        found.append(rule)
    for inline in items(get(props, "ingress", [])):
        if inline is UNKNOWN:
            continue
        cidrs = [reveal(c) for c in items(get(inline, "cidrBlocks", []))]
        cidrs += [reveal(c) for c in items(get(inline, "ipv6CidrBlocks", []))]
        message = _open_to_world(get(inline, "fromPort"), get(inline, "toPort"), cidrs)
        if message:
            found.append(message)
    return found


def log_group_without_retention(props: Any) -> list[str]:
    retention = get(props, "retentionInDays")
    if retention is UNKNOWN or (as_int(retention) or 0) > 0:
        return []
    return ["CloudWatch log group keeps logs forever: set retention_in_days"]
