"""Pulumi dynamic providers: `DatabaseMigrations` then `ConditionalSeed`.

Wire them after PostgreSQL is healthy and before the app container:

    migrations = DatabaseMigrations("db-migrations", DatabaseMigrationsArgs(
        database_url=admin_url,                       # secret
        migrations_dir="app/prisma/migrations",
        runner=RunnerArgs(mode="in-network", docker_host=host, network=internal.name,
                          ops_image=ops_image.repo_digest),
        database_identity=Output.concat(pg.id, ":", volume.name)),
        ResourceOptions(parent=self, depends_on=[pg]))
    seed = ConditionalSeed("db-seed", ConditionalSeedArgs(
        database_url=admin_url, seed_file="app/prisma/seed.json",
        passwords={"admin": admin_pw, "advisor": advisor_pw, "client": client_pw},
        runner=..., database_identity=...),
        ResourceOptions(parent=self, depends_on=[migrations]))

Engine contract honoured here (pulumi/pulumi sdk/python/lib/pulumi/dynamic): the provider
object is pickled with dill *by reference* — the state holds `lifecycle.providers.
MigrationsProvider`, not its code (`serialize_provider`, `dill.dumps(recurse=True)`) — and
`python -m pulumi.dynamic` unpickles it in the project directory of whichever checkout runs
`pulumi`, importing the class from that checkout. So: never rename or move a provider class
(or its module) — refresh and destroy of every existing stack would fail to unpickle it;
tests/unit/test_state_compat.py pins every reference. Paths in inputs are relative to the
project directory, so state holds no absolute path of the machine that wrote it.

Secret inputs arrive in plaintext, so the DSN is an output only under its input's name (kept
secret by the engine, and listed in `additional_secret_outputs`), and the seed passwords are
never returned at all. During preview unknown inputs arrive as `pulumi.runtime.rpc.UNKNOWN`;
`check`/`diff` never touch the database. `read` (refresh) reports pending migrations, and
when the database (or the folder) cannot be reached it marks the resource `unverified` —
never crashes — so the next `up` checks again; `delete` never drops data.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from lifecycle.dynamic_inputs import changed_inputs, is_unknown, missing, without_provider
from lifecycle.jobs import EcsTarget, RunnerArgs
from lifecycle.migration_plan import folder_hash

__all__ = [
    "ConditionalSeed",
    "ConditionalSeedArgs",
    "DatabaseMigrations",
    "DatabaseMigrationsArgs",
    "EcsTarget",
    "RunnerArgs",
    "StoreBucket",
    "StoreBucketArgs",
]

log = logging.getLogger("lifecycle.providers")

# Content, not location, triggers: the same folder at another path is no change.
MIGRATION_TRIGGERS: Final = ("database_url", "migrations_hash", "database_identity", "runner")
SEED_TRIGGERS: Final = ("database_url", "seed_hash", "database_identity", "runner")
BUCKET_TRIGGERS: Final = (
    "bucket", "endpoint_url", "region", "access_key_id", "secret_access_key", "runner",
)  # fmt: skip
SECRET_OUTPUTS: Final = ["database_url"]


def _check(news: dict[str, Any], required: tuple[str, ...]) -> CheckResult:
    """Validate inputs without any I/O beyond the local filesystem; unknowns pass."""
    failures = missing(news, required)
    runner: dict[str, Any] = news.get("runner") or {}
    if not is_unknown(runner):
        failures += [CheckFailure("runner", p) for p in RunnerArgs.from_dict(runner).problems()]
    return CheckResult(news, failures)


# --- migrations ------------------------------------------------------------------------------


class MigrationsProvider(ResourceProvider):
    """CRUD for DatabaseMigrations; stateless, so dill pickles it cheaply."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return _check(news, ("database_url", "migrations_dir", "migrations_hash"))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, MIGRATION_TRIGGERS)
        if olds.get("pending"):  # refresh found migrations nobody applied yet
            changed.append("pending")
        if olds.get("unverified"):  # refresh could not look: check again
            changed.append("unverified")
        return DiffResult(
            changes=bool(changed), replaces=[], stables=["id"], delete_before_replace=False
        )

    def _deploy(self, props: dict[str, Any]) -> dict[str, Any]:
        from lifecycle import jobs  # noqa: PLC0415

        summary = jobs.run_migrations(
            RunnerArgs.from_dict(props.get("runner") or {}),
            str(props["database_url"]),
            Path(str(props["migrations_dir"])),
            "deploy",
            lock_timeout_s=float(props.get("lock_timeout_s") or 60.0),
        )
        return {
            **without_provider(props),
            "applied": list(summary.get("applied", [])),
            "applied_count": int(summary.get("count", 0)),
            "total_applied": int(summary.get("count", 0)) + int(summary.get("skipped", 0)),
            "pending": [],
            "unverified": None,
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"migrations-{uuid.uuid4().hex[:12]}", self._deploy(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._deploy(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from lifecycle import jobs  # noqa: PLC0415

        try:
            summary = jobs.run_migrations(
                RunnerArgs.from_dict(props.get("runner") or {}),
                str(props["database_url"]),
                Path(str(props["migrations_dir"])),
                "status",
                ok_codes=(0, 1),
            )
        except jobs.JobError as exc:  # database down, folder elsewhere: drift, not a crash
            log.warning("DatabaseMigrations not verified on refresh: %s", exc)
            return ReadResult(id_, {**without_provider(props), "unverified": str(exc)})
        pending = [*summary.get("retryable", []), *summary.get("pending", [])]
        if summary.get("failed"):
            pending = [*summary["failed"], *pending]
        return ReadResult(
            id_,
            {
                **without_provider(props),
                "pending": pending,
                "total_applied": len(summary.get("applied", [])),
                "unverified": None,
            },
        )

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        log.info("DatabaseMigrations deleted from the stack; the database is left untouched")


@dataclass(frozen=True)
class DatabaseMigrationsArgs:
    """Inputs of DatabaseMigrations.

    database_url: admin DSN (Prisma style) reachable in the runner's mode; made secret.
    migrations_dir: folder of Prisma migrations, relative to the project directory.
    runner: direct, in-network or ecs (see RunnerArgs); an Output when it holds resource ids.
    database_identity: changes when the database itself is new (container id + volume name).
    migrations_hash: defaults to the folder's content hash; a new/edited migration → update.
    """

    database_url: pulumi.Input[str]
    migrations_dir: str = "app/prisma/migrations"
    runner: RunnerArgs | pulumi.Output[RunnerArgs] = field(default_factory=RunnerArgs)
    database_identity: pulumi.Input[str] | None = None
    migrations_hash: str | None = None
    lock_timeout_s: float = 60.0


class DatabaseMigrations(Resource, module="escalafin", name="DatabaseMigrations"):
    """Applies the Prisma migrations folder (`migrate deploy` semantics) on create/update.

    Type token: pulumi-python:dynamic/escalafin:DatabaseMigrations.
    """

    applied: pulumi.Output[list[str]]
    applied_count: pulumi.Output[int]
    total_applied: pulumi.Output[int]
    pending: pulumi.Output[list[str]]
    migrations_hash: pulumi.Output[str]
    unverified: pulumi.Output[str | None]
    """Set by a refresh that could not reach the database; the next `up` checks again."""

    def __init__(
        self,
        resource_name: str,
        args: DatabaseMigrationsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "database_url": pulumi.Output.secret(args.database_url),
            "migrations_dir": args.migrations_dir,
            "migrations_hash": args.migrations_hash or folder_hash(Path(args.migrations_dir)),
            "database_identity": args.database_identity or "",
            "runner": _runner_input(args.runner),
            "lock_timeout_s": args.lock_timeout_s,
            "applied": None,
            "applied_count": None,
            "total_applied": None,
            "pending": None,
            "unverified": None,
        }
        super().__init__(MigrationsProvider(), resource_name, props, _secret_opts(opts))


# --- seed ----------------------------------------------------------------------------------------


class SeedProvider(ResourceProvider):
    """CRUD for ConditionalSeed; passwords are used, never returned."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return _check(news, ("database_url", "seed_file", "seed_hash"))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, SEED_TRIGGERS)
        return DiffResult(
            changes=bool(changed), replaces=[], stables=["id"], delete_before_replace=False
        )

    def _seed(self, props: dict[str, Any]) -> dict[str, Any]:
        from lifecycle import jobs  # noqa: PLC0415

        passwords = {str(k): str(v) for k, v in dict(props.get("passwords") or {}).items()}
        summary = jobs.run_seed(
            RunnerArgs.from_dict(props.get("runner") or {}),
            str(props["database_url"]),
            Path(str(props["seed_file"])),
            passwords,
            lock_timeout_s=float(props.get("lock_timeout_s") or 60.0),
        )
        outs = {k: v for k, v in without_provider(props).items() if k != "passwords"}
        return {
            **outs,
            "outcome": summary["outcome"],
            "inserted": int(summary["inserted"]),
            "existing": int(summary["existing"]),
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"seed-{uuid.uuid4().hex[:12]}", self._seed(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._seed(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # The seed has no drift to report: it ran once; the users now belong to the app.
        return ReadResult(id_, without_provider(props))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        log.info("ConditionalSeed deleted from the stack; seeded users are left untouched")


@dataclass(frozen=True)
class ConditionalSeedArgs:
    """Inputs of ConditionalSeed.

    database_url: admin DSN reachable in the runner's mode; made secret.
    seed_file: the seed JSON, relative to the project directory (app/prisma/seed.json).
    passwords: passwordKey → plaintext (Pulumi secrets); hashed with bcrypt, never stored.
    database_identity: changes when the database is new, so the seed is checked again.
    """

    database_url: pulumi.Input[str]
    passwords: Mapping[str, pulumi.Input[str]]
    seed_file: str = "app/prisma/seed.json"
    runner: RunnerArgs | pulumi.Output[RunnerArgs] = field(default_factory=RunnerArgs)
    database_identity: pulumi.Input[str] | None = None
    lock_timeout_s: float = 60.0


class ConditionalSeed(Resource, module="escalafin", name="ConditionalSeed"):
    """Seeds the users table when empty (create, or a new database/seed file on update).

    Type token: pulumi-python:dynamic/escalafin:ConditionalSeed.
    """

    outcome: pulumi.Output[str]
    inserted: pulumi.Output[int]
    existing: pulumi.Output[int]
    seed_hash: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ConditionalSeedArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "database_url": pulumi.Output.secret(args.database_url),
            "passwords": pulumi.Output.secret(dict(args.passwords)),
            "seed_file": args.seed_file,
            "seed_hash": hashlib.sha256(Path(args.seed_file).read_bytes()).hexdigest(),
            "database_identity": args.database_identity or "",
            "runner": _runner_input(args.runner),
            "lock_timeout_s": args.lock_timeout_s,
            "outcome": None,
            "inserted": None,
            "existing": None,
        }
        super().__init__(SeedProvider(), resource_name, props, _secret_opts(opts))


def _runner_input(runner: RunnerArgs | pulumi.Output[RunnerArgs]) -> pulumi.Input[dict[str, Any]]:
    """The runner as the provider stores it (RunnerArgs.to_dict; unknown in a preview while
    the ECS resources it names do not exist yet)."""
    if isinstance(runner, RunnerArgs):
        return runner.to_dict()
    return runner.apply(RunnerArgs.to_dict)


# --- embedded store bucket ---------------------------------------------------------------


class StoreBucketProvider(ResourceProvider):
    """CRUD for StoreBucket: create-if-missing in the embedded store; never deletes data."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return _check(news, ("bucket", "endpoint_url", "access_key_id", "secret_access_key"))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_inputs(olds, news, BUCKET_TRIGGERS)
        if olds.get("exists") is False:  # refresh found the bucket gone (store volume lost)
            changed.append("exists")
        return DiffResult(
            changes=bool(changed), replaces=[], stables=["id"], delete_before_replace=False
        )

    def _job(self, props: dict[str, Any], command: str) -> dict[str, Any]:
        from lifecycle import jobs  # noqa: PLC0415

        env = {
            "S3_BUCKET": str(props["bucket"]),
            "S3_ENDPOINT_URL": str(props["endpoint_url"]),
            "S3_REGION": str(props.get("region") or "us-east-1"),
            "AWS_ACCESS_KEY_ID": str(props["access_key_id"]),
            "AWS_SECRET_ACCESS_KEY": str(props["secret_access_key"]),
        }
        return jobs.run_store_bucket(RunnerArgs.from_dict(props.get("runner") or {}), command, env)

    def _ensure(self, props: dict[str, Any]) -> dict[str, Any]:
        summary = self._job(props, "ensure")
        return {**without_provider(props), "exists": True, "created": bool(summary["created"])}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"bucket-{props['bucket']}", self._ensure(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._ensure(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from lifecycle.jobs import JobError  # noqa: PLC0415

        try:
            exists = bool(self._job(props, "exists")["exists"])
        except JobError as exc:  # the store is down: report, never crash a refresh
            log.warning("StoreBucket %s not checked: %s", props.get("bucket"), exc)
            return ReadResult(id_, without_provider(props))
        return ReadResult(id_, {**without_provider(props), "exists": exists})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        log.info("StoreBucket deleted from the stack; the bucket and its backups are kept")


@dataclass(frozen=True)
class StoreBucketArgs:
    """Inputs of StoreBucket (credentials are made secret).

    runner: in-network on the store's network (the store publishes no port).
    """

    bucket: str
    endpoint_url: str
    region: str
    access_key_id: pulumi.Input[str]
    secret_access_key: pulumi.Input[str]
    runner: RunnerArgs


class StoreBucket(Resource, module="escalafin", name="StoreBucket"):
    """The backup bucket in the embedded store.

    Type token: pulumi-python:dynamic/escalafin:StoreBucket.
    """

    exists: pulumi.Output[bool]
    created: pulumi.Output[bool]

    def __init__(
        self, resource_name: str, args: StoreBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "bucket": args.bucket,
            "endpoint_url": args.endpoint_url,
            "region": args.region,
            "access_key_id": pulumi.Output.secret(args.access_key_id),
            "secret_access_key": pulumi.Output.secret(args.secret_access_key),
            "runner": _runner_input(args.runner),
            "exists": None,
            "created": None,
        }
        extra = pulumi.ResourceOptions(
            additional_secret_outputs=["access_key_id", "secret_access_key"]
        )
        super().__init__(
            StoreBucketProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, extra) if opts else extra,
        )


def _secret_opts(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Caller's options plus the DSN as an additional secret output."""
    extra = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
    return pulumi.ResourceOptions.merge(opts, extra) if opts else extra
