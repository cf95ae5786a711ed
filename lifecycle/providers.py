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

Engine contract honoured here (pulumi/dynamic): the provider is pickled with dill into the
state and runs on the machine running `pulumi`; secret inputs arrive in plaintext, so the
DSN is an output only under its input's name (kept secret by the engine, and listed in
`additional_secret_outputs`), and the seed passwords are never returned at all. During
preview unknown inputs arrive as `pulumi.runtime.rpc.UNKNOWN`; `check`/`diff` never touch the
database. `read` (refresh) reports pending migrations; `delete` never drops data.
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

from lifecycle.jobs import EcsTarget, RunnerArgs
from lifecycle.migration_plan import folder_hash

__all__ = [
    "ConditionalSeed",
    "ConditionalSeedArgs",
    "DatabaseMigrations",
    "DatabaseMigrationsArgs",
    "EcsTarget",
    "RunnerArgs",
]

log = logging.getLogger("lifecycle.providers")

UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN
MIGRATION_TRIGGERS: Final = ("database_url", "migrations_hash", "database_identity", "runner")
SEED_TRIGGERS: Final = ("database_url", "seed_hash", "database_identity", "runner")
SECRET_OUTPUTS: Final = ["database_url"]


def _is_unknown(value: object) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_is_unknown(v) for v in value.values())  # pyright: ignore[reportUnknownVariableType,reportUnknownArgumentType]
    return False


def _changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if _is_unknown(news.get(k)) or olds.get(k) != news.get(k)]


def _check(news: dict[str, Any], required: tuple[str, ...]) -> CheckResult:
    """Validate inputs without any I/O beyond the local filesystem; unknowns pass."""
    failures: list[CheckFailure] = []
    for key in required:
        if not _is_unknown(news.get(key)) and not news.get(key):
            failures.append(CheckFailure(key, f"{key} is required"))
    runner: dict[str, Any] = news.get("runner") or {}
    if not _is_unknown(runner):
        failures += [CheckFailure("runner", p) for p in RunnerArgs.from_dict(runner).problems()]
    return CheckResult(news, failures)


def _without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "__provider"}


# --- migrations ------------------------------------------------------------------------------


class MigrationsProvider(ResourceProvider):
    """CRUD for DatabaseMigrations; stateless, so dill pickles it cheaply."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return _check(news, ("database_url", "migrations_dir", "migrations_hash"))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = _changed(olds, news, MIGRATION_TRIGGERS)
        if olds.get("pending"):  # refresh found migrations nobody applied yet
            changed.append("pending")
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
            **_without_provider(props),
            "applied": list(summary.get("applied", [])),
            "applied_count": int(summary.get("count", 0)),
            "total_applied": int(summary.get("count", 0)) + int(summary.get("skipped", 0)),
            "pending": [],
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"migrations-{uuid.uuid4().hex[:12]}", self._deploy(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._deploy(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from lifecycle import jobs  # noqa: PLC0415

        summary = jobs.run_migrations(
            RunnerArgs.from_dict(props.get("runner") or {}),
            str(props["database_url"]),
            Path(str(props["migrations_dir"])),
            "status",
            ok_codes=(0, 1),
        )
        pending = [*summary.get("retryable", []), *summary.get("pending", [])]
        if summary.get("failed"):
            pending = [*summary["failed"], *pending]
        return ReadResult(
            id_,
            {
                **_without_provider(props),
                "pending": pending,
                "total_applied": len(summary.get("applied", [])),
            },
        )

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        log.info("DatabaseMigrations deleted from the stack; the database is left untouched")


@dataclass(frozen=True)
class DatabaseMigrationsArgs:
    """Inputs of DatabaseMigrations.

    database_url: admin DSN (Prisma style) reachable in the runner's mode; made secret.
    migrations_dir: folder of Prisma migrations on the machine running pulumi.
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
        }
        super().__init__(MigrationsProvider(), resource_name, props, _secret_opts(opts))


# --- seed ----------------------------------------------------------------------------------------


class SeedProvider(ResourceProvider):
    """CRUD for ConditionalSeed; passwords are used, never returned."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return _check(news, ("database_url", "seed_file", "seed_hash"))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = _changed(olds, news, SEED_TRIGGERS)
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
        outs = {k: v for k, v in _without_provider(props).items() if k != "passwords"}
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
        return ReadResult(id_, _without_provider(props))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        log.info("ConditionalSeed deleted from the stack; seeded users are left untouched")


@dataclass(frozen=True)
class ConditionalSeedArgs:
    """Inputs of ConditionalSeed.

    database_url: admin DSN reachable in the runner's mode; made secret.
    seed_file: the seed JSON on the machine running pulumi (app/prisma/seed.json).
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


def _secret_opts(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Caller's options plus the DSN as an additional secret output."""
    extra = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
    return pulumi.ResourceOptions.merge(opts, extra) if opts else extra
