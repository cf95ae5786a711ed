"""The harness's own guarantees: it behaves as the engine and the docker provider do.

Pure rules first (diffs, ignore patterns, durations), then small resources on the real
engine: no refresh on `up`, in-place updates, the provider's `wait` and its init
errors, the provider's delete-before-replace answer, autonamed containers replaced
create-before-delete, uploads, destroy versus test cleanup. Each claim is cited in
harness.py's docstring; these tests keep the harness from drifting away from it.
"""

from __future__ import annotations

import dataclasses
import re
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


@pytest.mark.parametrize(
    ("type_", "inputs", "change", "delete_first"),
    [
        (CONTAINER, CONTAINER_INPUTS, {"envs": ["A=2"]}, True),  # resources.go: always
        (CONTAINER, CONTAINER_INPUTS, {"memory": 128}, False),  # no replacement, no answer
        (NETWORK, {"name": "n"}, {"name": "m"}, True),  # a name the program set
        (VOLUME, {"labels": []}, {"labels": [{"label": "a", "value": "b"}]}, False),  # autonamed
    ],
)
def test_the_providers_delete_before_replace_answer(
    type_: str, inputs: dict[str, Any], change: dict[str, Any], delete_first: bool
) -> None:
    """pulumi-terraform-bridge Diff: DeleteBeforeReplace of the resource info, or a name the
    program set; the engine uses it only when the program left the option unset."""
    r = recorded(type_, "r", inputs)
    assert plan.schema_diff(r, inputs, {**inputs, **change}).delete_before_replace is delete_first


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


def create_before_delete(r: Resource) -> Resource:
    """The program set `delete_before_replace=False`, overriding the provider (like the app)."""
    return dataclasses.replace(r, delete_before_replace=False, delete_before_replace_defined=True)


def test_create_before_delete_deletes_the_old_one_last(harness: Harness) -> None:
    old = create_before_delete(sleeper(harness, "svc"))
    harness.up(run_of(old))
    old_id = harness.container("svc").id
    new = dataclasses.replace(old, inputs={**old.inputs, "name": f"{harness.session}-svc-2"})
    result = harness.up(run_of(new))
    assert result.replaced == ["Container/svc"]
    steps = [(s[0], s[1]) for s in result.steps]
    assert steps == [("Container/svc", "replaced"), ("Container/svc", "deleted")]  # old: last
    with pytest.raises(NotFound):
        harness.client.containers.get(old_id)


def test_create_before_delete_with_a_fixed_name_fails_as_the_engine_would(
    harness: Harness,
) -> None:
    old = create_before_delete(sleeper(harness, "svc"))
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


def test_unset_option_on_a_container_is_delete_first(harness: Harness) -> None:
    """The provider's answer (resources.go): a fixed name is replaced without a conflict."""
    old = sleeper(harness, "svc")
    harness.up(run_of(old))
    old_id = harness.container("svc").id
    new = dataclasses.replace(old, inputs={**old.inputs, "envs": ["X=1"]})
    assert harness.up(run_of(new)).replaced == ["Container/svc"]
    assert harness.container("svc").id != old_id
    with pytest.raises(NotFound):
        harness.client.containers.get(old_id)


MOCK_NAME = "svc-mock123"  # what the mocks report as the autonamed container's name


def autonamed(h: Harness, version: str, **inputs: Any) -> Resource:
    """An autonamed, create-before-delete container, like each app replica."""
    r = sleeper(h, "svc", envs=[f"VERSION={version}"], **inputs)
    del r.inputs["name"]
    return create_before_delete(dataclasses.replace(r, outputs={"name": MOCK_NAME}))


def user_of(h: Harness, svc: Resource) -> Resource:
    """A container whose input is the autonamed one's name (as the ingress route's is)."""
    user = sleeper(h, "user", envs=[f"UPSTREAM={MOCK_NAME}"])
    return dataclasses.replace(user, dependencies=[svc.urn])


def session_names(h: Harness) -> set[str]:
    flt: dict[str, Any] = {"label": f"{SESSION_LABEL}={h.session}"}
    return {str(c.name) for c in h.client.containers.list(all=True, filters=flt)}


def test_autonamed_replacement_gets_a_new_name_dependents_see_it_old_goes_last(
    harness: Harness,
) -> None:
    """SetAutonaming(255, "-"): <name>-<7 hex>, kept by updates, new on a replacement."""
    first = autonamed(harness, "1")
    harness.up(run_of(first))
    old = harness.container("svc").name
    assert re.fullmatch(r"svc-[0-9a-f]{7}", old)
    resized = dataclasses.replace(first, inputs={**first.inputs, "memory": 64, "memorySwap": 64})
    assert harness.up(run_of(resized)).updated == ["Container/svc"]
    assert harness.container("svc").name == old  # an update keeps the autoname
    svc = autonamed(harness, "2")
    result = harness.up(run_of(svc, user_of(harness, svc)))
    new = harness.container("svc").name
    assert new != old
    assert [(s[0], s[1]) for s in result.steps] == [
        ("Container/svc", "replaced"),
        ("Container/user", "created"),
        ("Container/svc", "deleted"),  # the old one, after everything else
    ]
    assert f"UPSTREAM={new}" in harness.container("user").attrs["Config"]["Env"]
    assert session_names(harness) == {new, f"{harness.session}-user"}
    assert harness.up(run_of(svc)).deleted == ["Container/user"]  # declared no more


def test_a_failed_replacement_keeps_the_old_until_an_up_succeeds(harness: Harness) -> None:
    """CreateStep.Apply marks the old one for deletion even when the new one's init failed;
    the failed up runs no deletes, the next successful one deletes both."""
    harness.up(run_of(autonamed(harness, "1", command=["sh", "-c", "touch /tmp/ok; sleep 600"])))
    old = harness.container("svc").name
    broken = autonamed(harness, "2", wait=True, waitTimeout=3)
    with pytest.raises(DeploymentError, match=WAIT_ERROR):
        harness.up(run_of(broken))
    failed = harness.container("svc").name  # in state with an init error
    assert harness.state[broken.urn].init_errors
    assert session_names(harness) == {old, failed}  # the old one still runs
    result = harness.up(run_of(autonamed(harness, "3")))
    assert result.replaced == ["Container/svc"]
    assert result.deleted == ["Container/svc", "Container/svc"]  # the broken, then the old
    assert session_names(harness) == {harness.container("svc").name}


def test_uploads_are_in_place_before_the_container_starts(harness: Harness) -> None:
    """The provider copies `upload` files in after create, before start (mode 0644)."""
    r = sleeper(
        harness,
        command=["sh", "-c", "cat /etc/probe/hello > /tmp/seen; sleep 600"],
        uploads=[{"file": "/etc/probe/hello", "content": "hi"}],
    )
    harness.up(run_of(r))
    code, out = harness.container("c").exec_run(
        ["sh", "-c", "cat /tmp/seen; echo; stat -c %a /etc/probe/hello"]
    )
    assert code == 0 and out.decode().split() == ["hi", "644"]
