"""The harness's own guarantees: it behaves as the engine and the docker provider do.

Pure rules first (diffs, ignore patterns, durations), then small resources on the real
engine: no refresh on `up`, in-place updates, the provider's `wait` and its init
errors, create-before-delete, destroy versus test cleanup. Each claim is cited in
harness.py's docstring; these tests keep the harness from drifting away from it.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import NotFound

from tests.e2e import build_context, plan
from tests.e2e.harness import (
    CONTAINER,
    NETWORK,
    SESSION_LABEL,
    VOLUME,
    WAIT_ERROR,
    DeploymentError,
    Harness,
)
from tests.support import images
from tests.support.program import ProgramRun, Resource

pytestmark = pytest.mark.e2e
TMP = "/tmp"  # noqa: S108 - a path inside test containers, never used here


def recorded(
    type_: str, name: str, inputs: dict[str, Any], deps: list[str] | None = None, **opts: Any
) -> Resource:
    resource = Resource(
        type=type_,
        name=name,
        urn=f"urn:pulumi:e2e::escalafin::{type_}::{name}",
        parent="",
        custom=True,
        inputs=dict(inputs),
        secret_paths=set(),
        protect=False,
        retain_on_delete=False,
        delete_before_replace=False,
        replace_on_changes=[],
        dependencies=deps or [],
        provider="",
    )
    return dataclasses.replace(resource, **opts)


def run_of(*resources: Resource) -> ProgramRun:
    return ProgramRun("dev", {}, list(resources), {}, set())


# ---------------------------------------------------------------- pure rules


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


CONTAINER_INPUTS: dict[str, Any] = {
    "name": "c",
    "image": "img",
    "envs": ["A=1", "B=2"],
    "memory": 64,
    "restart": "no",
    "healthcheck": {"tests": ["CMD", "true"]},
}


@pytest.mark.parametrize(
    ("change", "replace_on_changes", "changed", "replaced"),
    [
        ({"memory": 128}, [], ("memory",), ()),
        ({"restart": "unless-stopped"}, [], ("restart",), ()),
        ({"envs": ["B=2", "A=1"]}, [], (), ()),  # a TypeSet: order is no change
        ({"envs": ["A=1", "B=3"]}, [], ("envs",), ("envs",)),
        ({"name": "d"}, [], ("name",), ("name",)),
        ({"healthcheck": {"tests": ["CMD", "false"]}}, [], ("healthcheck",), ()),
        ({"healthcheck": {"tests": ["CMD", "false"]}}, ["healthcheck"], ("healthcheck",),
         ("healthcheck",)),
        ({"wait": True}, [], ("wait",), ()),
        ({"readOnly": True}, [], ("readOnly",), ("readOnly",)),
        ({"readOnly": False}, [], (), ()),  # the schema's default
        ({"tmpfs": {TMP: "size=1m"}}, [], ("tmpfs",), ()),
        ({"tmpfs": {TMP: "size=1m"}}, ["tmpfs"], ("tmpfs",), ("tmpfs",)),
        ({"tmpfs": {}}, [], (), ()),  # an empty map is an unset one
    ],
)  # fmt: skip
def test_container_diffs_follow_the_provider_schema(
    change: dict[str, Any],
    replace_on_changes: list[str],
    changed: tuple[str, ...],
    replaced: tuple[str, ...],
) -> None:
    r = recorded(CONTAINER, "c", CONTAINER_INPUTS, replace_on_changes=replace_on_changes)
    diff = plan.schema_diff(r, CONTAINER_INPUTS, {**CONTAINER_INPUTS, **change})
    assert (diff.changed, diff.replace_keys) == (changed, replaced)


def test_an_unknown_container_input_fails_loudly() -> None:
    r = recorded(CONTAINER, "c", CONTAINER_INPUTS)
    with pytest.raises(plan.UnmappedInput, match="'privileged' is not mapped"):
        plan.schema_diff(r, CONTAINER_INPUTS, {**CONTAINER_INPUTS, "privileged": True})


def test_ignore_patterns_follow_docker(tmp_path: Path) -> None:
    for name in ("Dockerfile", "keep/a.py", "keep/__pycache__/a.pyc", "drop/b.py", "top.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    (tmp_path / ".dockerignore").write_text("*\n!keep/\n!Dockerfile\n**/__pycache__\n")
    sent = build_context.sent_files(tmp_path, tmp_path / "Dockerfile")
    assert sent == ["Dockerfile", "keep/a.py"]
    before = build_context.digest(tmp_path, tmp_path / "Dockerfile")
    (tmp_path / "drop" / "b.py").write_text("ignored change")
    assert build_context.digest(tmp_path, tmp_path / "Dockerfile") == before
    (tmp_path / "keep" / "a.py").write_text("sent change")
    assert build_context.digest(tmp_path, tmp_path / "Dockerfile") != before


def test_a_dockerfile_outside_the_context_counts_by_its_bytes_with_its_own_ignore_file(
    tmp_path: Path,
) -> None:
    """As the nextjs template: templates/nextjs/Dockerfile (+ .dockerignore) for appContext."""
    context, shipped = tmp_path / "app", tmp_path / "templates" / "Dockerfile"
    for path, text in (
        (context / "page.ts", "page"),
        (context / "node_modules" / "x.js", "dep"),
        (context / ".dockerignore", "page.ts\n"),
        (shipped, "FROM scratch\n"),
        (Path(f"{shipped}.dockerignore"), "node_modules\n"),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # <Dockerfile>.dockerignore wins: the context's own ignore file is not read.
    assert build_context.sent_files(context, shipped) == [".dockerignore", "page.ts"]
    before = build_context.digest(context, shipped)
    (context / "node_modules" / "x.js").write_text("ignored change")
    shipped.chmod(0o600)  # hashed with mode 0: only its bytes count
    renamed = shipped.rename(shipped.with_name("other.Dockerfile"))
    Path(f"{shipped}.dockerignore").rename(f"{renamed}.dockerignore")
    assert build_context.digest(context, renamed) == before
    renamed.write_text("FROM scratch\nUSER 1001\n")
    assert build_context.digest(context, renamed) != before


# ---------------------------------------------------------------- on the engine


@pytest.fixture()
def harness(docker_client: docker.DockerClient) -> Iterator[Harness]:
    h = Harness(docker_client, f"escalafin-e2e-rules-{secrets.token_hex(4)}")
    try:
        yield h
    finally:
        h.cleanup()


def sleeper(h: Harness, name: str = "c", **inputs: Any) -> Resource:
    """A container of the Python stand-in that sleeps; healthy once /tmp/ok exists."""
    return recorded(
        CONTAINER,
        name,
        {
            "name": f"{h.session}-{name}",
            "image": images.PYTHON,
            "command": ["sh", "-c", "sleep 600"],
            "healthcheck": {
                "tests": ["CMD", "test", "-e", "/tmp/ok"],  # noqa: S108 - inside the container
                "interval": "1s",
                "timeout": "1s",
                "retries": 1,
            },
            "destroyGraceSeconds": 0,
            **inputs,
        },
    )


def test_unmapped_input_fails_and_cleanup_removes_everything(harness: Harness) -> None:
    network = recorded(NETWORK, "internal", {"name": f"{harness.session}-net", "internal": True})
    bad = recorded(CONTAINER, "bad", {"name": "x", "image": "y", "privileged": True}, [network.urn])
    flt: dict[str, Any] = {"label": f"{SESSION_LABEL}={harness.session}"}
    with pytest.raises(plan.UnmappedInput, match="'privileged' is not mapped"):
        harness.up(run_of(network, bad))
    assert harness.client.networks.list(filters=flt)
    harness.cleanup()
    assert not harness.client.networks.list(filters=flt)


def test_read_only_root_and_tmpfs_are_created_and_a_tmpfs_change_needs_replace_on_changes(
    harness: Harness,
) -> None:
    def tmpfs(size: str, **opts: Any) -> Resource:
        c = sleeper(harness, readOnly=True, tmpfs={TMP: f"size={size}"})
        # As the program's containers: a fixed name, so delete before replace.
        return dataclasses.replace(
            c, delete_before_replace=True, delete_before_replace_defined=True, **opts
        )

    harness.up(run_of(tmpfs("1m")))
    host = harness.container("c").attrs["HostConfig"]
    assert (host["ReadonlyRootfs"], host["Tmpfs"]) == (True, {TMP: "size=1m"})
    assert harness.up(run_of(tmpfs("2m"))).updated == ["Container/c"]  # state only
    assert harness.container("c").attrs["HostConfig"]["Tmpfs"] == {TMP: "size=1m"}
    listed = tmpfs("3m", replace_on_changes=["tmpfs"])
    assert harness.up(run_of(listed)).replaced == ["Container/c"]
    assert harness.container("c").attrs["HostConfig"]["Tmpfs"] == {TMP: "size=3m"}


def test_up_does_not_refresh_a_container_removed_by_hand(harness: Harness) -> None:
    run = run_of(sleeper(harness))
    harness.up(run)
    harness.container("c").remove(force=True)
    again = harness.up(run)
    assert again.unchanged == ["Container/c"], "up trusts the state, as the engine does"
    assert harness.refresh().gone == ["Container/c"]
    assert harness.up(run).created == ["Container/c"]


def test_memory_and_restart_change_in_place(harness: Harness) -> None:
    first = sleeper(harness, memory=64, memorySwap=64, restart="no")
    harness.up(run_of(first))
    before = harness.container("c").id
    bigger = dataclasses.replace(
        first, inputs={**first.inputs, "memory": 512, "memorySwap": 512, "restart": "always"}
    )
    assert harness.up(run_of(bigger)).updated == ["Container/c"]
    container = harness.container("c")
    assert container.id == before
    host = container.attrs["HostConfig"]
    assert (host["Memory"], host["RestartPolicy"]["Name"]) == (512 * 1024 * 1024, "always")


def test_memory_beyond_the_swap_set_at_create_is_refused_as_by_the_provider(
    harness: Harness,
) -> None:
    """Docker set MemorySwap = 2 x Memory at create; raising Memory past it alone fails."""
    first = sleeper(harness, memory=64)
    harness.up(run_of(first))
    bigger = dataclasses.replace(first, inputs={**first.inputs, "memory": 512})
    with pytest.raises(DeploymentError, match="memoryswap"):
        harness.up(run_of(bigger))


def test_a_failed_wait_stays_an_init_error_and_the_next_up_lies(harness: Harness) -> None:
    """The provider's own behaviour, which HealthGate exists to correct."""
    run = run_of(sleeper(harness, wait=True, waitTimeout=3))
    with pytest.raises(DeploymentError, match=WAIT_ERROR):
        harness.up(run)
    assert harness.state[run.resources[0].urn].init_errors
    again = harness.up(run)  # an empty update: waits for nothing, succeeds
    assert again.updated == ["Container/c"]
    health = harness.container("c").attrs["State"]["Health"]["Status"]
    assert health != "healthy"


