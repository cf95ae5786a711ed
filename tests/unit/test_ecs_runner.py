"""The `ecs` runner mode against moto's ECS, CloudWatch Logs and S3 APIs.

What moto does and does not do (moto 5.x, moto/ecs/models.py), and how the gaps are filled:
- RunTask creates Fargate tasks (awsvpc needs a VPC with DNS hostnames, as ours has) and
  never returns `failures`; a task starts RUNNING and each DescribeTasks advances it one
  step (RUNNING → DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED: moto's "manual"
  state progression), so boto3's real `tasks_stopped` waiter runs its real loop.
- Nothing runs a container: exit code is always 0, no stopCode, no log lines. The
  `FakeAgent` below plays the ECS agent: when RunTask creates a task it runs a scripted
  "container" that reads the overridden command, fetches the staged input archive from
  moto's S3 with the real lifecycle.job_bundle.fetch, then sets exitCode / stopCode /
  stoppedReason on moto's task object and writes the awslogs stream through the Logs API.
- moto's task model needs a container-level `memory` in the task definition (Fargate
  itself does not); the fixture sets one.
A task that fails to start (RunTask with no task) is made by returning no task from moto's
backend; a task that starts but never runs its container (image pull, secrets) is a STOPPED
task with stopCode TaskFailedToStart and no exit code, as ECS reports it.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ecs.models import EC2ContainerServiceBackend
from moto.moto_api import state_manager

from lifecycle import ecs_runner, job_bundle, jobs
from lifecycle.jobs import EcsTarget, JobError, RunnerArgs
from lifecycle.providers import MigrationsProvider, SeedProvider

pytestmark = pytest.mark.unit

REGION = "us-east-1"
REPO = Path(__file__).resolve().parents[2]
SEED_FILE = REPO / "app" / "prisma" / "seed.json"
MIGRATIONS = REPO / "app" / "prisma" / "migrations"


def _archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("escalafin-job/seed.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    return buffer.getvalue()


ARCHIVE = _archive()


@dataclass
class Script:
    """What the fake container does: exit code (None = never ran), log lines, stop code."""

    exit_code: int | None = 0
    lines: list[str] = field(default_factory=lambda: ['{"ok": true, "count": 0}'])
    stop_code: str = "EssentialContainerExited"
    stopped_reason: str = "Essential container in task exited"
    container_reason: str | None = None
    log_late: bool = False
    """Write the log lines only when the runner sleeps (CloudWatch's eventual consistency)."""


@dataclass
class Ran:
    task: Any
    command: list[str]
    overrides: dict[str, Any]
    fetched: list[str]


class FakeAgent:
    """Plays the ECS agent and the container for tasks moto creates (see module doc)."""

    def __init__(self, target: EcsTarget, workdir: Path) -> None:
        self.target = target
        self.workdir = workdir
        self.script = Script()
        self.runs: list[Ran] = []
        self.pending_logs: list[tuple[str, list[str]]] = []

    def on_run(self, tasks: list[Any]) -> None:
        for task in tasks:
            command = task.overrides["containerOverrides"][0]["command"]
            assert command[0] == "lifecycle.job_bundle"
            destination = self.workdir / task.id
            destination.mkdir()
            job_bundle.fetch(command[1], command[2], destination)  # the real in-task code
            fetched = sorted(
                str(p.relative_to(destination)) for p in destination.rglob("*") if p.is_file()
            )
            self.runs.append(Ran(task, command, task.overrides, fetched))
            container = task.containers[0]
            container.exitCode = self.script.exit_code
            if self.script.container_reason:
                container.reason = self.script.container_reason
            task.stop_code = self.script.stop_code
            task.stopped_reason = self.script.stopped_reason
            stream = ecs_runner.log_stream(self.target, task.task_arn)
            if self.script.log_late:
                self.pending_logs.append((stream, self.script.lines))
            else:
                self.write_logs(stream, self.script.lines)

    def write_logs(self, stream: str, lines: list[str]) -> None:
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_stream(logGroupName=self.target.log_group, logStreamName=stream)
        if lines:  # CloudWatch drops events older than 14 days: stamp them now
            now = int(time.time() * 1000)
            logs.put_log_events(
                logGroupName=self.target.log_group,
                logStreamName=stream,
                logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)],
            )

    def sleep(self, _seconds: float) -> None:
        while self.pending_logs:
            self.write_logs(*self.pending_logs.pop())


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    """One moto account for the module (tests share it; each test's task is its own)."""
    with pytest.MonkeyPatch.context() as env:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(key, "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        with mock_aws():
            yield


@pytest.fixture(scope="module")
def target(aws: None) -> EcsTarget:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.10.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="ops", Description="ops", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="escalafin")
    task_definition = ecs.register_task_definition(
        family="escalafin-ops-migrate",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "ops",
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ops@sha256:" + "a" * 64,
                "essential": True,
                "memory": 512,  # moto needs it (see module doc); Fargate does not
                "secrets": [{"name": "DATABASE_URL", "valueFrom": "arn:aws:secretsmanager:x"}],
            }
        ],
    )["taskDefinition"].get("taskDefinitionArn", "")
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/escalafin/ops")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="escalafin-backups")
    return EcsTarget(
        cluster="escalafin",
        task_definition=task_definition,
        container="ops",
        subnets=(subnet,),
        security_groups=(group,),
        region=REGION,
        log_group="/escalafin/ops",
        log_stream_prefix="migrate",
        bundle_bucket="escalafin-backups",
    )


