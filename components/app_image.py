"""The app image, built from its multi-stage Dockerfile on the Docker host.

Containers run `repo_digest` (the built image's id for a local build), so a
new build, and only a new build, replaces the app container. Paths are relative
to the project (no absolute path of this machine in state) and the platform is
the Docker host's (settings: `appPlatform`), never the provider's default, which
is the CPU of the machine running `pulumi`. The image is not
built during `pulumi preview` (build_on_preview defaults to off), which keeps
pull-request previews fast and free of side effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.builds import keep_builds
from components.settings import AppBuild, project_relative


@dataclass(frozen=True)
class AppImageArgs:
    build: AppBuild
    docker_host: str | None = None


class AppImage(pulumi.ComponentResource):
    image: docker.Image
    repo_digest: pulumi.Output[str]

    def __init__(
        self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:AppImage", name, None, opts)
        b = args.build
        self.image = docker.Image(
            "app",
            image_name=b.image_name,
            build=docker.DockerBuildArgs(
                context=project_relative(b.context),
                dockerfile=project_relative(b.dockerfile),
                target=b.target,
                platform=b.platform,
                args={"BASE_IMAGE": b.base_image, **b.build_args},
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
                cache_from=docker.CacheFromArgs(images=list(b.cache_from))
                if b.cache_from
                else None,
            ),
            skip_push=True,
            build_on_preview=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repo_digest = self.image.repo_digest
        keep_builds(
            "app-builds", self.image, b.image_name, docker_host=args.docker_host, parent=self
        )
        self.register_outputs({"repoDigest": self.repo_digest})
