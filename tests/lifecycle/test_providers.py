"""The dynamic providers called as the Pulumi engine calls them (check → diff → create/update,
read on refresh, delete), in both modes: direct (psycopg from this process) and in-network
(a one-off ops container on a real internal network). Only the engine is simulated."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dill  # pyright: ignore[reportMissingTypeStubs]
import docker
import pulumi
import pytest

from lifecycle import db, jobs
from lifecycle.dynamic_inputs import UNKNOWN
from lifecycle.jobs import JobError, RunnerArgs
from lifecycle.migration_plan import folder_hash
from lifecycle.providers import (
    DatabaseMigrations,
    DatabaseMigrationsArgs,
    MigrationsProvider,
    SeedProvider,
)
from tests.support import ops_image as ops_image_support
from tests.support import services
from tests.support.pg_databases import fresh_database, url_for

pytestmark = pytest.mark.lifecycle
REPO = Path(__file__).resolve().parents[2]
SEED_FILE = REPO / "app" / "prisma" / "seed.json"
PASSWORDS = {"admin": "a-secret-1", "advisor": "a-secret-2", "client": "a-secret-3"}
OPS_IMAGE = "escalafin-ops:test"
USERS_SQL = (
    "CREATE TYPE \"UserRole\" AS ENUM ('ADMIN', 'ADVISOR', 'CLIENT');\n"
    "CREATE TYPE \"UserStatus\" AS ENUM ('ACTIVE', 'INACTIVE', 'SUSPENDED');\n"
    'CREATE TABLE "users" ("id" TEXT PRIMARY KEY, "email" TEXT NOT NULL UNIQUE, '
    '"firstName" TEXT NOT NULL, "lastName" TEXT NOT NULL, "password" TEXT NOT NULL, '
    '"role" "UserRole" NOT NULL DEFAULT \'CLIENT\', "status" "UserStatus" NOT NULL '
    'DEFAULT \'ACTIVE\', "phone" TEXT, "createdAt" TIMESTAMP(3) NOT NULL DEFAULT '
    'CURRENT_TIMESTAMP, "updatedAt" TIMESTAMP(3) NOT NULL);\n'
)


def write(folder: Path, name: str, sql: str) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "migration.sql").write_text(sql)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    write(target, "20240101000000_users", USERS_SQL)
    return target


def migration_props(
    url: str, folder: Path, runner: RunnerArgs, identity: str = "db-1"
) -> dict[str, Any]:
    """Inputs as the engine hands them to the provider: secrets already in plaintext."""
    return {
        "__provider": "serialized-provider",
        "database_url": url,
        "migrations_dir": str(folder),
        "migrations_hash": folder_hash(folder),
        "database_identity": identity,
        "runner": runner.__dict__.copy(),
        "lock_timeout_s": 10.0,
    }


def seed_props(url: str, runner: RunnerArgs, identity: str = "db-1") -> dict[str, Any]:
    return {
        "__provider": "serialized-provider",
        "database_url": url,
        "passwords": dict(PASSWORDS),
        "seed_file": str(SEED_FILE),
        "seed_hash": "h1",
        "database_identity": identity,
        "runner": runner.__dict__.copy(),
        "lock_timeout_s": 10.0,
    }


def table_names(url: str) -> set[str]:
    with db.connect(url) as conn:
        return {
            str(r[0])
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }


def lifecycle_round_trip(url: str, folder: Path, runner: RunnerArgs, verify_url: str) -> None:
    """The engine's sequence for both modes; `verify_url` reaches the same database from here."""
    provider: MigrationsProvider = dill.loads(dill.dumps(MigrationsProvider()))  # noqa: S301
    news = migration_props(url, folder, runner)
    assert provider.check({}, news).failures == []

    created = provider.create(news)
    assert created.outs is not None
    assert created.outs["applied"] == ["20240101000000_users"]
    assert created.outs["applied_count"] == 1 and created.outs["pending"] == []
    assert "users" in table_names(verify_url)
    olds = created.outs

    assert provider.diff(created.id, olds, migration_props(url, folder, runner)).changes is False

    write(folder, "20240102000000_phone_idx", 'CREATE INDEX "users_phone" ON "users" ("phone");\n')
    news = migration_props(url, folder, runner)
    assert provider.diff(created.id, olds, news).changes is True
    updated = provider.update(created.id, olds, news)
    assert updated.outs is not None
    assert updated.outs["applied"] == ["20240102000000_phone_idx"]
    assert updated.outs["total_applied"] == 2

    write(folder, "20240103000000_notes", "CREATE TABLE notes (id int);\n")
    refreshed = provider.read(created.id, updated.outs)
    assert refreshed.outs is not None
    assert refreshed.outs["pending"] == ["20240103000000_notes"]
    assert "notes" not in table_names(verify_url)  # read never applies
    # a refresh that found pending work makes the next `up` an update even with equal hashes
    same = {**refreshed.outs, "migrations_hash": folder_hash(folder)}
    assert provider.diff(created.id, refreshed.outs, same).changes is True

    seeder: SeedProvider = dill.loads(dill.dumps(SeedProvider()))  # noqa: S301
    seeded = seeder.create(seed_props(url, runner))
    assert seeded.outs is not None
    assert (seeded.outs["outcome"], seeded.outs["inserted"]) == ("seeded", 3)
    assert "passwords" not in seeded.outs
    assert not any(p in repr(seeded.outs) for p in PASSWORDS.values())
    new_db = seed_props(url, runner, identity="db-2")
    assert seeder.diff(seeded.id, seeded.outs, new_db).changes is True
    again = seeder.update(seeded.id, seeded.outs, new_db)
    assert again.outs is not None and again.outs["outcome"] == "skipped"

    provider.delete(created.id, updated.outs)
    seeder.delete(seeded.id, again.outs)
    assert {"users", "_prisma_migrations"} <= table_names(verify_url)


