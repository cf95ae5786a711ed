"""Pure rules behind day-two operations: build platform, health gate verdicts, kept builds."""

from __future__ import annotations

import platform

import pytest

from components import validation
from components.builds import repository_of
from components.settings import ConfigError, load
from lifecycle.health_gate import Observation, assess
from lifecycle.image_history import Build, build_tag, to_prune
from tests.support.program import run_program, stack_config
from tests.unit.test_settings import DictConfig

pytestmark = pytest.mark.unit

IMAGE = "docker:index/image:Image"


def platforms(stack: str, **overrides: str) -> set[str]:
    run = run_program(stack, overrides)
    return {r.inputs["build"]["platform"] for r in run.of_type(IMAGE)}


def test_a_local_engine_builds_for_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    expected = validation.machine_platform(platform.machine())
    assert platforms("dev") == {expected}


def test_a_remote_host_requires_its_platform_in_the_stack_file() -> None:
    values, secrets = stack_config("dev", {"escalafin:appPlatform": None})
    with pytest.raises(ConfigError) as info:
        load(DictConfig(values, secrets), stack="dev", docker_host="ssh://deploy@arm-host")
    message = str(info.value)
    assert "escalafin:appPlatform" in message
    assert "ssh://deploy@arm-host is remote" in message


def test_the_configured_platform_reaches_both_images() -> None:
    assert platforms("dev", **{"escalafin:appPlatform": "linux/arm64"}) == {"linux/arm64"}
    assert platforms("prod") == {"linux/amd64"}  # Pulumi.prod.yaml states its host's CPU


@pytest.mark.parametrize("raw", ["amd64", "linux/x86_64", "windows/amd64", "linux/arm64 "])
def test_unknown_platforms_are_refused(raw: str) -> None:
    with pytest.raises(validation.InvalidValue, match="linux/amd64"):
        validation.parse_platform(raw)


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("x86_64", "linux/amd64"), ("aarch64", "linux/arm64"), ("arm64", "linux/arm64"),
     ("sparc64", None)],
)  # fmt: skip
def test_machine_names_map_to_docker_platforms(machine: str, expected: str | None) -> None:
    assert validation.machine_platform(machine) == expected


@pytest.mark.parametrize(
    ("host", "remote"),
    [(None, False), ("unix:///var/run/docker.sock", False), ("ssh://deploy@h", True),
     ("tcp://10.0.0.2:2376", True)],
)  # fmt: skip
def test_remote_docker_hosts(host: str | None, remote: bool) -> None:
    assert validation.is_remote_docker_host(host) is remote


# ---------------------------------------------------------------- health gate


STARTING = Observation("running", "starting", retries=2, interval_s=30)
SICK = Observation("running", "unhealthy", retries=2, interval_s=30)  # recovery_s = 180


@pytest.mark.parametrize(
    ("observed", "start", "waited", "verdict", "why"),
    [
        (Observation("running", "healthy"), None, 0, "healthy", "is healthy"),
        (STARTING, STARTING, 5, "waiting", "is running, health starting"),
        (SICK, None, 0, "failed", "is unhealthy"),
        (SICK, STARTING, 5, "failed", "is unhealthy"),  # failed its own retries while we waited
        # Unhealthy when the wait began (a dependency was down): time to recover first.
        (SICK, SICK, 170, "waiting", "unhealthy"),
        (SICK, SICK, 181, "failed", "still unhealthy after 180 s"),
        (Observation("running", "healthy"), SICK, 20, "healthy", "is healthy"),
        (Observation("exited", "unhealthy"), STARTING, 1, "failed", "is exited"),
        (Observation("restarting", "starting", restarts=3),
         Observation("running", "starting", restarts=2), 1, "failed", "restarted"),
        (Observation(None, None), None, 0, "failed", "does not exist"),
        (Observation("running", None), None, 0, "failed", "has no healthcheck"),
    ],
)  # fmt: skip
def test_gate_verdicts(
    observed: Observation, start: Observation | None, waited: float, verdict: str, why: str
) -> None:
    got, reason = assess(observed, start, waited)
    assert got == verdict
    assert why in reason


def test_observation_reads_the_last_health_check_output() -> None:
    attrs = {
        "State": {
            "Status": "running",
            "Health": {
                "Status": "unhealthy",
                "FailingStreak": 4,
                "Log": [{"Output": "a"}, {"Output": "boom\n"}],
            },
        },
        "Config": {"Healthcheck": {"Retries": 3, "Interval": 2_000_000_000}},
        "RestartCount": 2,
    }
    assert Observation.of(attrs) == Observation("running", "unhealthy", 2, "boom", 4, 3, 2.0)


# ---------------------------------------------------------------- kept builds


def test_builds_beyond_the_last_deployed_few_are_pruned_never_the_current_one() -> None:
    builds = [
        Build(f"app:build-{i}", f"sha256:{i}", f"2025-01-0{i}T00:00:00Z") for i in range(1, 6)
    ]
    # Deployed 5, 4, 3 (newest first); now build-1 again: a rollback, a cache hit whose
    # creation date is the oldest of all. It is current, so kept; 5 and 4 stay with it.
    doomed = to_prune(builds, "app:build-1", ["app:build-5", "app:build-4", "app:build-3"], 3)
    assert [b.tag for b in doomed] == ["app:build-3", "app:build-2"]
    # Nothing recorded yet (builds made before ImageHistory existed): newest first.
    assert [b.tag for b in to_prune(builds, "app:build-5", [], 3)] == ["app:build-2", "app:build-1"]


def test_build_tags_and_repositories() -> None:
    assert (
        build_tag("escalafin-dev-app", "sha256:" + "ab" * 32)
        == "escalafin-dev-app:build-abababababab"
    )
    assert repository_of("escalafin-dev-app:latest") == "escalafin-dev-app"
    assert repository_of("registry:5000/team/app:1.2") == "registry:5000/team/app"
    assert repository_of("registry:5000/team/app") == "registry:5000/team/app"
