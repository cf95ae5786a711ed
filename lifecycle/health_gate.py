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
(lifecycle/docker_host.py); never needs a Docker socket inside a container.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

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

from lifecycle.docker_host import connect
from lifecycle.dynamic_inputs import changed_inputs, missing, without_provider

log = logging.getLogger("lifecycle.health_gate")

LOG_LINES: Final = 20
POLL_S: Final = 1.0
# A container already unhealthy when a wait begins (its database was just replaced, say)
# may need its own reconnect back-off to recover: it gets this many of its check rounds
# (retries x interval), and at least MIN_RECOVERY_S, before the gate gives up on it.
RECOVERY_ROUNDS: Final = 3
MIN_RECOVERY_S: Final = 60.0


@dataclass(frozen=True)
class Observation:
    """What the engine says about a container (None: it does not exist)."""

    status: str | None
    health: str | None
    restarts: int = 0
    last_check: str = ""
    failing_streak: int = 0
    retries: int = 1
    """The healthcheck's retries: consecutive failures that make Docker say unhealthy."""
    interval_s: float = 30.0

    @property
    def recovery_s(self) -> float:
        return max(MIN_RECOVERY_S, RECOVERY_ROUNDS * self.retries * self.interval_s)

    @staticmethod
    def of(attrs: Mapping[str, Any] | None) -> Observation:
        if attrs is None:
            return Observation(None, None)
        state: Mapping[str, Any] = attrs.get("State") or {}
        health: Mapping[str, Any] = state.get("Health") or {}
        checks: list[Mapping[str, Any]] = list(health.get("Log") or [])
        last = str(checks[-1].get("Output") or "").strip() if checks else ""
        container_config: Mapping[str, Any] = attrs.get("Config") or {}
        config: Mapping[str, Any] = container_config.get("Healthcheck") or {}
        return Observation(
            status=str(state.get("Status") or "unknown"),
            health=str(health["Status"]) if health.get("Status") else None,
            restarts=int(attrs.get("RestartCount") or 0),
            last_check=last[-500:],
            failing_streak=int(health.get("FailingStreak") or 0),
            retries=max(int(config.get("Retries") or 1), 1),
            interval_s=int(config.get("Interval") or 30_000_000_000) / 1e9,
        )


def assess(
    now: Observation, start: Observation | None = None, waited_s: float = 0.0
) -> tuple[str, str]:
    """("healthy" | "waiting" | "failed", why): pure, so the rules are tested without Docker.

    `start` is what a wait saw first. Without it (diff, read) unhealthy is a failure. A
    container that turns unhealthy during the wait failed Docker's own `retries` checks:
    it fails at once. One that was unhealthy when the wait began (until a dependency came
    back) gets `recovery_s` to recover first.
    """
    failed: str | None = None
    if now.status is None:
        failed = "does not exist (removed outside pulumi: run `pulumi refresh`, then up)"
    elif now.health is None:
        failed = "has no healthcheck: a gate needs one"
    elif now.status in {"exited", "dead", "created", "paused", "removing"}:
        failed = f"is {now.status}"
    elif start is not None and now.restarts > start.restarts:
        failed = f"restarted while starting ({now.restarts} restarts)"
    elif now.health == "unhealthy":
        recovering = start is not None and start.health == "unhealthy"
        if not recovering:
            failed = "is unhealthy"
        elif waited_s > now.recovery_s:
            failed = f"is still unhealthy after {now.recovery_s:g} s of waiting for it to recover"
    if failed is not None:
        return "failed", failed
    if now.health == "healthy" and now.status == "running":
        return "healthy", "is healthy"
    return "waiting", f"is {now.status}, health {now.health}"


class GateFailed(RuntimeError):
    """The container is not healthy; the message names it and shows its last logs."""


def _inspect(client: Any, name: str) -> tuple[Observation, Any]:
    from docker.errors import NotFound  # noqa: PLC0415

    try:
        container = client.containers.get(name)
    except NotFound:
        return Observation.of(None), None
    return Observation.of(container.attrs), container


def _failure(name: str, why: str, now: Observation, container: Any) -> GateFailed:
    lines = [f"container {name} {why} (status {now.status}, health {now.health})"]
    if now.last_check:
        lines.append(f"last health check: {now.last_check}")
    if container is not None:
        logs = container.logs(tail=LOG_LINES).decode(errors="replace").rstrip()
        lines.append(f"last {LOG_LINES} log lines:\n{logs}" if logs else "no log output")
    return GateFailed("\n".join(lines))


def observe(docker_host: str | None, name: str) -> tuple[str, str]:
    """The gate's verdict on `name` right now (for diff and read)."""
    client = connect(docker_host, timeout=30)
    try:
        now, _ = _inspect(client, name)
        return assess(now)
    finally:
        client.close()


def wait_healthy(docker_host: str | None, name: str, timeout_s: float) -> None:
    """Until healthy; fail early on exit, restart, unhealthy or absence, else at the timeout."""
    started = time.monotonic()
    client = connect(docker_host)
    try:
        now, container = _inspect(client, name)
        start = now
        while True:
            verdict, why = assess(now, start, time.monotonic() - started)
            if verdict == "healthy":
                log.info("%s healthy after %.1f s", name, time.monotonic() - started)
                return
            if verdict == "failed":
                raise _failure(name, why, now, container)
            if time.monotonic() - started > timeout_s:
                raise _failure(name, f"is not healthy after {timeout_s:g} s", now, container)
            time.sleep(POLL_S)
            now, container = _inspect(client, name)
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
