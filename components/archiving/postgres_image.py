"""The PostgreSQL image with pgBackRest, derived from `postgresImage` (archiving/postgres).

Built on the Docker host like the ops image, never pushed; the database container and
the backup server sidecar run it. `postgresImage` must be Debian-based (settings refuse
an Alpine tag while archiving is on; see archiving/postgres/Dockerfile for why).
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.archiving import PGBACKREST_VERSION
from components.settings import PROJECT_DIR


class ArchivingPostgresImage(pulumi.ComponentResource):
    repo_digest: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        name_prefix: str,
        base_image: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("escalafin:archiving:PostgresImage", name, None, opts)
        context = PROJECT_DIR / "archiving" / "postgres"
        image = docker.Image(
            "postgres-pitr",
            image_name=f"{name_prefix}-postgres-pitr:latest",
            build=docker.DockerBuildArgs(
                context=str(context),
                dockerfile=str(context / "Dockerfile"),
                args={"BASE_IMAGE": base_image, "PGBACKREST_VERSION": PGBACKREST_VERSION},
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            skip_push=True,
            build_on_preview=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repo_digest = image.repo_digest
        self.register_outputs({"repoDigest": self.repo_digest})
