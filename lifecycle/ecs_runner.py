"""The `ecs` runner mode: a lifecycle command as a one-off ECS Fargate task of the ops image.

Called by lifecycle.jobs (so by the DatabaseMigrations / ConditionalSeed dynamic providers)
on the machine running `pulumi`, with that machine's AWS credentials:

1. stage the job's input archive (migrations folder or seed file, the same tar the
   in-network mode copies in) at s3://<bundle_bucket>/<bundle_prefix><sha256>.tar;
2. `RunTask` the ops task definition on Fargate in the private subnets, without a public
   IP, the command overridden to `lifecycle.job_bundle <s3 uri> <sha256> <command...>`
   (the task fetches, verifies and unpacks the archive, then runs the command);
3. wait until the task is STOPPED (boto3's `tasks_stopped` waiter), stopping it and failing
   after `timeout_s`;
4. read the container's exit code (absent when the task never ran: image pull or secret
   retrieval failed, reported with ECS's stopCode/stoppedReason) and its CloudWatch log
   stream (awslogs naming `<prefix>/<container>/<task id>`), whose last JSON line is the
   command's result, and whose tail goes into the error when it failed;
5. delete the staged archive.

Secrets: nothing secret is sent. DATABASE_URL and the seed passwords reach the task as ECS
`secrets` of its task definition (Secrets Manager); RunTask overrides are visible to anyone
allowed DescribeTasks and are recorded by CloudTrail, so they carry only the command.

AWS API facts relied on (botocore's service models, ecs/2014-11-13): RunTask returns
`tasks` and `failures` (reason, detail, arn); DescribeTasks gives `lastStatus`, `stopCode`
(TaskFailedToStart, EssentialContainerExited, UserInitiated, ...), `stoppedReason` and per
container `exitCode` and `reason`; the `tasks_stopped` waiter polls DescribeTasks until
every task's lastStatus is STOPPED (ecs/2014-11-13/waiters-2.json).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from lifecycle.jobs import EcsTarget, JobError, job_result, last_json

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("lifecycle.ecs_runner")

POLL_S: Final = 6.0
"""DescribeTasks interval while waiting (the waiter's own default)."""
LOG_SETTLE_ATTEMPTS: Final = 5
"""CloudWatch Logs is eventually consistent: re-read a successful job's stream this many
times (POLL_S apart) before concluding that it printed no result line."""
TAIL_LINES: Final = 20
STARTED_BY: Final = "escalafin-lifecycle"
EXIT_UNAVAILABLE: Final = 4  # lifecycle.cli.EXIT_UNAVAILABLE, without importing psycopg here


class Clients:
    """The three AWS clients a job needs, in the target's region."""

    def __init__(self, region: str) -> None:
        session = boto3.Session(region_name=region)
        self.ecs: ECSClient = session.client("ecs")  # pyright: ignore[reportUnknownMemberType]
        self.logs: CloudWatchLogsClient = session.client("logs")  # pyright: ignore[reportUnknownMemberType]
        self.s3: S3Client = session.client("s3")  # pyright: ignore[reportUnknownMemberType]


def bundle_key(target: EcsTarget, sha256: str) -> str:
    return f"{target.bundle_prefix}{sha256}.tar"


def task_command(target: EcsTarget, sha256: str, command: list[str]) -> list[str]:
    """What the ops container runs: fetch and verify the archive, then the command."""
    uri = f"s3://{target.bundle_bucket}/{bundle_key(target, sha256)}"
    return ["lifecycle.job_bundle", uri, sha256, *command]


def log_stream(target: EcsTarget, task_arn: str) -> str:
    return f"{target.log_stream_prefix}/{target.container}/{task_arn.rsplit('/', 1)[-1]}"


def run(
    target: EcsTarget,
    command: list[str],
    archive: bytes,
    ok_codes: tuple[int, ...],
    *,
    timeout_s: float,
    poll_s: float = POLL_S,
    clients: Clients | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Run `command` as an ECS task; its JSON summary, or JobError saying what went wrong."""
    started = time.monotonic()
    aws = clients or Clients(target.region)
    sha256 = hashlib.sha256(archive).hexdigest()
    key = bundle_key(target, sha256)
    try:
        aws.s3.put_object(
            Bucket=target.bundle_bucket, Key=key, Body=archive, ChecksumAlgorithm="SHA256"
        )
        task_arn = _start(aws.ecs, target, task_command(target, sha256, command), command[0])
        log.info("%s task %s started (%d byte input)", command[0], task_arn, len(archive))
        task = _wait(aws.ecs, target, task_arn, timeout_s, poll_s)
        code = _exit_code(task, target.container, command[0])
        lines = _log_lines(aws.logs, target, task_arn)
        summary = last_json("\n".join(lines))
        attempts = 0
        while code in ok_codes and summary is None and attempts < LOG_SETTLE_ATTEMPTS:
            attempts += 1
            sleep(poll_s)
            lines = _log_lines(aws.logs, target, task_arn)
            summary = last_json("\n".join(lines))
    except (ClientError, BotoCoreError) as exc:
        raise JobError(
            f"{command[0]} job could not run on ECS cluster {target.cluster}: {exc}",
            EXIT_UNAVAILABLE,
        ) from None
    finally:
        _delete_quietly(aws.s3, target.bundle_bucket, key)
    log.info(
        "%s task %s: exit %d, %.1f s, %d log lines",
        command[0],
        task_arn.rsplit("/", 1)[-1],
        code,
        time.monotonic() - started,
        len(lines),
    )
    tail = "\n".join(lines[-TAIL_LINES:]) or f"(no log lines in {target.log_group})"
    return job_result(code, summary, tail, ok_codes)


def _start(ecs: ECSClient, target: EcsTarget, command: list[str], job: str) -> str:
    response = ecs.run_task(
        cluster=target.cluster,
        taskDefinition=target.task_definition,
        launchType="FARGATE",
        count=1,
        startedBy=STARTED_BY,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": list(target.subnets),
                "securityGroups": list(target.security_groups),
                "assignPublicIp": "DISABLED",
            }
        },
        overrides={"containerOverrides": [{"name": target.container, "command": command}]},
    )
    tasks = response.get("tasks", [])
    if not tasks or "taskArn" not in tasks[0]:
        failures = "; ".join(
            ": ".join(part for part in (f.get("reason", "?"), f.get("detail", "")) if part)
            for f in response.get("failures", [])
        )
        raise JobError(
            f"{job} task failed to start on {target.cluster} "
            f"({target.task_definition}): {failures or 'RunTask returned no task'}",
            EXIT_UNAVAILABLE,
        )
    return tasks[0]["taskArn"]


def _wait(
    ecs: ECSClient, target: EcsTarget, task_arn: str, timeout_s: float, poll_s: float
) -> dict[str, Any]:
    attempts = max(1, math.ceil(timeout_s / poll_s))
    try:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=target.cluster,
            tasks=[task_arn],
            WaiterConfig={"Delay": poll_s, "MaxAttempts": attempts},  # pyright: ignore[reportArgumentType]
        )
    except WaiterError:
        reason = f"escalafin: did not finish within {timeout_s:g}s"
        ecs.stop_task(cluster=target.cluster, task=task_arn, reason=reason)
        raise JobError(
            f"task {task_arn} did not finish within {timeout_s:g}s; stopped "
            f"(its logs: {target.log_group} {log_stream(target, task_arn)})",
            EXIT_UNAVAILABLE,
        ) from None
    tasks = ecs.describe_tasks(cluster=target.cluster, tasks=[task_arn]).get("tasks", [])
    if not tasks:
        raise JobError(f"task {task_arn} vanished before it could be read", EXIT_UNAVAILABLE)
    return dict(tasks[0])


def _exit_code(task: dict[str, Any], container: str, job: str) -> int:
    """The container's exit code; JobError when it never ran (no exit code to read)."""
    containers: list[dict[str, Any]] = task.get("containers", [])
    ours = next((c for c in containers if c.get("name") == container), None)
    code = ours.get("exitCode") if ours else None
    if code is None:
        why = "; ".join(
            str(part)
            for part in (
                task.get("stopCode"),
                task.get("stoppedReason"),
                ours.get("reason") if ours else f"no container named {container!r}",
            )
            if part
        )
        raise JobError(
            f"{job} task {task.get('taskArn')} stopped before its container ran: "
            f"{why or 'no reason given'}",
            EXIT_UNAVAILABLE,
        )
    return int(code)


def _log_lines(logs: CloudWatchLogsClient, target: EcsTarget, task_arn: str) -> list[str]:
    """Every line of the task's stream, oldest first ([] when the stream does not exist)."""
    stream = log_stream(target, task_arn)
    lines: list[str] = []
    token: str | None = None
    while True:
        try:
            page = (
                logs.get_log_events(
                    logGroupName=target.log_group,
                    logStreamName=stream,
                    startFromHead=True,
                    nextToken=token,
                )
                if token
                else logs.get_log_events(
                    logGroupName=target.log_group, logStreamName=stream, startFromHead=True
                )
            )
        except logs.exceptions.ResourceNotFoundException:
            return lines
        lines += [e.get("message", "") for e in page.get("events", [])]
        following = page.get("nextForwardToken")
        if not page.get("events") or following in (None, token):
            return lines
        token = following


def _delete_quietly(s3: S3Client, bucket: str, key: str) -> None:
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        log.warning("could not delete staged job input s3://%s/%s: %s", bucket, key, exc)
