"""The policy pack's aws-ecs checks: compliant and violating props, then the real program.

The last tests run every AWS check over the resources the aws-ecs program declares (the
example stack, as prod and as dev), with Secret markers where the program sent secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from pulumi_policy import Secret
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policy import aws
from tests.support.targets import run_aws
from tests.unit.test_policies import as_props

pytestmark = pytest.mark.unit

SAFE_DB = {
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "final",
    "backupRetentionPeriod": 14,
}


def task(environment: list[dict[str, str]], command: list[str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "environment": environment, "secrets": []}
    if command is not None:
        container["command"] = command
    return {"containerDefinitions": json.dumps([container])}


def test_private_encrypted_protected_database_passes() -> None:
    assert aws.rds_exposed(SAFE_DB) == []
    assert aws.rds_unprotected(SAFE_DB) == []


@pytest.mark.parametrize(
    ("change", "check", "says"),
    [
        ({"publiclyAccessible": True}, aws.rds_exposed, "publicly accessible"),
        ({"storageEncrypted": False}, aws.rds_exposed, "not encrypted"),
        ({"deletionProtection": False}, aws.rds_unprotected, "deletion protection"),
        ({"skipFinalSnapshot": True}, aws.rds_unprotected, "final snapshot"),
        ({"backupRetentionPeriod": 0}, aws.rds_unprotected, "automated backups are off"),
    ],
)
def test_database_violations_are_named(
    change: dict[str, Any], check: Callable[[Any], list[str]], says: str
) -> None:
    [message] = check({**SAFE_DB, **change})
    assert says in message


def test_cache_needs_tls_rest_encryption_and_auth() -> None:
    good = {
        "transitEncryptionEnabled": True,
        "atRestEncryptionEnabled": True,
        "authToken": Secret("t"),
    }
    assert aws.cache_unencrypted(good) == []
    assert len(aws.cache_unencrypted({})) == 3


def test_task_definition_secrets_must_not_be_plain_environment() -> None:
    assert (
        aws.task_definition_plaintext_secrets(task([{"name": "NODE_ENV", "value": "production"}]))
        == []
    )
    [message] = aws.task_definition_plaintext_secrets(
        task([{"name": "NEXTAUTH_SECRET", "value": "s3cr3t-value"}])
    )
    assert "NEXTAUTH_SECRET" in message and "s3cr3t-value" not in message
    [url] = aws.task_definition_plaintext_secrets(
        task([{"name": "DATABASE_URL", "value": "postgresql://u:pw@db:5432/x"}])
    )
    assert "DATABASE_URL" in url
    [arg] = aws.task_definition_plaintext_secrets(task([], ["redis-server", "--requirepass", "pw"]))
    assert "--requirepass" in arg


def test_world_ingress_only_on_web_ports() -> None:
    assert (
        aws.ingress_open_to_world({"fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}) == []
    )
    assert (
        aws.ingress_open_to_world(
            {"fromPort": 5432, "toPort": 5432, "referencedSecurityGroupId": "sg-1"}
        )
        == []
    )
    [message] = aws.ingress_open_to_world(
        {"fromPort": 5432, "toPort": 5432, "cidrIpv4": "0.0.0.0/0"}
    )
    assert "5432-5432 open to the internet" in message
    inline = {"ingress": [{"fromPort": 0, "toPort": 65535, "cidrBlocks": ["0.0.0.0/0"]}]}
    assert len(aws.ingress_open_to_world(inline)) == 1


def test_service_public_ip_and_log_retention() -> None:
    assert aws.service_public_ip({"networkConfiguration": {"assignPublicIp": False}}) == []
    assert len(aws.service_public_ip({"networkConfiguration": {"assignPublicIp": True}})) == 1
    assert aws.log_group_without_retention({"retentionInDays": 30}) == []
    assert len(aws.log_group_without_retention({})) == 1


def test_unknown_values_are_not_judged_during_preview() -> None:
    props = unknown_checking_proxy(
        {
            "containerDefinitions": UNKNOWN_STRING_VALUE,
            "storageEncrypted": UNKNOWN_STRING_VALUE,
            "retentionInDays": UNKNOWN_STRING_VALUE,
            "transitEncryptionEnabled": UNKNOWN_STRING_VALUE,
            "atRestEncryptionEnabled": UNKNOWN_STRING_VALUE,
            "authToken": UNKNOWN_STRING_VALUE,
        }
    )
    for check in (
        aws.task_definition_plaintext_secrets,
        aws.rds_exposed,
        aws.log_group_without_retention,
        aws.cache_unencrypted,
    ):
        assert check(props) == []


CHECKS: dict[str, Callable[[Any], list[str]]] = {
    aws.RDS_INSTANCE: aws.rds_exposed,
    aws.REPLICATION_GROUP: aws.cache_unencrypted,
    aws.TASK_DEFINITION: aws.task_definition_plaintext_secrets,
    aws.ECS_SERVICE: aws.service_public_ip,
    aws.INGRESS_RULE: aws.ingress_open_to_world,
    aws.SECURITY_GROUP: aws.ingress_open_to_world,
    aws.LOG_GROUP: aws.log_group_without_retention,
}


@cache
def findings(environment: str) -> dict[str, list[str]]:
    run = run_aws(environment)
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    for r in run.resources:
        if r.type in CHECKS:
            seen.add(r.type)
            found[f"{r.type} {r.name}"] = CHECKS[r.type](as_props(r))
        if r.type == aws.RDS_INSTANCE and environment == "prod":  # prod-config.json
            found[f"{r.type} {r.name} protection"] = aws.rds_unprotected(as_props(r))
    assert seen == set(CHECKS), "every checked type occurs in the program"
    return found


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_aws_program_complies(environment: str) -> None:
    assert {k: v for k, v in findings(environment).items() if v} == {}


def test_dev_database_would_fail_the_prod_protection_policy() -> None:
    run = run_aws("dev")
    [db] = run.of_type(aws.RDS_INSTANCE)
    assert aws.rds_unprotected(as_props(db))
