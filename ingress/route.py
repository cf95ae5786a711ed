"""`IngressRoute`: the switch of a zero-downtime deploy, as a Pulumi dynamic resource.

How an app change reaches users (the kamal-proxy `deploy` sequence, built
from Pulumi's own replacement order plus this resource):

1. Pulumi creates each new app container beside the old one (create before
   delete: no fixed name, no host port); its HealthGate (lifecycle/
   health_gate.py) waits until it is healthy and fails the `up` otherwise.
2. This resource depends on every replica's gate and takes the containers'
   names as inputs. Its update refuses to switch unless every named container
   is healthy now, judged by the gate's own rules (`health_gate.wait_healthy`:
   running and healthy passes at once, exited/restarting/unhealthy/absent
   fails at once; never trusting the engine's view), then writes the rendered
   Caddyfile into the Caddy container (put_archive) and runs `caddy reload`
   there (`docker exec`: the admin API stays on the container's localhost).
   Caddy swaps configurations atomically; requests in flight keep their old
   upstream until they finish (`grace_period`).
3. At the end of the `up`, Pulumi deletes the replaced containers: Docker
   sends SIGTERM and waits `destroy_grace_seconds`; the app stops accepting
   and finishes what it has (no request reaches it any more).

If a new container never becomes healthy, its gate fails the `up` (and every
later `up` while it stays unhealthy): this resource is never updated, so
traffic never leaves the old containers, which the engine keeps as pending
deletes until an `up` succeeds.
If `caddy reload` refuses the new file, the previous file is written back
(Caddy keeps running the previous configuration either way) and the update
fails with Caddy's message.

No Docker socket in any container: the provider runs where `pulumi` runs and
reaches the stack's Docker host the way the docker provider does (Kamal does
the same: `docker exec <proxy> kamal-proxy deploy`, lib/kamal/commands/app/proxy.rb).

Why not let Caddy find the app by a shared Docker DNS alias (dynamic `a`
upstreams, passive health, `lb_try_duration`) and skip this resource: a
container is in Docker's DNS as soon as it starts, before it is healthy, so a
new version would get traffic before its healthcheck passed and a broken one
that accepts connections (answering 500s) would serve users; and the old
container, still cached as an upstream, would be stopped with requests on
pooled connections, which Caddy only retries when the connection was never
opened (caddy v2.6.2 modules/caddyhttp/reverseproxy/reverseproxy.go,
LoadBalancing.tryAgain: non-dial errors retry only GET). Switching the
configuration after the health check avoids all three.

Engine contract (pulumi/dynamic): pickled by reference (module and class
name), so moving or renaming this class breaks existing stacks. Unknown
inputs during preview arrive as the UNKNOWN sentinel: check and diff do no I/O.
"""

from __future__ import annotations

import io
import logging
import tarfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from ingress.caddyfile import ACME_ROOT_PATH, CONFIG_PATH
from lifecycle.dynamic_inputs import changed_inputs, is_unknown, missing, without_provider
from lifecycle.health_gate import GateFailed, wait_healthy

log = logging.getLogger("ingress.route")

TRIGGERS: Final = ("caddyfile", "acme_ca_root", "ingress_container", "upstream_containers")


class RouteError(RuntimeError):
    """The switch did not happen; traffic stays where it was. The message says why."""


# ------------------------------------------------------------------ pure decisions


def config_archive(caddyfile: str, acme_ca_root: str | None) -> bytes:
    """A tar of the Caddyfile (and the ACME CA root) for put_archive into /etc/caddy."""
    files = {CONFIG_PATH: caddyfile.encode()}
    if acme_ca_root:
        files[ACME_ROOT_PATH] = acme_ca_root.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path.rsplit("/", 1)[1])
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# ------------------------------------------------------------------ Docker I/O


@dataclass(frozen=True)
class Target:
    """Everything the switch needs, read from the resource's inputs."""

    docker_host: str | None
    ingress_container: str
    upstream_containers: tuple[str, ...]
    caddyfile: str
    acme_ca_root: str | None
    health_timeout_s: float

    @staticmethod
    def from_props(props: Mapping[str, Any]) -> Target:
        return Target(
            docker_host=props.get("docker_host") or None,
            ingress_container=str(props["ingress_container"]),
            upstream_containers=tuple(str(n) for n in props["upstream_containers"]),
            caddyfile=str(props["caddyfile"]),
            acme_ca_root=props.get("acme_ca_root") or None,
            health_timeout_s=float(props.get("health_timeout_s") or 300),
        )


