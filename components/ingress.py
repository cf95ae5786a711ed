"""The ingress: Caddy in front of the app, and the route that switches deploys.

Caddy is the only container that publishes ports beyond loopback: HTTP (and
HTTPS when appPublicUrl is https://) on ingressBindAddress. It joins only the
public network, where it reaches the app containers by name; it cannot reach
PostgreSQL or Redis. Its ACME account and certificates live on a retained
volume, so a replaced Caddy does not ask the CA again.

The container starts with a bootstrap Caddyfile (503 only); the real one is
written and reloaded by `IngressRoute` (ingress/route.py) whenever the app
containers or the site settings change — a graceful reload, never a restart.
Caddy itself has a fixed name and fixed host ports, so replacing it (a new
image) is delete-first: a few seconds without ingress, unlike app deploys.

Health, one story with the rest of the stack: Caddy and every app replica have
a HealthGate (lifecycle/health_gate.py); the route depends on all of them, so it
is only updated once each replica was seen healthy on this very `up`, and it
re-checks them itself before switching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.containers import (
    container_options,
    data_volume,
    health_gate,
    healthcheck,
    labels,
)
from components.settings import IngressSettings
from ingress import caddyfile
from ingress.route import IngressRoute, IngressRouteArgs

DATA_PATH = "/data"  # XDG_DATA_HOME of the caddy image: ACME account, certificates, locks
HTTP, HTTPS = 80, 443
# Neither caddy:2-alpine (busybox) nor every build of Caddy ships the same HTTP
# client, but both have sh, cat and grep: healthy = Caddy holds its HTTP listener
# (state 0A = LISTEN on port 0x50; IPv4 or IPv6, whichever the kernel has).
LISTENING_ON_80 = (
    "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -qE ':0050 [0-9A-F]+:0000 0A'"
)
GRACE_S = 30
INGRESS_TIMEOUT_S = 60


@dataclass(frozen=True)
class IngressArgs:
    settings: IngressSettings
    name_prefix: str
    restart_policy: str
    public_network: pulumi.Input[str]
    app_containers: Sequence[docker.Container]
    app_gates: Sequence[pulumi.Resource]
    """The replicas' HealthGates: the route switches only after all of them passed."""
    app_port: int
    docker_host: str | None
    protect_data: bool
    health_timeout_s: float


class Ingress(pulumi.ComponentResource):
    container: docker.Container
    ready: pulumi.Resource
    """Caddy's HealthGate."""
    data_volume: docker.Volume
    route: IngressRoute

    def __init__(
        self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:Ingress", name, None, opts)
        s = args.settings
        self.data_volume = data_volume(
            "ingress-data",
            f"{args.name_prefix}-ingress-data",
            parent=self,
            protect=args.protect_data,
        )
        image = docker.RemoteImage(
            "ingress-image",
            name=s.image,
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        ports = [docker.ContainerPortArgs(internal=HTTP, external=s.http_port, ip=s.bind_address)]
        if s.tls:
            ports += [
                docker.ContainerPortArgs(
                    internal=HTTPS, external=s.https_port, ip=s.bind_address, protocol=protocol
                )
                for protocol in ("tcp", "udp")  # udp: HTTP/3
            ]
        self.container = docker.Container(
            "ingress",
            name=f"{args.name_prefix}-ingress",
            image=image.image_id,
            uploads=[
                docker.ContainerUploadArgs(
                    file=caddyfile.CONFIG_PATH, content=caddyfile.bootstrap()
                )
            ],
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=self.data_volume.name, container_path=DATA_PATH
                )
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.public_network)],
            ports=ports,
            healthcheck=healthcheck(
                ["CMD-SHELL", LISTENING_ON_80],
                interval="10s",
                timeout="5s",
                retries=3,
                start_period="5s",
            ),
            restart=args.restart_policy,
            memory=s.memory_mb,
            memory_swap=s.memory_mb,
            stop_timeout=GRACE_S,
            destroy_grace_seconds=GRACE_S,
            labels=labels(args.name_prefix, "ingress"),
            opts=container_options(self),
        )
        self.ready = health_gate(
            self.container,
            "ingress-health",
            docker_host=args.docker_host,
            timeout_s=INGRESS_TIMEOUT_S,
            parent=self,
        )

        upstream_names = [c.name for c in args.app_containers]
        site = pulumi.Output.all(*upstream_names).apply(
            lambda names: caddyfile.render(
                caddyfile.Site(
                    host=s.host,
                    tls=s.tls,
                    upstreams=tuple(f"{n}:{args.app_port}" for n in names),
                    max_body_mb=s.max_body_mb,
                    grace_period_s=GRACE_S,
                    acme_email=s.acme_email,
                    acme_ca=s.acme_ca,
                    acme_ca_root=s.acme_ca_root is not None,
                )
            )
        )
        self.route = IngressRoute(
            "route",
            IngressRouteArgs(
                ingress_container=self.container.id,
                upstream_containers=upstream_names,
                caddyfile=site,
                acme_ca_root=s.acme_ca_root,
                docker_host=args.docker_host,
                health_timeout_s=args.health_timeout_s,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.ready, *args.app_gates]),
        )
        self.register_outputs({"container": self.container.name, "route": self.route.id})
