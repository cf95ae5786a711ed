"""The dev stack's embedded S3-compatible store and its backup bucket: off-container backups
with no cloud account, and no cloud provider plugin.

The store is Versity S3 Gateway (`versity/versitygw`, Apache-2.0, released monthly,
published for amd64 and arm64 on Docker Hub and ghcr.io), pinned by version, with its
posix backend on a retained volume: a bucket is a directory, so a kept volume keeps the
bucket and its backups across destroy/up. Its root credentials come from the environment
(ROOT_ACCESS_KEY_ID / ROOT_SECRET_ACCESS_KEY, secrets); nothing is persisted with them,
so rotating them (`backupS3AccessKeyId`/`backupS3SecretAccessKey`) and replacing the
container is all it takes, and root may access every bucket, old ones included.

It lives on the internal network only (alias `objectstore`) and publishes nothing. The
bucket is a `StoreBucket` dynamic resource that runs a one-off ops container on that
network (lifecycle/store_bucket.py), so no AWS provider, no published port and no
Docker socket in any container are needed. TLS (for clients that require HTTPS, such as
pgBackRest): versitygw serves HTTPS itself on the same port when VGW_CERT and VGW_KEY
name a certificate and key mounted into the container.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.containers import (
    container_options,
    data_volume,
    env_list,
    health_gate,
    healthcheck,
    labels,
)
from lifecycle.providers import RunnerArgs, StoreBucket, StoreBucketArgs

ALIAS = "objectstore"
API_PORT = 9000
HEALTH_PATH = "/health"
DATA_PATH = "/data"
# The image's entrypoint runs `versitygw <args>`; global flags come from VGW_* variables.
COMMAND = ["posix", DATA_PATH]
HEALTH_TEST = ["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{API_PORT}{HEALTH_PATH}"]


SETTINGS_ENV = {"VGW_PORT": f":{API_PORT}", "VGW_HEALTH": HEALTH_PATH}
ACCESS_KEY_ENV, SECRET_KEY_ENV = "ROOT_ACCESS_KEY_ID", "ROOT_SECRET_ACCESS_KEY"


def store_env(
    access_key: pulumi.Input[str], secret_key: pulumi.Input[str]
) -> list[pulumi.Input[str]]:
    """The store's environment: listen address and health path plain, root keys secret."""
    return env_list(SETTINGS_ENV, {ACCESS_KEY_ENV: access_key, SECRET_KEY_ENV: secret_key})


@dataclass(frozen=True)
class EmbeddedObjectStoreArgs:
    image: str
    name_prefix: str
    restart_policy: str
    internal_network: pulumi.Input[str]
    internal_network_name: str
    """The same network's name as a plain string, for the bucket job (known at preview)."""
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    region: str
    bucket: str
    ops_image: str
    """Tag of the ops image the bucket job runs (known at preview)."""
    ops_image_resource: pulumi.Resource
    docker_host: str | None
    memory_mb: int = 256
    protect_data: bool = False


class EmbeddedObjectStore(pulumi.ComponentResource):
    container: docker.Container
    data_volume: docker.Volume
    bucket: StoreBucket
    """Exists once the store is healthy; the backup agent depends on it."""
    endpoint_in_network: str
    """S3_ENDPOINT_URL for containers on the internal network (the backup agent)."""

    def __init__(
        self, name: str, args: EmbeddedObjectStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:EmbeddedObjectStore", name, None, opts)
        self.data_volume = data_volume(
            "objectstore-data",
            f"{args.name_prefix}-objectstore-data",
            parent=self,
            protect=args.protect_data,
        )
        image = docker.RemoteImage(
            "objectstore-image",
            name=args.image,
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.container = docker.Container(
            "objectstore",
            name=f"{args.name_prefix}-objectstore",
            image=image.image_id,
            command=COMMAND,
            envs=store_env(args.access_key, args.secret_key),
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=self.data_volume.name, container_path=DATA_PATH
                )
            ],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=args.internal_network, aliases=[ALIAS]),
            ],
            healthcheck=healthcheck(
                HEALTH_TEST, interval="10s", timeout="5s", retries=6, start_period="30s"
            ),
            restart=args.restart_policy,
            memory=args.memory_mb,
            memory_swap=args.memory_mb,
            labels=labels(args.name_prefix, "objectstore"),
            opts=container_options(self),
        )
        ready = health_gate(
            self.container,
            "objectstore-health",
            docker_host=args.docker_host,
            timeout_s=120,
            parent=self,
        )
        self.endpoint_in_network = f"http://{ALIAS}:{API_PORT}"
        self.bucket = StoreBucket(
            "bucket",
            StoreBucketArgs(
                bucket=args.bucket,
                endpoint_url=self.endpoint_in_network,
                region=args.region,
                access_key_id=args.access_key,
                secret_access_key=args.secret_key,
                runner=RunnerArgs(
                    mode="in-network",
                    docker_host=args.docker_host,
                    network=args.internal_network_name,
                    ops_image=args.ops_image,
                ),
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[ready, args.ops_image_resource]),
        )
        self.register_outputs(
            {"container": self.container.name, "endpoint": self.endpoint_in_network}
        )