def test_preview_with_unknowns_touches_no_database(folder: Path) -> None:
    unreachable = "postgresql://nobody:nothing@127.0.0.1:1/none"
    provider = MigrationsProvider()
    olds = {**migration_props(unreachable, folder, RunnerArgs()), "pending": []}
    preview = {**olds, "database_url": UNKNOWN, "database_identity": UNKNOWN}
    assert provider.check(olds, preview).failures == []
    diff = provider.diff("id", olds, preview)
    assert diff.changes is True and diff.replaces == []
    assert provider.diff("id", olds, dict(olds)).changes is False
    seeder = SeedProvider()
    seed_olds = seed_props(unreachable, RunnerArgs())
    assert seeder.diff("id", seed_olds, {**seed_olds, "runner": {"mode": UNKNOWN}}).changes
    assert seeder.check({}, {**seed_olds, "seed_file": UNKNOWN}).failures == []


def test_check_rejects_bad_runner_settings(folder: Path) -> None:
    bad = migration_props(
        "postgresql://x@h/d", folder, RunnerArgs(mode="in-network", docker_host="http://host")
    )
    reasons = [f.reason for f in MigrationsProvider().check({}, bad).failures]
    assert any("network is required" in r for r in reasons)
    assert any("docker_host 'http://host' must start with" in r for r in reasons)
    bad["runner"]["mode"] = "ssh"
    assert any(
        "allowed: direct, in-network" in f.reason
        for f in MigrationsProvider().check({}, bad).failures
    )


def test_direct_mode(pg_module: services.Postgres, folder: Path) -> None:
    with fresh_database(pg_module) as url:
        lifecycle_round_trip(url, folder, RunnerArgs(mode="direct"), url)


def test_direct_mode_failure_fails_the_update(pg_module: services.Postgres, folder: Path) -> None:
    write(folder, "20240102000000_bad", "SELECT 1/0;\n")
    with fresh_database(pg_module) as url, pytest.raises(JobError, match=r"P3018.*22012"):
        MigrationsProvider().create(migration_props(url, folder, RunnerArgs()))


