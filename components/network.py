"""The stack's Docker networks.

PostgreSQL, Redis, the backup agent and lifecycle jobs live on an internal
network (no route out, nothing published). The app joins it to reach them and
also joins the public network, where the ingress (Caddy, the only container
that publishes beyond loopback) reaches it by container name, and where the
app and Caddy reach the outside (integrations, ACME): Docker publishes nothing
for a container attached only to internal networks. In dev, an admin network
plays the same role for PostgreSQL's loopback port.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

INTERNAL_ALIASES = {"postgres": "postgres", "redis": "redis"}


@dataclass(frozen=True)
class NetworksArgs:
    name_prefix: str
    admin_network: bool


class Networks(pulumi.ComponentResource):
    internal: docker.Network
    internal_name: str
    """Known before anything exists, so lifecycle inputs stay known during preview."""
    public: docker.Network
    admin: docker.Network | None

    def __init__(
        self, name: str, args: NetworksArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:Networks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = [docker.NetworkLabelArgs(label="escalafin.managed-by", value="pulumi")]
        self.internal_name = f"{args.name_prefix}-internal"
        self.internal = docker.Network(
            "internal",
            name=self.internal_name,
            internal=True,
            labels=labels,
            opts=child,
        )
        self.public = docker.Network(
            "public", name=f"{args.name_prefix}-public", internal=False, labels=labels, opts=child
        )
        self.admin = (
            docker.Network(
                "admin",
                name=f"{args.name_prefix}-admin",
                internal=False,
                labels=labels,
                opts=child,
            )
            if args.admin_network
            else None
        )
        self.register_outputs(
            {
                "internal": self.internal.name,
                "public": self.public.name,
            }
        )
