"""HealthGate: no `pulumi up` reports success over an unhealthy container, on any run.

What the docker provider does alone (kreuzwerker/terraform-provider-docker v4.5.0,
resource_docker_container_funcs.go): `wait` polls `ContainerInspect` until healthy
or `wait_timeout`, with no early stop and no logs ("container failed to be in
healthy state"); the container then stays in state with an init error, and the
next `up`'s *empty update* (pulumi step_generator.go, `continueStepsFromDiff`:
"attempt to continue awaiting initialization") waits for nothing and succeeds —
while the service is still unhealthy. A container deleted or stopped by hand is
not noticed by `up` at all (no refresh).

What this adds: one gate per long-running container, after it in the graph
(dependents depend on the gate, not only on the container). Its `diff` looks at the
live container on every preview and `up`: healthy → no change, so a healthy stack
shows nothing; anything else → an update, which waits for healthy and otherwise
fails naming the container, its state, its last health check output and its last
log lines. The gate keeps failing on every following `up` until the container is
healthy. Runs on the machine running `pulumi`, through the stack's Docker host
(lifecycle/docker_host.py); never needs a Docker socket inside a container. The
verdicts are container_health.py's, the same ones the restores wait with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from lifecycle import container_health
from lifecycle.docker_host import connect
from lifecycle.dynamic_inputs import changed_inputs, missing, without_provider

log = logging.getLogger("lifecycle.health_gate")


def observe(docker_host: str | None, name: str) -> tuple[str, str]:
    """The gate's verdict on `name` right now (for diff and read)."""
    client = connect(docker_host, timeout=30)
    try:
        return container_health.observe(client, name)
    finally:
        client.close()


def wait_healthy(docker_host: str | None, name: str, timeout_s: float) -> None:
    """Until healthy; fail early on exit, restart, unhealthy or absence, else at the timeout."""
    client = connect(docker_host)
    try:
        container_health.wait_healthy(client, name, timeout_s)
    finally:
        client.close()


class HealthGateProvider(ResourceProvider):
    """Diff reads the live container; create/update wait; delete leaves the container alone."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, missing(news, ("container_name", "container_id")))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("container_name", "container_id", "docker_host", "timeout_s")
        changed = changed_inputs(olds, news, keys)
        if not changed:
            try:
                verdict, why = observe(news.get("docker_host") or None, str(news["container_name"]))
            except Exception as exc:  # unverifiable now: the update will wait and tell
                verdict, why = "unknown", f"could not be inspected: {type(exc).__name__}: {exc}"
            if verdict != "healthy":
                log.warning("%s %s: the gate will wait for it", news["container_name"], why)
                changed.append("status")
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def _wait(self, props: dict[str, Any]) -> dict[str, Any]:
        wait_healthy(
            props.get("docker_host") or None,
            str(props["container_name"]),
            float(props.get("timeout_s") or 300),
        )
        return {**without_provider(props), "status": "healthy"}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"gate-{props['container_name']}", self._wait(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._wait(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            verdict, why = observe(props.get("docker_host") or None, str(props["container_name"]))
        except Exception as exc:  # an unreachable Docker host is drift to report, not a crash
            verdict, why = "unknown", f"could not be inspected: {type(exc).__name__}"
        status = "healthy" if verdict == "healthy" else f"{verdict}: {why}"
        return ReadResult(id_, {**props, "status": status})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """The gate owns nothing: deleting it leaves the container as it is."""


@dataclass(frozen=True)
class HealthGateArgs:
    """container_name: the container's name (fixed, or generated for an app replica);
    container_id: changes on replacement.

    docker_host: the stack's docker:host (None: DOCKER_HOST / local socket).
    timeout_s: how long a start may take before `up` fails.
    """

    container_name: pulumi.Input[str]
    container_id: pulumi.Input[str]
    docker_host: str | None
    timeout_s: float


class HealthGate(Resource, module="escalafin", name="HealthGate"):
    """Type token: pulumi-python:dynamic/escalafin:HealthGate."""

    status: pulumi.Output[str]

    def __init__(
        self, resource_name: str, args: HealthGateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "container_name": args.container_name,
            "container_id": args.container_id,
            "docker_host": args.docker_host or "",
            "timeout_s": args.timeout_s,
            "status": None,
        }
        super().__init__(HealthGateProvider(), resource_name, props, opts)