def switch(target: Target) -> float:
    """Wait for healthy upstreams, write the Caddyfile, reload Caddy; seconds waited."""
    from docker.errors import DockerException  # noqa: PLC0415

    from lifecycle.docker_host import connect  # noqa: PLC0415

    started = time.monotonic()
    try:
        for name in target.upstream_containers:  # the gates' rules: healthy now, or fail
            wait_healthy(target.docker_host, name, target.health_timeout_s)
    except GateFailed as exc:
        raise RouteError(f"{exc}\ntraffic stays on the current containers") from None
    except DockerException as exc:
        raise RouteError(f"could not check the upstreams' health: {exc}") from None
    waited = time.monotonic() - started
    client = connect(target.docker_host)
    try:
        caddy = client.containers.get(target.ingress_container)
        previous = _read_file(caddy, CONFIG_PATH)
        caddy.put_archive("/etc/caddy", config_archive(target.caddyfile, target.acme_ca_root))  # pyright: ignore[reportUnknownMemberType]
        code, output = _reload(caddy)
        if code != 0:
            if previous is not None:
                caddy.put_archive("/etc/caddy", config_archive(previous, None))  # pyright: ignore[reportUnknownMemberType]
            raise RouteError(
                f"caddy reload refused the new configuration (exit {code}); the previous one "
                f"stays in force:\n{output[-2000:]}"
            )
    except DockerException as exc:
        raise RouteError(
            f"could not switch the route through {target.docker_host or 'the default Docker host'}"
            f": {exc}"
        ) from None
    finally:
        client.close()
    log.info(
        "route switched to %s: waited %.1fs for health, %.1fs in all",
        ", ".join(target.upstream_containers),
        waited,
        time.monotonic() - started,
    )
    return waited


def _reload(caddy: Any) -> tuple[int, str]:
    command = ["caddy", "reload", "--config", CONFIG_PATH, "--adapter", "caddyfile"]
    code, output = caddy.exec_run(command)
    return int(code), (output or b"").decode(errors="replace")


def _read_file(container: Any, path: str) -> str | None:
    from docker.errors import NotFound  # noqa: PLC0415

    try:
        stream, _ = container.get_archive(path)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        handle = tar.extractfile(member) if member else None
        return handle.read().decode() if handle else None


def read_config(docker_host: str | None, ingress_container: str) -> str | None:
    """The Caddyfile inside the Caddy container now; None if the container is gone."""
    from docker.errors import NotFound  # noqa: PLC0415

    from lifecycle.docker_host import connect  # noqa: PLC0415

    client = connect(docker_host)
    try:
        return _read_file(client.containers.get(ingress_container), CONFIG_PATH)
    except NotFound:
        return None
    finally:
        client.close()


# ------------------------------------------------------------------ provider


class IngressRouteProvider(ResourceProvider):
    """CRUD for IngressRoute; stateless, so dill pickles it cheaply."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = missing(news, ("ingress_container", "caddyfile"))
        upstreams = news.get("upstream_containers")
        if not is_unknown(upstreams) and not upstreams:
            failures.append(CheckFailure("upstream_containers", "at least one app container"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(
            changes=bool(changed_inputs(olds, news, TRIGGERS)),
            replaces=[],
            stables=["id"],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        switch(Target.from_props(props))
        return CreateResult(f"route-{uuid.uuid4().hex[:12]}", without_provider(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        switch(Target.from_props(news))
        return UpdateResult(without_provider(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: what the Caddy container really serves (drift shows as a diff)."""
        live = read_config(props.get("docker_host") or None, str(props["ingress_container"]))
        return ReadResult(id_, {**without_provider(props), "caddyfile": live or ""})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        log.info("IngressRoute deleted from the stack; Caddy keeps its last configuration")


@dataclass(frozen=True)
class IngressRouteArgs:
    """Inputs of IngressRoute.

    ingress_container: id of the Caddy container (a new one gets the route again).
    upstream_containers: names of the app containers the route sends traffic to.
    caddyfile: the complete rendered configuration (ingress.caddyfile.render).
    acme_ca_root: PEM the configuration trusts for a private ACME directory, or None.
    docker_host: the stack's Docker host (docker:host), None = the environment's.
    health_timeout_s: how long an upstream still starting may take (the gates before
        this resource have normally waited already).
    """

    ingress_container: pulumi.Input[str]
    upstream_containers: Sequence[pulumi.Input[str]]
    caddyfile: pulumi.Input[str]
    acme_ca_root: str | None = None
    docker_host: str | None = None
    health_timeout_s: float = 300.0


class IngressRoute(Resource, module="escalafin", name="IngressRoute"):
    """The Caddy configuration in force.

    Type token: pulumi-python:dynamic/escalafin:IngressRoute.
    """

    caddyfile: pulumi.Output[str]
    upstream_containers: pulumi.Output[list[str]]

    def __init__(
        self, resource_name: str, args: IngressRouteArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "ingress_container": args.ingress_container,
            "upstream_containers": list(args.upstream_containers),
            "caddyfile": args.caddyfile,
            "acme_ca_root": args.acme_ca_root or "",
            "docker_host": args.docker_host or "",
            "health_timeout_s": args.health_timeout_s,
        }
        super().__init__(IngressRouteProvider(), resource_name, props, opts)
