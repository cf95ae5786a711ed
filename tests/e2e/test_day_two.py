"""A stack's real life on the lab engine: destroy and up, rotate, refresh, fail and recover.

One dev deployment per module; its fixture does the first `up`, and every test starts
from a converged stack (`day_two.converged`), so each test also passes alone. The
harness behaves as `pulumi` and its providers do (tests/e2e/harness.py): `up` never
refreshes, updates in place what the provider updates in place, and a container's
`wait` is not trusted — the HealthGates are.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import ImageNotFound

from lifecycle.image_history import build_tag
from tests.e2e import checks, day_two, scenarios
from tests.e2e.conftest import Deployment
from tests.e2e.harness import DeploymentError
from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    yield from scenarios.deployed(docker_client, "dev")


def test_destroy_then_up_keeps_the_data_with_new_or_same_credentials(stack: Deployment) -> None:
    """Story 1: retained volumes come back; the configured/generated password wins."""
    d = stack
    day_two.converged(d)
    token = scenarios.mark_data(d)
    old_password = day_two.generated(d, "databasePassword")

    deleted = d.destroy()
    assert "Volume/postgres-data" in deleted
    assert d.harness.client.volumes.get(f"{d.prefix}-postgres-data")  # retained
    result = d.up()
    assert "RandomPassword/databasePassword" in result.created  # a new password...
    new_password = day_two.generated(d, "databasePassword")
    assert new_password != old_password
    assert token in scenarios.pg_marker(d)  # ...over the old data directory
    assert day_two.db_login(d, new_password)
    assert not day_two.db_login(d, old_password)
    assert scenarios.seed_state(d)["outcome"] == "skipped"
    status, body = scenarios.wait_health(d.app_port)
    assert status == 200, body
    day_two.backup_now(d)

    # The same again with a configured password: it survives destroy/up unchanged.
    configured = f"pw-{secrets.token_hex(12)}"
    d.configure_secret(databasePassword=configured)
    d.up()
    assert day_two.db_login(d, configured)
    d.destroy()
    d.up()
    assert day_two.db_login(d, configured)
    assert not day_two.db_login(d, new_password)
    assert token in scenarios.pg_marker(d)
    assert scenarios.wait_health(d.app_port)[0] == 200


def test_rotating_every_credential_reconnects_everything(stack: Deployment) -> None:
    """Story 2: `config set --secret` + `up`; old secrets stop working, no data is lost."""
    d = stack
    day_two.converged(d)
    token = scenarios.mark_data(d)
    admin_hash = day_two.admin_password_hash(d)
    old = {
        "redis": day_two.env_of(d.container("redis"), "REDISCLI_AUTH"),
        "db": day_two.env_of(d.container("postgres"), "POSTGRES_PASSWORD"),
        "store": (
            day_two.env_of(scenarios.backup_agent(d), "AWS_ACCESS_KEY_ID"),
            day_two.env_of(scenarios.backup_agent(d), "AWS_SECRET_ACCESS_KEY"),
        ),
    }
    new = {k: f"{k}-{secrets.token_hex(12)}" for k in ("db", "redis", "auth", "ak", "sk", "seed")}
    d.configure_secret(
        databasePassword=new["db"],
        redisPassword=new["redis"],
        nextauthSecret=new["auth"],
        backupS3AccessKeyId=new["ak"],
        backupS3SecretAccessKey=new["sk"],
        seedAdminPassword=new["seed"],
    )
    result = d.up()

    assert day_two.db_login(d, new["db"]) and not day_two.db_login(d, old["db"])
    assert day_two.redis_auth(d, new["redis"]) and not day_two.redis_auth(d, old["redis"])
    assert day_two.env_of(d.container("app"), "NEXTAUTH_SECRET") == new["auth"]
    agent = scenarios.backup_agent(d)
    assert day_two.env_of(agent, "AWS_ACCESS_KEY_ID") == new["ak"]
    assert day_two.store_accepts(d, new["ak"], new["sk"])
    if not day_two.store_accepts(d, "not-a-key", "not-a-secret"):  # a store that checks keys
        assert not day_two.store_accepts(d, *old["store"])
    day_two.backup_now(d)  # the agent uploads with the new keys
    # The seed re-checks the new database identity but only ever fills an empty users
    # table: users own their passwords, so a new seed password changes none of them.
    assert scenarios.seed_state(d)["outcome"] == "skipped"
    assert day_two.admin_password_hash(d) == admin_hash
    assert {"Container/postgres", "Container/redis", "Container/app"} <= set(result.replaced)
    assert token in scenarios.pg_marker(d)
    assert checks.redis(d.container("redis"), "GET", scenarios.MARKER_KEY) == token
    status, body = scenarios.wait_health(d.app_port)
    assert status == 200 and body["status"] == "healthy", body


def test_a_container_deleted_by_hand_comes_back_after_refresh(stack: Deployment) -> None:
    """Story 3: `up` alone trusts the state (no refresh); the gate says so; refresh fixes it."""
    d = stack
    day_two.converged(d)
    token = scenarios.mark_data(d)
    redis = d.container("redis")
    redis.remove(force=True)
    with pytest.raises(DeploymentError, match=f"container {redis.name} does not exist"):
        d.up()
    assert d.refresh().gone == ["Container/redis"]
    result = d.up()
    assert "Container/redis" in result.created
    assert checks.redis(d.container("redis"), "GET", scenarios.MARKER_KEY) == token  # AOF volume
    assert scenarios.wait_health(d.app_port)[0] == 200


def test_a_broken_app_fails_every_up_until_fixed_then_rolls_back(
    stack: Deployment, tmp_path: Path
) -> None:
    """Story 4 and rollback: no `up` reports success over an unhealthy app; the old
    replica keeps serving meanwhile (create before delete, the route never switched)."""
    d = stack
    day_two.converged(d)
    good_image = d.harness.outputs("Image/app")["repoDigest"]
    serving = d.container("app").name
    good_context = d.overrides.get("escalafin:appContext")
    d.configure(appContext=str(day_two.broken_app(tmp_path)))
    for attempt in (1, 2):
        with pytest.raises(DeploymentError) as failed:
            d.up()
        message = str(failed.value)
        new = d.container("app").name  # the new replica: generated name, in state
        assert new != serving
        assert re.search(f"container {new} is (still )?unhealthy", message), (attempt, message)
        assert "last 20 log lines" in message and "/api/health" in message, message
        assert scenarios.wait_health(d.app_port)[0] == 200  # still the old replica
    assert len(day_two.builds(d, "app")) == 2  # the good build is kept for rollback

    # Roll back as documented: pin the kept build; nothing is built.
    d.configure(appImage=build_tag(f"{d.prefix}-app", good_image), appContext=good_context)
    result = d.up()
    assert "Container/app" in result.replaced and "Image/app" in result.deleted
    assert d.container("app").image.id == good_image
    assert scenarios.wait_health(d.app_port)[0] == 200
    d.configure(appImage=None)  # building from source again: a cache hit of the same image
    d.up()
    assert d.harness.outputs("Image/app")["repoDigest"] == good_image


def test_only_the_last_three_builds_are_kept(stack: Deployment, tmp_path: Path) -> None:
    """The provider never deletes a build; ImageHistory keeps 3 (for rollback) and prunes."""
    d = stack
    day_two.converged(d)
    good_context = d.overrides.get("escalafin:appContext")
    made: list[str] = []
    for n in range(4):
        copy = tmp_path / f"app-{n}"
        shutil.copytree(PROJECT_DIR / "app", copy)
        with (copy / "escalafin_app" / "__init__.py").open("a") as f:
            f.write(f"\n# build {n} {secrets.token_hex(4)}\n")
        d.configure(appContext=str(copy))
        d.up()
        made.append(d.harness.outputs("Image/app")["repoDigest"])
    kept = day_two.builds(d, "app")
    assert len(kept) == 3, kept
    assert build_tag(f"{d.prefix}-app", made[-1]) in kept
    with pytest.raises(ImageNotFound):  # untagged and unused: Docker removed it
        d.harness.client.images.get(made[0])
    d.configure(appContext=good_context)
    d.up()


def test_memory_and_restart_policy_change_in_place(stack: Deployment) -> None:
    """Story 5: the provider updates these without replacing the containers."""
    d = stack
    day_two.converged(d)
    before = scenarios.container_ids(d)
    d.configure(appMemoryMb="1536", restartPolicy="always")  # > 2 x the old limit
    result = d.up()
    assert not result.replaced and not result.created, result
    assert {"Container/app", "Container/postgres", "Container/redis"} <= set(result.updated)
    assert scenarios.container_ids(d) == before
    app = d.container("app").attrs["HostConfig"]
    assert app["Memory"] == 1536 * 1024 * 1024
    for name in scenarios.CONTAINERS:
        assert d.container(name).attrs["HostConfig"]["RestartPolicy"]["Name"] == "always"
    d.configure(appMemoryMb=None, restartPolicy=None)
    assert not d.up().replaced


def test_refresh_from_another_checkout_and_with_the_database_stopped(
    stack: Deployment, tmp_path: Path
) -> None:
    """Story 6: refresh reports drift and never crashes; the next up repairs it."""
    d = stack
    day_two.converged(d)
    elsewhere = day_two.checkout_copy(tmp_path)
    assert d.harness.refresh(elsewhere).drifted == []  # same stack, other path: no drift

    postgres = d.container("postgres")
    postgres.stop(timeout=30)
    refreshed = d.harness.refresh(elsewhere)
    assert {"Container/postgres", "DatabaseMigrations/migrations"} <= set(refreshed.drifted)
    migrations = d.harness.outputs("DatabaseMigrations/migrations")
    assert migrations["unverified"], migrations
    assert not d.harness.outputs("HealthGate/postgres-health")["status"].startswith("healthy")

    result = d.up()  # starts postgres (must_run), waits for it, verifies migrations again
    assert "Container/postgres" in result.updated
    assert "DatabaseMigrations/migrations" in result.updated
    assert d.harness.outputs("DatabaseMigrations/migrations")["unverified"] is None
    assert d.container("postgres").id == postgres.id
    assert scenarios.wait_health(d.app_port)[0] == 200


def test_images_are_built_for_the_docker_hosts_platform(stack: Deployment) -> None:
    """Story 7 (locally derived; a remote host must state it: tests/unit)."""
    d = stack
    day_two.converged(d)
    engine = d.harness.client.version()
    expected = f"{engine['Os']}/{engine['Arch']}"
    for kind in ("app", "ops"):
        outputs = d.harness.outputs(f"Image/{kind}")
        assert outputs["platform"] == expected
        image = d.harness.client.images.get(outputs["repoDigest"])
        assert f"{image.attrs['Os']}/{image.attrs['Architecture']}" == expected


def test_every_declared_resource_is_realised(stack: Deployment) -> None:
    """Story 10: nothing the dev stack declares is skipped or emulated away."""
    d = stack
    day_two.converged(d)
    declared = {f"{r.type.rsplit(':', 1)[-1]}/{r.name}" for r in d.program().resources if r.custom}
    assert declared == set(d.harness.labels())
    assert not [label for label in declared if label.startswith(("Bucket", "Provider"))]
