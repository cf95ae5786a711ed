"""The dev stack's embedded S3-compatible store, so dev backups go off-container with no
cloud account.

A MinIO-compatible container (`server /data`) on the internal network as `objectstore`
for the backup agent, with its API also published on 127.0.0.1 (only) so the AWS
provider on the machine running `pulumi` can create the bucket through it. The provider
is exposed as `provider`: hand it to BackupBucket and the same bucket code serves dev and
prod. Docker publishes no port for a container attached only to internal networks, hence
the second, non-internal `publish_network`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.containers import container_options, data_volume, env_list, healthcheck, labels

ALIAS = "objectstore"
API_PORT = 9000


@dataclass(frozen=True)
class EmbeddedObjectStoreArgs:
    image: str
    name_prefix: str
    restart_policy: str
    internal_network: pulumi.Input[str]
    publish_network: pulumi.Input[str]
    """A non-internal network, needed only so Docker publishes the loopback port."""
    host_port: int
    """Published on 127.0.0.1 only, for the AWS provider on the pulumi machine."""
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    region: str
    memory_mb: int = 512
    protect_data: bool = False


class EmbeddedObjectStore(pulumi.ComponentResource):
    container: docker.Container
    data_volume: docker.Volume
    provider: aws.Provider
    """AWS provider pointed at the store's loopback port (creates the bucket)."""
    endpoint_in_network: str
    """S3_ENDPOINT_URL for containers on the internal network (the backup agent)."""
    endpoint_local: str

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
            command=["server", "/data"],
            envs=env_list(
                {}, {"MINIO_ROOT_USER": args.access_key, "MINIO_ROOT_PASSWORD": args.secret_key}
            ),
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=self.data_volume.name, container_path="/data"
                )
            ],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=args.internal_network, aliases=[ALIAS]),
                docker.ContainerNetworksAdvancedArgs(name=args.publish_network),
            ],
            ports=[
                docker.ContainerPortArgs(internal=API_PORT, external=args.host_port, ip="127.0.0.1")
            ],
            healthcheck=healthcheck(
                ["CMD", "mc", "ready", "local"],
                interval="5s",
                timeout="5s",
                retries=12,
                start_period="5s",
            ),
            restart=args.restart_policy,
            memory=args.memory_mb,
            labels=labels(args.name_prefix, "objectstore"),
            wait=True,
            wait_timeout=120,
            opts=container_options(self),
        )
        self.endpoint_in_network = f"http://{ALIAS}:{API_PORT}"
        self.endpoint_local = f"http://127.0.0.1:{args.host_port}"
        self.provider = aws.Provider(
            "objectstore-provider",
            region=args.region,
            access_key=args.access_key,
            secret_key=args.secret_key,
            endpoints=[aws.ProviderEndpointArgs(s3=self.endpoint_local)],
            s3_use_path_style=True,
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
            # Resources using the provider wait for the store to be healthy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.container]),
        )
        self.register_outputs(
            {"container": self.container.name, "endpoint": self.endpoint_in_network}
        )
