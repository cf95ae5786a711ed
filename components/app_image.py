"""The app image, built from its multi-stage Dockerfile on the Docker host.

Containers run `repo_digest` (the built image's id for a local build), so a
new build, and only a new build, replaces the app container. Paths are relative
to the project (no absolute path of this machine in state) and the platform is
the Docker host's (settings: `appPlatform`), never the provider's default, which
is the CPU of the machine running `pulumi`. The image is not
built during `pulumi preview` (build_on_preview defaults to off), which keeps
pull-request previews fast and free of side effects.

Rollback (`appImage` = a kept build): nothing is built; the containers run that
image, and ImageHistory records it as the build deployed last, so it is kept
like any other (components/builds.py).
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
    pinned: str | None = None
    """appImage: run this image (an earlier imageDigest or kept build tag) instead of building."""


class AppImage(pulumi.ComponentResource):
    image: docker.Image | None
    """None while an image is pinned (appImage)."""
    repo_digest: pulumi.Output[str]
    """What the containers run: the build's id, or the pinned image."""

    def __init__(
        self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:AppImage", name, None, opts)
        b = args.build
        if args.pinned:
            self.image = None
            self.repo_digest = pulumi.Output.from_input(args.pinned)
        else:
            self.image = _build(b, self)
            self.repo_digest = self.image.repo_digest
        keep_builds(
            "app-builds", self.repo_digest, b.image_name, docker_host=args.docker_host, parent=self
        )
        self.register_outputs({"repoDigest": self.repo_digest})


def _build(b: AppBuild, parent: pulumi.Resource) -> docker.Image:
    return docker.Image(
        "app",
        image_name=b.image_name,
        build=docker.DockerBuildArgs(
            context=project_relative(b.context),
            dockerfile=project_relative(b.dockerfile),
            target=b.target,
            platform=b.platform,
            args={"BASE_IMAGE": b.base_image, **b.build_args},
            builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            cache_from=docker.CacheFromArgs(images=list(b.cache_from)) if b.cache_from else None,
        ),
        skip_push=True,
        build_on_preview=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