@pytest.fixture(scope="module")
def ops_image(docker_client: docker.DockerClient) -> str:
    return ops_image_support.build(docker_client, OPS_IMAGE)


@pytest.fixture(scope="module")
def internal_pg(docker_client: docker.DockerClient) -> Iterator[tuple[str, services.Postgres]]:
    with (
        services.network(docker_client, internal=True) as net,
        services.postgres(docker_client, network=net, alias="postgres") as server,
    ):
        yield net, server


def job_containers(client: docker.DockerClient) -> list[Any]:
    return client.containers.list(all=True, filters={"label": jobs.JOB_LABEL})


def test_in_network_mode(
    docker_client: docker.DockerClient,
    ops_image: str,
    internal_pg: tuple[str, services.Postgres],
    folder: Path,
) -> None:
    net, server = internal_pg
    with fresh_database(server) as verify_url:
        in_network_url = url_for(server, verify_url.rsplit("/", 1)[1], host="postgres")
        runner = RunnerArgs(
            mode="in-network",
            network=net,
            ops_image=ops_image,
            timeout_s=120,
            docker_host="unix:///var/run/docker.sock"
            if Path("/var/run/docker.sock").exists()
            else None,
        )
        before = {c.id for c in job_containers(docker_client)}
        lifecycle_round_trip(in_network_url, folder, runner, verify_url)
        assert {c.id for c in job_containers(docker_client)} == before  # always removed


def test_in_network_failure_is_reported_and_cleaned_up(
    docker_client: docker.DockerClient,
    ops_image: str,
    internal_pg: tuple[str, services.Postgres],
    folder: Path,
    tmp_path: Path,
) -> None:
    net, server = internal_pg
    write(folder, "20240102000000_bad", "SELECT 1/0;\n")
    runner = RunnerArgs(mode="in-network", network=net, ops_image=ops_image, timeout_s=120)
    before = {c.id for c in job_containers(docker_client)}
    with fresh_database(server) as verify_url:
        url = url_for(server, verify_url.rsplit("/", 1)[1], host="postgres")
        with pytest.raises(JobError, match=r"P3018.*22012") as failure:
            MigrationsProvider().create(migration_props(url, folder, runner))
        assert server.password not in str(failure.value)
    slow = tmp_path / "slow"
    shutil.copytree(folder, slow)
    shutil.rmtree(slow / "20240102000000_bad")
    write(slow, "20240102000000_slow", "SELECT pg_sleep(60);\n")
    with fresh_database(server) as verify_url:
        url = url_for(server, verify_url.rsplit("/", 1)[1], host="postgres")
        with pytest.raises(JobError, match="did not finish within 3s"):
            MigrationsProvider().create(
                migration_props(url, slow, RunnerArgs(**{**runner.__dict__, "timeout_s": 3}))
            )
    assert {c.id for c in job_containers(docker_client)} == before


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


_MOCKS = _Mocks()


@pytest.fixture()
def mocks() -> _Mocks:
    pulumi.runtime.set_mocks(_MOCKS, preview=False)
    _MOCKS.registered.clear()
    return _MOCKS


@pulumi.runtime.test
def test_registration_type_token_and_secret_dsn(mocks: _Mocks, folder: Path) -> pulumi.Output[None]:
    dsn = f"postgresql://admin:{uuid.uuid4().hex}@postgres:5432/escalafin"
    resource = DatabaseMigrations(
        "db-migrations", DatabaseMigrationsArgs(database_url=dsn, migrations_dir=str(folder))
    )

    def verify(values: list[Any]) -> None:
        (is_secret,) = values
        assert is_secret is True
        (args,) = mocks.registered
        assert args.typ == "pulumi-python:dynamic/escalafin:DatabaseMigrations"
        assert args.inputs["migrations_hash"] == folder_hash(folder)

    secret_flag = pulumi.Output.from_input(resource.database_url.is_secret())  # pyright: ignore[reportAttributeAccessIssue,reportUnknownMemberType,reportUnknownArgumentType]
    return pulumi.Output.all(secret_flag).apply(verify)
