"""The harness's own guarantees: unknown inputs fail loudly, cleanup survives failures,
replacements happen in the engine's order."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import pytest

from tests.e2e import plan
from tests.e2e.harness import (
    CONTAINER,
    NETWORK,
    SESSION_LABEL,
    Harness,
    PartialCreate,
    UpResult,
    delete_before_replace,
)
from tests.support import images
from tests.support.docker_env import require_image
from tests.support.program import ProgramRun, Resource

pytestmark = pytest.mark.e2e


def recorded(
    type_: str,
    name: str,
    inputs: dict[str, object],
    deps: list[str],
    *,
    dbr: bool | None = True,
    outputs: dict[str, object] | None = None,
) -> Resource:
    return Resource(
        type=type_,
        name=name,
        urn=f"urn:pulumi:e2e::escalafin::{type_}::{name}",
        parent="",
        custom=True,
        inputs=dict(inputs),
        secret_paths=set(),
        protect=False,
        retain_on_delete=False,
        delete_before_replace=dbr,
        replace_on_changes=[],
        dependencies=deps,
        provider="",
        outputs=dict(outputs or {}),
    )


def test_go_durations_become_nanoseconds() -> None:
    assert plan.go_duration_ns("10s") == 10_000_000_000
    assert plan.go_duration_ns("1m30s") == 90_000_000_000
    assert plan.go_duration_ns("250ms") == 250_000_000
    with pytest.raises(ValueError, match="not a Go duration"):
        plan.go_duration_ns("10")


def test_mocked_values_are_replaced_inside_strings() -> None:
    subs = plan.Substitutions()
    subs.learn({"result": "mock-password-123"}, {"result": "real-secret-456"})
    value = {"envs": ["DATABASE_URL=postgresql://u:mock-password-123@postgres:5432/db"]}
    assert subs.apply(value) == {
        "envs": ["DATABASE_URL=postgresql://u:real-secret-456@postgres:5432/db"]
    }


def test_unmapped_input_fails_and_everything_created_is_removed(
    docker_client: docker.DockerClient,
) -> None:
    session = f"escalafin-e2e-rules-{secrets.token_hex(4)}"
    network = recorded(NETWORK, "internal", {"name": f"{session}-net", "internal": True}, [])
    container = recorded(
        CONTAINER,
        "bad",
        {"name": f"{session}-bad", "image": "unused", "privileged": True},
        [network.urn],
    )
    harness = Harness(docker_client, session)
    run = ProgramRun("dev", {}, [network, container], {}, set())
    try:
        with pytest.raises(plan.UnmappedInput, match="'privileged' is not mapped"):
            harness.up(run)
        assert docker_client.networks.list(filters={"label": f"{SESSION_LABEL}={session}"})
    finally:
        harness.destroy()
    assert not docker_client.networks.list(filters={"label": f"{SESSION_LABEL}={session}"})


def test_unset_delete_before_replace_is_the_providers_answer() -> None:
    """pulumi-docker declares DeleteBeforeReplace for containers only (provider/resources.go)."""
    assert delete_before_replace(recorded(CONTAINER, "c", {}, [], dbr=None)) is True
    assert delete_before_replace(recorded(CONTAINER, "c", {}, [], dbr=False)) is False
    assert delete_before_replace(recorded(NETWORK, "n", {}, [], dbr=None)) is False


MOCK_NAME = "svc-mock123"  # what the mocks would report as the autonamed container's name


def sleeper(version: str, deps: list[str], healthcheck: list[str] | None = None) -> Resource:
    """An autonamed, create-before-delete container (like the app)."""
    inputs: dict[str, object] = {
        "image": images.PYTHON,
        "command": ["sleep", "600"],
        "envs": [f"VERSION={version}"],
        "destroyGraceSeconds": 0,
    }
    if healthcheck:
        inputs.update(
            healthcheck={"tests": healthcheck, "interval": "1s", "timeout": "1s", "retries": 1},
            wait=True,
            waitTimeout=30,
        )
    return recorded(CONTAINER, "svc", inputs, deps, dbr=False, outputs={"name": MOCK_NAME})


def user_of_svc(session: str, deps: list[str]) -> Resource:
    """A named (delete-first) container whose input is the autonamed one's name."""
    inputs = {
        "name": f"{session}-user",
        "image": images.PYTHON,
        "command": ["sleep", "600"],
        "envs": [f"UPSTREAM={MOCK_NAME}"],
    }
    return recorded(CONTAINER, "user", inputs, deps)


def names_in_session(client: docker.DockerClient, session: str) -> set[str]:
    flt: dict[str, str | list[str] | bool] = {"label": f"{SESSION_LABEL}={session}"}
    return {str(c.name) for c in client.containers.list(all=True, filters=flt)}


@dataclass
class Sandbox:
    harness: Harness
    session: str
    net: Resource

    def up(self, *resources: Resource) -> UpResult:
        return self.harness.up(ProgramRun("dev", {}, [self.net, *resources], {}, set()))

    def names(self) -> set[str]:
        return names_in_session(self.harness.client, self.session)


@pytest.fixture
def sandbox(docker_client: docker.DockerClient) -> Iterator[Sandbox]:
    """A harness with one network, destroyed afterwards."""
    require_image(docker_client, images.PYTHON)
    session = f"escalafin-e2e-rules-{secrets.token_hex(4)}"
    harness = Harness(docker_client, session)
    try:
        yield Sandbox(harness, session, recorded(NETWORK, "public", {"name": f"{session}-net"}, []))
    finally:
        harness.destroy()


def test_create_before_delete_creates_updates_dependents_then_deletes_old(
    sandbox: Sandbox,
) -> None:
    net = sandbox.net
    sandbox.up(sleeper("1", [net.urn]))
    old = sandbox.harness.container("svc")
    assert old.name.startswith("svc-") and len(old.name) == len("svc-") + 7  # autonamed
    svc = sleeper("2", [net.urn])
    result = sandbox.up(svc, user_of_svc(sandbox.session, [svc.urn]))
    new = sandbox.harness.container("svc")
    assert new.name != old.name
    assert [(s[0], s[1]) for s in result.steps] == [
        ("Network/public", "unchanged"),
        ("Container/svc", "replaced"),
        ("Container/user", "created"),
        ("Container/svc", "deleted"),  # the old one, after everything else
    ]
    env = sandbox.harness.container("user").attrs["Config"]["Env"]
    assert f"UPSTREAM={new.name}" in env  # the dependent saw the new one
    assert sandbox.names() == {new.name, f"{sandbox.session}-user"}
    # Declared no more: deleted at the end as well.
    assert sandbox.up(svc).deleted == ["Container/user"]
    assert sandbox.names() == {new.name}


def test_never_healthy_replacement_keeps_the_old_until_a_later_up_succeeds(
    sandbox: Sandbox,
) -> None:
    net = sandbox.net
    sandbox.up(sleeper("1", [net.urn], ["CMD", "true"]))
    old = sandbox.harness.container("svc").name
    broken = sleeper("2", [net.urn], ["CMD", "false"])
    with pytest.raises(PartialCreate, match="not healthy"):
        sandbox.up(broken)
    failed = sandbox.harness.container("svc").name  # in state with an init error
    assert sandbox.harness.state[broken.urn].init_error
    assert sandbox.names() == {old, failed}  # the old one is still there
    result = sandbox.up(sleeper("3", [net.urn], ["CMD", "true"]))
    assert "Container/svc" in result.replaced
    assert result.deleted == ["Container/svc", "Container/svc"]  # the broken, then the old
    assert sandbox.names() == {sandbox.harness.container("svc").name}
