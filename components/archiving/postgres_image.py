"""The PostgreSQL image with pgBackRest, derived from `postgresImage` (archiving/postgres).

Built on the Docker host like the ops image, never pushed; the database container and
the backup server sidecar run it. The same platform rules as the app and ops images
apply (settings: `appPlatform`, the Docker host's CPU, never the provider's default of
the machine running `pulumi`), paths are relative to the project (no absolute path in
state), and old builds are pruned like theirs (components/builds.py), so a change of
`postgresImage` or of the pinned pgBackRest leaves a rollback target, not a pile of
images. `postgresImage` must be Debian-based (settings refuse an Alpine tag while
archiving is on; see archiving/postgres/Dockerfile for why).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.archiving import PGBACKREST_VERSION
from components.builds import keep_builds

CONTEXT = "archiving/postgres"


@dataclass(frozen=True)
class ArchivingPostgresImageArgs:
    name_prefix: str
    base_image: str
    platform: str
    """The Docker host's platform (the same as the app and ops images')."""
    docker_host: str | None = None


class ArchivingPostgresImage(pulumi.ComponentResource):
    repo_digest: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ArchivingPostgresImageArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("escalafin:archiving:PostgresImage", name, None, opts)
        image_name = f"{args.name_prefix}-postgres-pitr:latest"
        image = docker.Image(
            "postgres-pitr",
            image_name=image_name,
            # Relative to the project directory (the provider's working directory).
            build=docker.DockerBuildArgs(
                context=CONTEXT,
                dockerfile=f"{CONTEXT}/Dockerfile",
                platform=args.platform,
                args={"BASE_IMAGE": args.base_image, "PGBACKREST_VERSION": PGBACKREST_VERSION},
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            skip_push=True,
            build_on_preview=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repo_digest = image.repo_digest
        keep_builds(
            "postgres-pitr-builds",
            image.repo_digest,
            image_name,
            docker_host=args.docker_host,
            parent=self,
        )
        self.register_outputs({"repoDigest": self.repo_digest})
