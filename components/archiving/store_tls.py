"""A TLS front for an S3-compatible store on the internal network (dev).

pgBackRest 2.55 reaches S3 only over HTTPS (plain HTTP arrived in 2.58, and
`repo1-storage-verify-tls=n` turns off verification, not TLS: pgbackrest/pgbackrest
issues #2612, #2745). The embedded store speaks plain HTTP, so Caddy terminates TLS in
front of it with a certificate from the stack's CA and proxies to whatever S3 server
answers at `upstream` — the store's image may change; this front does not care. Requests
keep their Host header, so S3 signatures made for this front's name still verify
upstream. Reachable only on the internal network (alias `objectstore-tls`), nothing
published. Caddyfile directives used exist in Caddy 2.6 and in current releases.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.containers import (
    container_options,
    env_list,
    health_gate,
    healthcheck,
    labels,
)

ALIAS = "objectstore-tls"
PORT = 9443

# Writes the certificate, key and Caddyfile from the environment, then runs Caddy: the
# official image and the lab's stand-in both have a POSIX shell.
START = (
    'umask 077 && printf "%s\\n" "$TLS_CERT" > /tmp/tls.crt && '
    'printf "%s\\n" "$TLS_KEY" > /tmp/tls.key && unset TLS_KEY && '
    'printf "%s\\n" "$CADDYFILE" > /tmp/Caddyfile && '
    "exec caddy run --config /tmp/Caddyfile --adapter caddyfile"
)
# The official Alpine image has busybox wget, the lab's Debian stand-in has openssl:
# either proves the TLS listener answers.
PROBE = (
    f"wget -q -O /dev/null http://127.0.0.1:2019/config/ 2>/dev/null || "
    f"echo | openssl s_client -connect 127.0.0.1:{PORT} -servername {ALIAS} 2>/dev/null "
    "| grep -q CONNECTED"
)


def caddyfile(upstream: str) -> str:
    return (
        "{\n\tauto_https disable_redirects\n}\n"
        f"https://{ALIAS}:{PORT} {{\n"
        "\ttls /tmp/tls.crt /tmp/tls.key\n"
        f"\treverse_proxy {upstream}\n"
        "}\n"
    )


@dataclass(frozen=True)
class StoreTlsFrontArgs:
    image: str
    name_prefix: str
    restart_policy: str
    internal_network: pulumi.Input[str]
    upstream: str
    """host:port of the plain-HTTP S3 server on the internal network."""
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    docker_host: str | None = None
    memory_mb: int = 128


class StoreTlsFront(pulumi.ComponentResource):
    container: docker.Container
    ready: pulumi.Resource
    """Its HealthGate: the TLS listener answers."""
    endpoint_host: str
    """host:port pgBackRest connects to (repo1-s3-endpoint + repo1-storage-port)."""

    def __init__(
        self, name: str, args: StoreTlsFrontArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:archiving:StoreTlsFront", name, None, opts)
        image = docker.RemoteImage(
            "store-tls-image",
            name=args.image,
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.container = docker.Container(
            "store-tls",
            name=f"{args.name_prefix}-store-tls",
            image=image.image_id,
            entrypoints=["sh", "-c"],
            command=[START],
            envs=env_list(
                {"CADDYFILE": caddyfile(args.upstream), "TLS_CERT": args.cert_pem},
                {"TLS_KEY": args.key_pem},
            ),
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=args.internal_network, aliases=[ALIAS])
            ],
            healthcheck=healthcheck(
                ["CMD-SHELL", PROBE], interval="5s", timeout="5s", retries=12, start_period="5s"
            ),
            restart=args.restart_policy,
            memory=args.memory_mb,
            memory_swap=args.memory_mb,
            labels=labels(args.name_prefix, "store-tls"),
            opts=container_options(self),
        )
        self.ready = health_gate(
            self.container,
            "store-tls-health",
            docker_host=args.docker_host,
            timeout_s=120,
            parent=self,
        )
        self.endpoint_host = f"{ALIAS}:{PORT}"
        self.register_outputs({"container": self.container.name})