@pytest.fixture()
def agent(target: EcsTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAgent:
    fake = FakeAgent(target, tmp_path)
    original: Callable[..., list[Any]] = EC2ContainerServiceBackend.run_task

    def run_task(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> list[Any]:
        tasks = original(self, *args, **kwargs)
        fake.on_run(tasks)
        return tasks

    monkeypatch.setattr(EC2ContainerServiceBackend, "run_task", run_task)
    return fake


def migrate(target: EcsTarget, agent: FakeAgent, **kwargs: Any) -> dict[str, Any]:
    runner = RunnerArgs(mode="ecs", ecs=target, timeout_s=kwargs.pop("timeout_s", 60))
    return jobs.run_migrations(runner, "postgresql://unused", MIGRATIONS, **kwargs)


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll moto almost without pausing (moto advances a task one step per DescribeTasks)."""
    real_run = ecs_runner.run

    def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("poll_s", 0.001)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(ecs_runner, "run", run)


def bucket_keys() -> list[str]:
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket="escalafin-backups")
    return [o.get("Key", "") for o in listing.get("Contents", [])]


# ------------------------------------------------------------------ success


def test_job_runs_as_fargate_task_and_returns_its_json_summary(
    target: EcsTarget, agent: FakeAgent
) -> None:
    agent.script = Script(
        lines=["2026 INFO applying", '{"ok": true, "count": 2, "applied": ["a", "b"]}']
    )
    summary = migrate(target, agent)
    assert summary == {"ok": True, "count": 2, "applied": ["a", "b"]}
    [ran] = agent.runs
    # the command: fetch the staged archive, then exactly the in-network command
    assert ran.command[3:6] == ["lifecycle.migrate", "deploy", "--json"]
    assert "--migrations" in ran.command
    # the archive the task fetched holds the migrations folder, checksum verified
    assert any(f.startswith("escalafin-job/migrations/") for f in ran.fetched)
    # nothing secret crosses RunTask: no environment override at all
    assert "environment" not in ran.overrides["containerOverrides"][0]
    assert "postgresql://" not in json.dumps(ran.overrides)
    # the staged archive is removed afterwards
    assert bucket_keys() == []


def test_task_runs_in_private_subnets_without_public_ip(
    target: EcsTarget, agent: FakeAgent
) -> None:
    migrate(target, agent)
    [ran] = agent.runs
    ecs = boto3.client("ecs", region_name=REGION)
    [task] = ecs.describe_tasks(cluster="escalafin", tasks=[ran.task.task_arn])["tasks"]
    assert task.get("launchType") == "FARGATE"
    assert task.get("lastStatus") == "STOPPED"
    assert ran.task.network_configuration["awsvpcConfiguration"] == {
        "subnets": list(target.subnets),
        "securityGroups": list(target.security_groups),
        "assignPublicIp": "DISABLED",
    }


def test_seed_job_sends_the_seed_file_and_no_password(target: EcsTarget, agent: FakeAgent) -> None:
    agent.script = Script(lines=['{"ok": true, "outcome": "seeded", "inserted": 3, "existing": 0}'])
    runner = RunnerArgs(mode="ecs", ecs=target)
    summary = jobs.run_seed(runner, "postgresql://unused", SEED_FILE, {"admin": "s3cr3t-pw"})
    assert summary["outcome"] == "seeded"
    [ran] = agent.runs
    assert ran.fetched == ["escalafin-job/seed.json"]
    assert ran.command[3] == "lifecycle.seed"
    assert "s3cr3t-pw" not in json.dumps(ran.overrides)


def test_result_line_written_late_is_waited_for(target: EcsTarget, agent: FakeAgent) -> None:
    agent.script = Script(log_late=True)
    summary = ecs_runner.run(
        target, ["lifecycle.migrate", "deploy"], ARCHIVE, (0,), timeout_s=60, sleep=agent.sleep
    )
    assert summary["ok"] is True
    assert agent.pending_logs == []  # written at the first re-read, then found


# ------------------------------------------------------------------ failures


def test_non_zero_exit_reports_the_commands_own_error(target: EcsTarget, agent: FakeAgent) -> None:
    agent.script = Script(
        exit_code=3,
        lines=[
            "2026 ERROR migration 20240301_x failed",
            '{"ok": false, "exit_code": 3, "error": "migration 20240301_x failed: syntax error"}',
        ],
    )
    with pytest.raises(JobError) as failed:
        migrate(target, agent)
    assert failed.value.exit_code == 3
    assert str(failed.value) == "migration 20240301_x failed: syntax error"
    assert bucket_keys() == []


def test_non_zero_exit_without_result_reports_the_log_tail(
    target: EcsTarget, agent: FakeAgent
) -> None:
    agent.script = Script(
        exit_code=137, lines=[f"line {i}" for i in range(30)] + ["Killed: out of memory"]
    )
    with pytest.raises(JobError) as failed:
        migrate(target, agent)
    message = str(failed.value)
    assert failed.value.exit_code == 137
    assert message.startswith("exit code 137; last output:")
    assert "Killed: out of memory" in message
    assert "line 10\n" not in message and "line 11" in message  # the last 20 lines only


def test_task_that_never_ran_its_container_says_why(target: EcsTarget, agent: FakeAgent) -> None:
    agent.script = Script(
        exit_code=None,
        lines=[],
        stop_code="TaskFailedToStart",
        stopped_reason="ResourceInitializationError: unable to pull secrets or registry auth",
        container_reason="CannotPullContainerError: pull access denied",
    )
    with pytest.raises(JobError) as failed:
        migrate(target, agent)
    message = str(failed.value)
    assert failed.value.exit_code == 4
    assert "stopped before its container ran" in message
    assert "TaskFailedToStart" in message and "unable to pull secrets" in message
    assert "CannotPullContainerError" in message


def test_runtask_without_a_task_fails_to_start(
    target: EcsTarget, agent: FakeAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EC2ContainerServiceBackend, "run_task", lambda *_a, **_k: [])
    with pytest.raises(JobError) as failed:
        migrate(target, agent)
    assert failed.value.exit_code == 4
    assert "lifecycle.migrate task failed to start on escalafin" in str(failed.value)
    assert bucket_keys() == []


def test_unknown_cluster_is_an_api_error_naming_it(target: EcsTarget, agent: FakeAgent) -> None:
    with pytest.raises(JobError) as failed:
        migrate(replace(target, cluster="nope"), agent)
    assert failed.value.exit_code == 4
    assert "could not run on ECS cluster nope" in str(failed.value)
    assert agent.runs == []


def test_timeout_stops_the_task_and_fails(target: EcsTarget, agent: FakeAgent) -> None:
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10_000})
    try:
        with pytest.raises(JobError) as failed:
            ecs_runner.run(
                target, ["lifecycle.migrate", "deploy"], ARCHIVE, (0,), timeout_s=0.05, poll_s=0.01
            )
    finally:
        state_manager.unset_transition("ecs::task")
    assert "did not finish within 0.05s; stopped" in str(failed.value)
    [ran] = agent.runs
    task = ran.task
    assert task.desired_status == "STOPPED"
    assert "did not finish" in task.stopped_reason
    assert bucket_keys() == []


def test_altered_archive_is_refused_in_the_task(
    target: EcsTarget, aws: None, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=target.bundle_bucket, Key="lifecycle-jobs/x.tar", Body=b"tampered")
    with pytest.raises(job_bundle.BundleError) as refused:
        job_bundle.fetch("s3://escalafin-backups/lifecycle-jobs/x.tar", "0" * 64, tmp_path)
    assert refused.value.exit_code == 2 and "refusing to run it" in str(refused.value)
    with pytest.raises(job_bundle.BundleError) as missing:
        job_bundle.fetch("s3://escalafin-backups/lifecycle-jobs/none.tar", "0" * 64, tmp_path)
    assert missing.value.exit_code == 4
    s3.delete_object(Bucket=target.bundle_bucket, Key="lifecycle-jobs/x.tar")  # shared bucket


# ------------------------------------------------------------------ the providers, unchanged


def ecs_props(target: EcsTarget) -> dict[str, Any]:
    return {
        "database_url": "postgresql://escalafin:pw@db.internal:5432/escalafin",
        "migrations_dir": str(MIGRATIONS),
        "migrations_hash": "h",
        "database_identity": "db-1",
        "runner": RunnerArgs(mode="ecs", ecs=target).to_dict(),
        "lock_timeout_s": 60.0,
    }


def test_migrations_provider_drives_the_ecs_mode(target: EcsTarget, agent: FakeAgent) -> None:
    agent.script = Script(lines=['{"ok": true, "count": 1, "skipped": 2, "applied": ["m3"]}'])
    provider = MigrationsProvider()
    props = ecs_props(target)
    assert provider.check({}, props).failures == []
    outs = provider.create(props).outs or {}
    assert outs["applied"] == ["m3"] and outs["total_applied"] == 3
    assert outs["runner"]["ecs"]["cluster"] == "escalafin"


def test_seed_provider_checks_ecs_target_problems(target: EcsTarget) -> None:
    props = {
        "database_url": "postgresql://x@h/d",
        "seed_file": str(SEED_FILE),
        "seed_hash": "h",
        "runner": RunnerArgs(mode="ecs", ecs=replace(target, subnets=())).to_dict(),
    }
    failures = SeedProvider().check({}, props).failures
    assert [f.reason for f in failures] == [
        "ecs.subnets is required in ecs mode (the private subnets)"
    ]
    props["runner"] = {"mode": "ecs"}
    assert [f.reason for f in SeedProvider().check({}, props).failures] == [
        "ecs target is required in ecs mode"
    ]


def test_runner_input_of_docker_modes_is_unchanged_by_the_ecs_mode() -> None:
    """Stacks created before the ecs mode hold exactly these keys: no spurious update."""
    for runner in (
        RunnerArgs(),
        RunnerArgs(mode="in-network", docker_host="ssh://h", network="n", ops_image="o"),
    ):
        assert set(runner.to_dict()) == {"mode", "docker_host", "network", "ops_image", "timeout_s"}
        assert RunnerArgs.from_dict(runner.to_dict()) == runner


def test_ecs_runner_round_trips_through_state(target: EcsTarget) -> None:
    runner = RunnerArgs(mode="ecs", ecs=target)
    stored = json.loads(json.dumps(runner.to_dict()))  # what the engine keeps
    assert RunnerArgs.from_dict(stored) == runner
