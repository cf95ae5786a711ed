"""Every deployment target as the contract suite sees it: how to run it, where its parts are.

A `TargetView` answers the contract's questions about one recorded run without the tests
knowing the target's resource types: which resource is the app's workload, which ones
carry its health check path, what runs backups on which schedule into which bucket. A new target
(components/platform.py) adds an entry to `TARGETS`; the suite is parametrised over them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.program import ProgramRun, Resource, run_program

AWS_STACK = "aws-prod"
MIGRATIONS = "pulumi-python:dynamic/escalafin:DatabaseMigrations"
SEED = "pulumi-python:dynamic/escalafin:ConditionalSeed"
PASSWORD = "random:index/randomPassword:RandomPassword"
CONTAINER = "docker:index/container:Container"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
SCHEDULE = "aws:scheduler/schedule:Schedule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"


def run_aws(
    environment: str = "prod",
    overrides: Mapping[str, str | None] | None = None,
    *,
    secrets: Mapping[str, str] | None = None,
) -> ProgramRun:
    """The aws-ecs example stack (Pulumi.aws-prod.yaml), as prod or as dev."""
    base: dict[str, str | None] = {"escalafin:environment": environment}
    if environment == "dev":  # let the dev defaults speak (no Multi-AZ, one task, one node)
        base |= dict.fromkeys(
            (
                "escalafin:awsDbMultiAz",
                "escalafin:awsCacheNodes",
                "escalafin:appReplicas",
            )
        )
    return run_program(AWS_STACK, {**base, **(overrides or {})}, secrets=secrets)


def task_containers(run: ProgramRun) -> dict[str, dict[str, Any]]:
    """Task definition family → its (single) container definition."""
    return {
        td.inputs["family"]: json.loads(td.inputs["containerDefinitions"])[0]
        for td in run.of_type(TASK_DEFINITION)
    }


def env_of_task(container: Mapping[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def depends_on(run: ProgramRun, resource: Resource) -> set[str]:
    """URNs `resource` waits for, transitively (dependencies and their dependencies)."""
    by_urn = {r.urn: r for r in run.resources}
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        if urn in by_urn:
            todo.extend(by_urn[urn].dependencies)
    return seen


def secret_values(run: ProgramRun) -> set[str]:
    """Every secret the run holds: generated passwords and secret config values."""
    values = {r.outputs["result"] for r in run.of_type(PASSWORD)}
    values |= {v for v in run.config.values() if v.startswith("placeholder-")}
    return {v for v in values if len(v) >= 8}


def occurrences(value: Any, needle: str, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path] if needle in value else []
    if isinstance(value, dict):
        return [
            p
            for k, v in value.items()  # pyright: ignore[reportUnknownVariableType]
            for p in occurrences(v, needle, f"{path}.{k}" if path else str(k))  # pyright: ignore[reportUnknownArgumentType]
        ]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in occurrences(v, needle, f"{path}[{i}]")]  # pyright: ignore[reportUnknownVariableType,reportUnknownArgumentType]
    return []


def plaintext_leaks(run: ProgramRun) -> list[str]:
    """Where a secret value sits in a resource's inputs or an output outside a Pulumi secret."""
    secrets = secret_values(run)
    leaks = [
        f"{r.type} {r.name}: {path}"
        for r in run.resources
        if r.type != PASSWORD
        for secret in secrets
        for path in occurrences(r.inputs, secret)
        if not r.is_secret(path)
    ]
    leaks += [
        f"output {name}"
        for name, value in run.outputs.items()
        if name not in run.secret_outputs and any(occurrences(value, s) for s in secrets)
    ]
    leaks += [
        f"generated {r.name} not a secret output"
        for r in run.of_type(PASSWORD)
        if r.name not in run.secret_outputs
    ]
    return leaks


@dataclass(frozen=True)
class Backups:
    schedule: str
    """The cron expression as the target's scheduler reads it."""
    bucket_env: str
    """S3_BUCKET as the backup job sees it (must be the backupBucket output)."""
    job: Resource


@dataclass(frozen=True)
class TargetView:
    name: str
    run: Callable[[], ProgramRun]
    app: Callable[[ProgramRun], Resource]
    """The resource whose change reaches users (container, ECS service)."""
    health_paths: Callable[[ProgramRun], list[str]]
    """Every health check path or command the target's own checks use."""
    backups: Callable[[ProgramRun], Backups]
    extras: frozenset[str]
    """The outputs only this target exports, beside the contract and generated secrets."""


def _docker_backups(run: ProgramRun) -> Backups:
    agent = run.one(CONTAINER, "backup-agent")
    env = dict(e.split("=", 1) for e in agent.inputs.get("envs", []))
    return Backups(env["BACKUP_SCHEDULE"], env["S3_BUCKET"], agent)


def _docker_health(run: ProgramRun) -> list[str]:
    return [" ".join(run.one(CONTAINER, "app").inputs["healthcheck"]["tests"])]


def _aws_backups(run: ProgramRun) -> Backups:
    [schedule] = run.of_type(SCHEDULE)
    family = schedule.inputs["target"]["ecsParameters"]["taskDefinitionArn"].rsplit("/", 1)[-1]
    container = task_containers(run)[family.split(":")[0]]
    return Backups(
        schedule.inputs["scheduleExpression"], env_of_task(container)["S3_BUCKET"], schedule
    )


def _aws_health(run: ProgramRun) -> list[str]:
    [group] = run.of_type(TARGET_GROUP)
    app = next(c for f, c in task_containers(run).items() if f.endswith("-app"))
    return [group.inputs["healthCheck"]["path"], " ".join(app["healthCheck"]["command"])]


def _docker(stack: str) -> TargetView:
    return TargetView(
        f"docker-host-{stack}",
        lambda: run_program(stack),
        lambda run: run.one(CONTAINER, "app"),
        _docker_health,
        _docker_backups,
        frozenset(
            (
                "backupAgentContainer",
                "appContainer",
                "appContainers",
                "databaseContainer",
                "backupMonitoring",
                "databaseAdminEndpoint",
            )
        ),
    )


def _aws(environment: str) -> TargetView:
    return TargetView(
        f"aws-ecs-{environment}",
        lambda: run_aws(environment),
        lambda run: run.one(SERVICE, "app"),
        _aws_health,
        _aws_backups,
        frozenset(("loadBalancerDnsName", "appService", "backupTaskDefinition")),
    )


TARGETS: tuple[TargetView, ...] = (_docker("dev"), _docker("prod"), _aws("prod"), _aws("dev"))

CRON_DAILY_2AM = re.compile(r"^(0 2 \* \* \*|cron\(0 2 \* \* \? \*\))$")
