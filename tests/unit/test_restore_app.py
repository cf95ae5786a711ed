"""Both restores' `App`: every replica stopped, every replica started and waited on with
the health gates' rules (container_health), against a fake Docker client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from docker.errors import NotFound

from lifecycle import cli, restore

pytestmark = pytest.mark.unit


@dataclass
class FakeContainer:
    name: str
    starts_as: str = "healthy"
    """The health Docker reports once started: healthy, or exited (a replica that crashes)."""
    events: list[str] = field(default_factory=list[str])
    running: bool = True

    @property
    def attrs(self) -> dict[str, Any]:
        exited = not self.running or self.starts_as == "exited"
        return {
            "State": {
                "Status": "exited" if exited else "running",
                "Health": {"Status": "unhealthy" if exited else "healthy", "Log": []},
            },
            "Config": {"Healthcheck": {"Retries": 3, "Interval": 1_000_000_000}},
        }

    def stop(self, timeout: int) -> None:
        self.events.append(f"stop {self.name}")
        self.running = False

    def start(self) -> None:
        self.events.append(f"start {self.name}")
        self.running = True

    def logs(self, tail: int) -> bytes:
        return b"boom"


class FakeDocker:
    def __init__(self, *containers: FakeContainer) -> None:
        self.by_name = {c.name: c for c in containers}
        self.containers = self

    def get(self, name: str) -> FakeContainer:
        if name not in self.by_name:
            raise NotFound(f"No such container: {name}")
        return self.by_name[name]


def replicas(second_starts_as: str = "healthy") -> tuple[FakeDocker, list[str]]:
    events: list[str] = []
    first = FakeContainer("app-1a2b3c4", events=events)
    second = FakeContainer("app-2-5d6e7f8", starts_as=second_starts_as, events=events)
    return FakeDocker(first, second), events


def test_every_replica_is_stopped_then_started_and_healthy() -> None:
    docker, events = replicas()
    app = restore.App(docker, ["app-1a2b3c4", "app-2-5d6e7f8"], timeout_s=5)
    app.stop()
    assert app.start_healthy()
    assert events == [
        "stop app-1a2b3c4", "stop app-2-5d6e7f8", "start app-1a2b3c4", "start app-2-5d6e7f8",
    ]  # fmt: skip


def test_one_replica_that_exits_makes_the_app_unhealthy(caplog: pytest.LogCaptureFixture) -> None:
    docker, _ = replicas(second_starts_as="exited")
    app = restore.App(docker, ["app-1a2b3c4", "app-2-5d6e7f8"], timeout_s=5)
    assert not app.start_healthy()
    assert "app-2-5d6e7f8 is exited" in caplog.text and "boom" in caplog.text


def test_no_replica_is_a_usage_error() -> None:
    with pytest.raises(restore.RestoreError) as raised:
        restore.App(FakeDocker(), [], timeout_s=5)
    assert raised.value.exit_code == cli.EXIT_USAGE


def test_a_named_replica_missing_from_the_host_is_a_usage_error_naming_it() -> None:
    docker, _ = replicas()
    with pytest.raises(restore.RestoreError) as raised:
        restore.App(docker, ["app-1a2b3c4", "app-gone123"], timeout_s=5)
    assert raised.value.exit_code == cli.EXIT_USAGE
    assert "app-gone123" in str(raised.value)


def test_stack_outputs_naming_replicas_a_lost_host_had_are_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Disaster recovery: outputs of the last successful up name replicas of the old host."""
    docker, _ = replicas()
    found = restore.existing_app_containers(docker, ["app-old1111", "app-1a2b3c4"])
    assert found == ["app-1a2b3c4"]
    assert "app-old1111" in caplog.text
    assert restore.existing_app_containers(docker, ["app-old1111"]) == []
