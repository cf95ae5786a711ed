"""The CrossGuard policies: thin adapters from pulumi-policy's args to the pure checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import aws, containers, storage

Check = Callable[[Any], list[str]]
MANDATORY = EnforcementLevel.MANDATORY


def _typed_policy(
    name: str, description: str, types: frozenset[str], check: Check
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in types:
            for message in check(args.props):
                report(message, None)

    return ResourceValidationPolicy(name, description, validate, MANDATORY)


def _container_policy(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    return _typed_policy(name, description, frozenset({storage.CONTAINER}), check)


def _validate_rds_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == aws.RDS_INSTANCE and args.get_config().get("requireProtection"):
        for message in aws.rds_unprotected(args.props):
            report(message, None)


def to_res(r: PolicyResource) -> storage.Res:
    return storage.Res(
        type=r.resource_type,
        urn=r.urn,
        props=r.props,
        dependencies=[d.urn for d in r.dependencies],
        protect=bool(r.opts.protect),
        provider_props=r.provider.props if r.provider else None,
    )


def _validate_volumes(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    require_protect = bool(config.get("requireProtect", False))
    resources = [to_res(r) for r in args.resources]
    for urn, message in storage.unretained_data(resources, require_protect=require_protect):
        report(message, urn)


def _validate_buckets(args: StackValidationArgs, report: ReportViolation) -> None:
    for urn, message in storage.unhardened_buckets([to_res(r) for r in args.resources]):
        report(message, urn)


POLICIES: list[Policy] = [
    _container_policy(
        "container-healthcheck",
        "Every container has a healthcheck.",
        containers.missing_healthcheck,
    ),
    _container_policy(
        "data-ports-loopback-only",
        "No database or cache port is published beyond 127.0.0.1/::1.",
        containers.data_port_beyond_loopback,
    ),
    _container_policy(
        "only-ingress-beyond-loopback",
        "Only the ingress publishes ports beyond 127.0.0.1/::1.",
        containers.port_beyond_loopback_outside_ingress,
    ),
    _container_policy(
        "app-publishes-no-port",
        "The app containers publish no port; the ingress reaches them.",
        containers.app_publishes_ports,
    ),
    _container_policy(
        "app-not-root",
        "The app container runs as a non-root user.",
        containers.app_runs_as_root,
    ),
    _container_policy(
        "no-plaintext-secrets",
        "Secret-looking env vars, command arguments and credentialed URLs are Pulumi secrets.",
        containers.plaintext_secrets,
    ),
    StackValidationPolicy(
        "data-volumes-retained",
        "Data lives in declared docker.Volumes (protected where requireProtect is set).",
        _validate_volumes,
        MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={"requireProtect": {"type": "boolean", "default": False}}
        ),
    ),
    StackValidationPolicy(
        "backup-bucket-hardened",
        "S3 buckets are versioned, encrypted, private and TLS-only.",
        _validate_buckets,
        MANDATORY,
    ),
    # --- target aws-ecs
    _typed_policy(
        "rds-private-encrypted",
        "RDS instances are not publicly accessible and their storage is encrypted.",
        frozenset({aws.RDS_INSTANCE}),
        aws.rds_exposed,
    ),
    ResourceValidationPolicy(
        "rds-protected",
        "Where requireProtection is set (prod): deletion protection, final snapshot, backups.",
        _validate_rds_protection,
        MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={"requireProtection": {"type": "boolean", "default": False}}
        ),
    ),
    _typed_policy(
        "cache-encrypted-authenticated",
        "ElastiCache encrypts in transit and at rest and requires an AUTH token.",
        frozenset({aws.REPLICATION_GROUP}),
        aws.cache_unencrypted,
    ),
    _typed_policy(
        "task-secrets-not-plaintext",
        "Task definitions pass secrets as ECS secrets, never in plain environment or command.",
        frozenset({aws.TASK_DEFINITION}),
        aws.task_definition_plaintext_secrets,
    ),
    _typed_policy(
        "tasks-without-public-ip",
        "ECS services run tasks without public IPs.",
        frozenset({aws.ECS_SERVICE}),
        aws.service_public_ip,
    ),
    _typed_policy(
        "ingress-web-ports-only",
        "Only ports 80 and 443 are open to the internet.",
        frozenset({aws.INGRESS_RULE, aws.SECURITY_GROUP}),
        aws.ingress_open_to_world,
    ),
    _typed_policy(
        "log-retention",
        "CloudWatch log groups have a retention.",
        frozenset({aws.LOG_GROUP}),
        aws.log_group_without_retention,
    ),
]