def test_create_before_delete_deletes_the_old_one_last(harness: Harness) -> None:
    old = sleeper(harness, "svc")
    harness.up(run_of(old))
    old_id = harness.container("svc").id
    new = dataclasses.replace(old, inputs={**old.inputs, "name": f"{harness.session}-svc-2"})
    result = harness.up(run_of(new))
    assert result.replaced == ["Container/svc"]
    assert [s[0] for s in result.steps] == ["Container/svc"]
    with pytest.raises(NotFound):
        harness.client.containers.get(old_id)


def test_create_before_delete_with_a_fixed_name_fails_as_the_engine_would(
    harness: Harness,
) -> None:
    old = sleeper(harness, "svc")
    harness.up(run_of(old))
    new = dataclasses.replace(old, inputs={**old.inputs, "envs": ["X=1"]})
    with pytest.raises(DeploymentError, match=r"Conflict|already in use"):
        harness.up(run_of(new))
    assert harness.container("svc").attrs["Config"]["Env"][0] != "X=1"


def test_destroy_keeps_retained_volumes_and_cleanup_removes_them(harness: Harness) -> None:
    kept = recorded(VOLUME, "data", {"name": f"{harness.session}-data"}, retain_on_delete=True)
    gone = recorded(VOLUME, "scratch", {"name": f"{harness.session}-scratch"})
    harness.up(run_of(kept, gone))
    assert harness.destroy() == ["Volume/scratch", "Volume/data"]
    names = {v.name for v in harness.client.volumes.list()}
    assert f"{harness.session}-data" in names
    assert f"{harness.session}-scratch" not in names
    harness.cleanup()
    assert f"{harness.session}-data" not in {v.name for v in harness.client.volumes.list()}
