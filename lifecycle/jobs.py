"""Run a lifecycle command against a database in one of three modes, same code behind all.

- direct: in this process, psycopg to the given URL (dev: the admin port on 127.0.0.1);
- in-network: a one-off container of the ops image on the database's internal network,
  started through a Docker host (`unix://`, `tcp://`, `ssh://user@host` via paramiko, or the
  environment default). Inputs (migrations folder, seed file) are copied in with
  put_archive; the URL and passwords travel in the container's environment only (never argv
  or labels); the JSON result is read from stdout; the container is always removed.
- ecs: a one-off ECS Fargate task of the ops image in the private subnets (aws-ecs target,
  lifecycle/ecs_runner.py). The same input archive travels through S3; the URL and
  passwords are NOT sent: the task definition injects them from Secrets Manager.

Imports Docker and boto3 lazily: the ops image runs the lifecycle without docker-py.
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Literal

from lifecycle.docker_host import SCHEMES, connect

log = logging.getLogger("lifecycle.jobs")

Mode = Literal["direct", "in-network", "ecs"]
MODES: Final = ("direct", "in-network", "ecs")
JOB_DIR: Final = "/tmp/escalafin-job"  # noqa: S108 (inside the throwaway container)
JOB_LABEL: Final = "escalafin.lifecycle-job"
DEFAULT_OPS_IMAGE: Final = "escalafin-ops:latest"


@dataclass(frozen=True)
class EcsTarget:
    """Where an `ecs` job runs: the ops task definition and the network it needs.

    The task definition (not the runner) carries DATABASE_URL and the seed passwords as ECS
    secrets from Secrets Manager, so nothing secret crosses the RunTask API (overrides are
    visible to anyone who may DescribeTasks, and logged by CloudTrail).
    log_group/log_stream_prefix: the container's awslogs options; its stream is
    `<prefix>/<container>/<task id>` (the awslogs driver's naming).
    bundle_bucket/bundle_prefix: where the job's input archive is staged for the task.
    """

    cluster: str
    task_definition: str
    container: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    region: str
    log_group: str
    log_stream_prefix: str
    bundle_bucket: str
    bundle_prefix: str = "lifecycle-jobs/"

    def problems(self) -> list[str]:
        found = [
            f"ecs.{name} is required in ecs mode"
            for name in (
                "cluster",
                "task_definition",
                "container",
                "region",
                "log_group",
                "log_stream_prefix",
                "bundle_bucket",
            )
            if not getattr(self, name)
        ]
        if not self.subnets:
            found.append("ecs.subnets is required in ecs mode (the private subnets)")
        if not self.security_groups:
            found.append("ecs.security_groups is required in ecs mode (the ops task's group)")
        return found

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> EcsTarget:
        return EcsTarget(
            cluster=str(data.get("cluster") or ""),
            task_definition=str(data.get("task_definition") or ""),
            container=str(data.get("container") or ""),
            subnets=tuple(str(s) for s in data.get("subnets") or ()),
            security_groups=tuple(str(s) for s in data.get("security_groups") or ()),
            region=str(data.get("region") or ""),
            log_group=str(data.get("log_group") or ""),
            log_stream_prefix=str(data.get("log_stream_prefix") or ""),
            bundle_bucket=str(data.get("bundle_bucket") or ""),
            bundle_prefix=str(data.get("bundle_prefix") or "lifecycle-jobs/"),
        )


@dataclass(frozen=True)
class RunnerArgs:
    """How the lifecycle reaches PostgreSQL.

    mode: "direct" (psycopg from the machine running pulumi), "in-network" (ops container)
      or "ecs" (ops task on ECS Fargate).
    docker_host: Docker endpoint for in-network jobs; None = DOCKER_HOST / local socket.
    network: Docker network the job joins (the database's internal network).
    ops_image: image with the lifecycle package (ops/Dockerfile).
    timeout_s: how long a job may run before it is killed and reported as failed.
    ecs: where an ecs job runs (ecs mode only).
    """

    mode: Mode = "direct"
    docker_host: str | None = None
    network: str | None = None
    ops_image: str = DEFAULT_OPS_IMAGE
    timeout_s: float = 600.0
    ecs: EcsTarget | None = None

    def to_dict(self) -> dict[str, Any]:
        """The provider input. Without `ecs` it is exactly what stacks created before the ecs
        mode hold in state, so adding the mode triggers no update of existing stacks (the
        providers diff `runner` as a whole)."""
        data = asdict(self)
        if self.ecs is None:
            del data["ecs"]
        else:
            data["ecs"] = {**data["ecs"], "subnets": list(self.ecs.subnets)}
            data["ecs"]["security_groups"] = list(self.ecs.security_groups)
        return data

    def problems(self) -> list[str]:
        """What is wrong with these settings (empty when valid)."""
        found: list[str] = []
        if self.mode not in MODES:
            found.append(f"mode is {self.mode!r}; allowed: {', '.join(MODES)}")
        if self.mode == "in-network" and not self.network:
            found.append("network is required in in-network mode (the database's network)")
        if self.mode == "in-network" and not self.ops_image:
            found.append("ops_image is required in in-network mode")
        if self.docker_host and not self.docker_host.startswith(SCHEMES):
            found.append(
                f"docker_host {self.docker_host!r} must start with unix://, tcp:// or ssh://"
            )
        if self.timeout_s <= 0:
            found.append("timeout_s must be positive")
        if self.mode == "ecs":
            found += self.ecs.problems() if self.ecs else ["ecs target is required in ecs mode"]
        return found

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> RunnerArgs:
        return RunnerArgs(
            mode=data.get("mode") or "direct",
            docker_host=data.get("docker_host") or None,
            network=data.get("network") or None,
            ops_image=data.get("ops_image") or DEFAULT_OPS_IMAGE,
            timeout_s=float(data.get("timeout_s") or 600.0),
            ecs=EcsTarget.from_dict(data["ecs"]) if data.get("ecs") else None,
        )


class JobError(RuntimeError):
    """The lifecycle command failed; the message is the command's own error (no secrets)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- the two commands ------------------------------------------------------------------------


def run_migrations(
    runner: RunnerArgs,
    database_url: str,
    folder: Path,
    command: str = "deploy",
    *,
    lock_timeout_s: float = 60.0,
    ok_codes: tuple[int, ...] = (0,),
) -> dict[str, Any]:
    """`lifecycle.migrate <command>` in the chosen mode; returns its JSON summary."""
    if runner.mode == "direct":
        from lifecycle import migrate  # noqa: PLC0415 (keep the module light to import)

        return _direct(
            lambda: migrate.execute(command, database_url, folder, lock_timeout_s=lock_timeout_s),
            ok_codes,
        )
    return _one_off(
        runner,
        [
            "lifecycle.migrate",
            command,
            "--json",
            "--migrations",
            f"{JOB_DIR}/migrations",
            "--lock-timeout",
            str(lock_timeout_s),
        ],
        {"DATABASE_URL": database_url},
        _tar_folder(folder, "migrations"),
        ok_codes,
    )


def run_seed(
    runner: RunnerArgs,
    database_url: str,
    seed_file: Path,
    passwords: Mapping[str, str],
    *,
    lock_timeout_s: float = 60.0,
) -> dict[str, Any]:
    """`lifecycle.seed` in the chosen mode; returns its JSON summary."""
    from lifecycle import seed as seeding  # noqa: PLC0415

    if runner.mode == "direct":
        return _direct(
            lambda: seeding.execute(
                database_url, seed_file, passwords, lock_timeout_s=lock_timeout_s
            ),
            (0,),
        )
    env = {"DATABASE_URL": database_url}
    env.update({seeding.password_env_name(k): v for k, v in passwords.items()})
    return _one_off(
        runner,
        [
            "lifecycle.seed",
            "--json",
            "--seed-file",
            f"{JOB_DIR}/seed.json",
            "--lock-timeout",
            str(lock_timeout_s),
        ],
        env,
        _tar_files({"seed.json": seed_file.read_bytes()}),
        (0,),
    )


def run_store_bucket(runner: RunnerArgs, command: str, env: Mapping[str, str]) -> dict[str, Any]:
    """`lifecycle.store_bucket <command>` in an ops container on the store's network.

    Always in-network: the embedded store publishes no port. `env` carries S3_* and the
    AWS_* credentials (environment only, never argv).
    """
    return _in_network(
        runner, ["lifecycle.store_bucket", command, "--json"], env, _tar_files({}), (0,)
    )


# --- direct ----------------------------------------------------------------------------------


def _direct(
    call: Callable[[], tuple[int, dict[str, Any], str]], ok_codes: tuple[int, ...]
) -> dict[str, Any]:
    from lifecycle import cli, db, migrations, seed  # noqa: PLC0415
    from lifecycle.migration_plan import MigrationFolderError  # noqa: PLC0415

    try:
        code, summary, _text = call()
    except migrations.MigrateError as exc:
        raise JobError(str(exc), exc.exit_code) from None
    except seed.SeedError as exc:
        raise JobError(str(exc), exc.exit_code) from None
    except (MigrationFolderError, db.DatabaseUrlError) as exc:
        raise JobError(str(exc), cli.EXIT_USAGE) from None
    except db.ConnectionFailed as exc:
        raise JobError(str(exc), cli.EXIT_UNAVAILABLE) from None
    if code not in ok_codes:
        raise JobError(f"exit code {code}: {summary}", code)
    return dict(summary)


# --- one-off jobs: in-network or ecs ------------------------------------------------------------


def _one_off(
    runner: RunnerArgs,
    command: list[str],
    env: Mapping[str, str],
    archive: bytes,
    ok_codes: tuple[int, ...],
) -> dict[str, Any]:
    """A one-off job of the ops image. In ecs mode `env` (the DSN, seed passwords) is not
    sent: the task definition injects the same variables from Secrets Manager."""
    if runner.mode == "ecs":
        from lifecycle import ecs_runner  # noqa: PLC0415 (boto3 only when needed)

        if runner.ecs is None:
            raise JobError("ecs mode without an ecs target", 2)
        return ecs_runner.run(runner.ecs, command, archive, ok_codes, timeout_s=runner.timeout_s)
    return _in_network(runner, command, env, archive, ok_codes)


# --- in-network -------------------------------------------------------------------------------


def _tar_files(files: Mapping[str, bytes]) -> bytes:
    """A tar of `files` under the job directory, readable by the image's non-root user."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        dirs = {str(Path("escalafin-job", name).parent) for name in files} | {"escalafin-job"}
        for directory in sorted(dirs):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
            tar.addfile(info)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"escalafin-job/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _tar_folder(folder: Path, prefix: str) -> bytes:
    if not folder.is_dir():
        raise JobError(f"migrations folder {folder} does not exist", 2)
    files = {
        f"{prefix}/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    files.setdefault(f"{prefix}/.keep", b"")
    return _tar_files(files)


def _in_network(
    runner: RunnerArgs,
    command: list[str],
    env: Mapping[str, str],
    archive: bytes,
    ok_codes: tuple[int, ...],
) -> dict[str, Any]:
    from docker.errors import DockerException  # noqa: PLC0415
    from requests.exceptions import RequestException  # noqa: PLC0415

    started = time.monotonic()
    client = connect(runner.docker_host)
    name = f"escalafin-lifecycle-{uuid.uuid4().hex[:10]}"
    container = None
    try:
        container = client.containers.create(
            runner.ops_image,
            command,
            name=name,
            environment=dict(env),
            network=runner.network,
            labels={JOB_LABEL: command[0]},
            detach=True,
        )
        container.put_archive("/tmp", archive)  # noqa: S108  # pyright: ignore[reportUnknownMemberType]
        container.start()
        try:
            status = container.wait(timeout=runner.timeout_s)
        except RequestException:
            raise JobError(
                f"{command[0]} job {name} did not finish within {runner.timeout_s:g}s; removed",
                4,
            ) from None
        code = int(status.get("StatusCode", 1))
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True, tail=20).decode(errors="replace")
    except DockerException as exc:
        raise JobError(
            f"{command[0]} job could not run in network {runner.network!r} "
            f"through {runner.docker_host or 'the default Docker host'}: {exc}",
            4,
        ) from None
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except DockerException:
                log.warning("could not remove lifecycle job container %s", name)
        client.close()
    log.info(
        "%s job in network %s: exit %d, %.1f s",
        command[0],
        runner.network,
        code,
        time.monotonic() - started,
    )
    return job_result(code, last_json(stdout), stderr, ok_codes)


def job_result(
    code: int, summary: dict[str, Any] | None, tail: str, ok_codes: tuple[int, ...]
) -> dict[str, Any]:
    """The job's JSON summary when it succeeded; otherwise JobError with its own error, or
    the exit code and the last lines it printed."""
    if code in ok_codes and summary is not None and summary.get("ok"):
        return summary
    message = summary.get("error") if summary else None
    raise JobError(str(message or f"exit code {code}; last output:\n{tail.strip()}"), code)


def last_json(stdout: str) -> dict[str, Any] | None:
    """The last line of `stdout` that is a JSON object (the command's result line)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return dict(value)  # pyright: ignore[reportUnknownArgumentType]
    return None
