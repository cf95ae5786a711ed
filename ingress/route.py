"""`IngressRoute`: the switch of a zero-downtime deploy, as a Pulumi dynamic resource.

How an app change reaches users (the kamal-proxy `deploy` sequence, built
from Pulumi's own replacement order plus this resource):

1. Pulumi creates each new app container beside the old one (create before
   delete: no fixed name, no host port) and waits for its healthcheck.
2. This resource, which takes the app containers' names as inputs, is updated:
   it checks through the Docker API that every named container is running
   and healthy (never trusting the engine's view: a container left by a
   failed `up` is in state but may be unhealthy), writes the rendered
   Caddyfile into the Caddy container (put_archive) and runs `caddy reload`
   there (`docker exec`: the admin API stays on the container's localhost).
   Caddy swaps configurations atomically; requests in flight keep their old
   upstream until they finish (`grace_period`).
3. At the end of the `up`, Pulumi deletes the replaced containers: Docker
   sends SIGTERM and waits `destroy_grace_seconds`; the app stops accepting
   and finishes what it has (no request reaches it any more).

If a new container never becomes healthy, step 1 fails the `up`: this
resource is never updated, so traffic never leaves the old containers.
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
from lifecycle.dynamic_inputs import changed, is_unknown, without_provider

log = logging.getLogger("ingress.route")

TRIGGERS: Final = ("caddyfile", "acme_ca_root", "ingress_container", "upstream_containers")
POLL_S: Final = 1.0


class RouteError(RuntimeError):
    """The switch did not happen; traffic stays where it was. The message says why."""


# ------------------------------------------------------------------ pure decisions


def health_verdict(name: str, state: Mapping[str, Any]) -> str | None:
    """None while waiting or once healthy is decided by the caller; a message = give up.

    `state` is Docker's `State` object of the container named `name`.
    """
    status = state.get("Status")
    if status in {"exited", "dead", "removing"}:
        return f"app container {name} is {status} (exit code {state.get('ExitCode')})"
    health = state.get("Health")
    if not health:
        return f"app container {name} has no healthcheck: the route only switches to healthy ones"
    if health.get("Status") == "unhealthy":
        log_entries: list[dict[str, Any]] = health.get("Log") or [{}]
        output = str(log_entries[-1].get("Output") or "").strip().splitlines()
        said = f": {output[-1][:200]}" if output else ""
        return f"app container {name} is unhealthy{said}"
    return None


def is_healthy(state: Mapping[str, Any]) -> bool:
    health: dict[str, Any] = state.get("Health") or {}
    return state.get("Status") == "running" and health.get("Status") == "healthy"


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
    client = connect(target.docker_host)
    try:
        waited = _wait_healthy(client, target.upstream_containers, target.health_timeout_s)
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


def _wait_healthy(client: Any, names: Sequence[str], timeout_s: float) -> float:
    from docker.errors import NotFound  # noqa: PLC0415

    started = time.monotonic()
    pending = list(names)
    while pending:
        for name in list(pending):
            try:
                state = client.containers.get(name).attrs["State"]
            except NotFound:
                raise RouteError(f"app container {name} does not exist") from None
            problem = health_verdict(name, state)
            if problem:
                raise RouteError(problem + "; traffic stays on the current containers")
            if is_healthy(state):
                pending.remove(name)
        if not pending:
            break
        if time.monotonic() - started > timeout_s:
            raise RouteError(
                f"app container(s) {', '.join(pending)} not healthy within {timeout_s:g}s; "
                "traffic stays on the current containers"
            )
        time.sleep(POLL_S)
    return time.monotonic() - started


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
        failures: list[CheckFailure] = []
        for key in ("ingress_container", "caddyfile"):
            if not is_unknown(news.get(key)) and not news.get(key):
                failures.append(CheckFailure(key, f"{key} is required"))
        upstreams = news.get("upstream_containers")
        if not is_unknown(upstreams) and not upstreams:
            failures.append(CheckFailure("upstream_containers", "at least one app container"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(
            changes=bool(changed(olds, news, TRIGGERS)),
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
    health_timeout_s: how long to wait for the upstreams to be healthy.
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
