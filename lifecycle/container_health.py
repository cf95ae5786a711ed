"""A container's Docker health, judged and waited on by one set of rules.

Shared by everything that waits for a container to be healthy: the health gates of
`pulumi up` (health_gate.py) and both restores, which stop PostgreSQL and/or the app,
change the data under them and start them again (restore.py, archiving/restore.py).
So a container that exits, restarts or turns unhealthy is reported the same way
everywhere — its state, its last health check output and its last log lines — and a
wait never ends on a stale verdict. Pure rules (`assess`) apart from the Docker calls;
no Pulumi import, so the operator's restore and the ops image can use it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

log = logging.getLogger("lifecycle.container_health")

LOG_LINES: Final = 20
POLL_S: Final = 1.0
# A container already unhealthy when a wait begins (its database was just replaced, say)
# may need its own reconnect back-off to recover: it gets this many of its check rounds
# (retries x interval), and at least MIN_RECOVERY_S, before the wait gives up on it.
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
    now: Observation,
    start: Observation | None = None,
    waited_s: float = 0.0,
    *,
    unhealthy_grace_s: float = 0.0,
) -> tuple[str, str]:
    """("healthy" | "waiting" | "failed", why): pure, so the rules are tested without Docker.

    `start` is what a wait saw first. Without it (diff, read) unhealthy is a failure. A
    container that turns unhealthy during the wait failed Docker's own `retries` checks:
    it fails at once, unless the caller knows unhealthy is a phase (`unhealthy_grace_s`:
    PostgreSQL replaying WAL after a point-in-time restore refuses logins for as long as
    the replay takes). One that was unhealthy when the wait began (until a dependency came
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
        grace = max(unhealthy_grace_s, now.recovery_s) if recovering else unhealthy_grace_s
        if start is None or (not recovering and grace <= 0):
            failed = "is unhealthy"
        elif waited_s > grace:
            failed = f"is still unhealthy after {grace:g} s of waiting for it to recover"
    if failed is not None:
        return "failed", failed
    if now.health == "healthy" and now.status == "running":
        return "healthy", "is healthy"
    return "waiting", f"is {now.status}, health {now.health}"


class NotHealthy(RuntimeError):
    """The container is not healthy; the message names it and shows its last logs."""


def _inspect(client: Any, name: str) -> tuple[Observation, Any]:
    from docker.errors import NotFound  # noqa: PLC0415

    try:
        container = client.containers.get(name)
    except NotFound:
        return Observation.of(None), None
    return Observation.of(container.attrs), container


def _failure(name: str, why: str, now: Observation, container: Any) -> NotHealthy:
    lines = [f"container {name} {why} (status {now.status}, health {now.health})"]
    if now.last_check:
        lines.append(f"last health check: {now.last_check}")
    if container is not None:
        logs = container.logs(tail=LOG_LINES).decode(errors="replace").rstrip()
        lines.append(f"last {LOG_LINES} log lines:\n{logs}" if logs else "no log output")
    return NotHealthy("\n".join(lines))


def observe(client: Any, name: str) -> tuple[str, str]:
    """The verdict on `name` right now (a gate's diff and read)."""
    now, _ = _inspect(client, name)
    return assess(now)


def wait_healthy(
    client: Any, name: str, timeout_s: float, *, unhealthy_grace_s: float = 0.0
) -> float:
    """Until healthy (returns the seconds waited); raises NotHealthy early on exit,
    restart, unhealthy (see `assess`) or absence, else at the timeout."""
    started = time.monotonic()
    now, container = _inspect(client, name)
    start = now
    while True:
        waited = time.monotonic() - started
        verdict, why = assess(now, start, waited, unhealthy_grace_s=unhealthy_grace_s)
        if verdict == "healthy":
            log.info("%s healthy after %.1f s", name, waited)
            return waited
        if verdict == "failed":
            raise _failure(name, why, now, container)
        if waited > timeout_s:
            raise _failure(name, f"is not healthy after {timeout_s:g} s", now, container)
        time.sleep(POLL_S)
        now, container = _inspect(client, name)


def start_healthy(
    client: Any, name: str, timeout_s: float, *, unhealthy_grace_s: float = 0.0
) -> float:
    """Start a stopped container and wait as `wait_healthy` does (a restore's last step)."""
    client.containers.get(name).start()
    return wait_healthy(client, name, timeout_s, unhealthy_grace_s=unhealthy_grace_s)
