"""The ops image: Python slim (Debian trixie) + postgresql-client-<major> + `lifecycle`.

One image runs the lifecycle jobs (in-network mode) and the backup agent, so
pg_dump/pg_restore always match the server's major version. Built from the
project root with ops/Dockerfile, on the Docker host, never pushed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.builds import keep_builds


@dataclass(frozen=True)
class OpsImageArgs:
    name_prefix: str
    base_image: str
    postgres_major: int
    platform: str
    """The Docker host's platform (the same as the app image's)."""
    docker_host: str | None = None


class OpsImage(pulumi.ComponentResource):
    image: docker.Image
    image_name: str
    """Tag of the latest build; lifecycle jobs run it (a plain string, known at preview)."""
    repo_digest: pulumi.Output[str]

    def __init__(
        self, name: str, args: OpsImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:OpsImage", name, None, opts)
        self.image_name = f"{args.name_prefix}-ops:latest"
        self.image = docker.Image(
            "ops",
            image_name=self.image_name,
            # Relative to the project directory (the provider's working directory).
            build=docker.DockerBuildArgs(
                context=".",
                dockerfile="ops/Dockerfile",
                platform=args.platform,
                args={"BASE_IMAGE": args.base_image, "PG_MAJOR": str(args.postgres_major)},
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            skip_push=True,
            build_on_preview=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repo_digest = self.image.repo_digest
        keep_builds(
            "ops-builds",
            self.repo_digest,
            self.image_name,
            docker_host=args.docker_host,
            parent=self,
        )
        self.register_outputs({"repoDigest": self.repo_digest})
