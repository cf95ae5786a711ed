"""The harness's own guarantees: unknown inputs fail loudly, cleanup survives failures."""

from __future__ import annotations

import secrets

import docker
import pytest

from tests.e2e import plan
from tests.e2e.harness import CONTAINER, NETWORK, SESSION_LABEL, Harness
from tests.support.program import ProgramRun, Resource

pytestmark = pytest.mark.e2e


def recorded(type_: str, name: str, inputs: dict[str, object], deps: list[str]) -> Resource:
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
        delete_before_replace=True,
        replace_on_changes=[],
        dependencies=deps,
        provider="",
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
