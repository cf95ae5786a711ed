"""An image built on the machine running `pulumi` and pushed to its own ECR repository.

Tagged by content: the tag is a SHA-256 over what the build sees (the context as its
.dockerignore filters it — docker-py's own `exclude_paths`, the Docker CLI's rules — plus
the Dockerfile path, target, platform and build args), so a tag names one source state and
`pulumi up` with unchanged sources pushes nothing new. Task definitions reference the
pushed **digest** (`repo@sha256:…`, pulumi-docker's `repo_digest`), so ECS runs exactly the
bytes that were built, and a rollback (circuit breaker) runs exactly the previous bytes.
Tags stay MUTABLE on purpose: builds are not bit-reproducible, and pulumi-docker rebuilds
when its own context hash changes (pulumi-docker provider/image.go, hashContext), which can
differ from ours in corner cases; an IMMUTABLE repository would then refuse the push of an
existing tag. The digest, not the tag, is the contract. Old images expire by count, keeping
enough for rollbacks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
from docker.utils.build import exclude_paths  # pyright: ignore[reportUnknownVariableType]

from components.settings import project_relative
from components.specs import ImageSource

KEEP_IMAGES = 20


def content_tag(source: ImageSource) -> str:
    """`src-<24 hex>`: changes when, and only when, what the build sees changes."""
    root = source.context
    ignore = root / ".dockerignore"
    patterns = [
        line.strip()
        for line in (ignore.read_text().splitlines() if ignore.is_file() else [])
        if line.strip() and not line.startswith("#")
    ]
    dockerfile = source.dockerfile.relative_to(root).as_posix()
    included: set[str] = exclude_paths(str(root), patterns, dockerfile=dockerfile)  # pyright: ignore[reportUnknownVariableType]
    digest = hashlib.sha256()
    recipe = {
        "dockerfile": dockerfile,
        "target": source.target,
        "platform": source.platform,
        "args": dict(sorted(source.build_args.items())),
    }
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    for relative in sorted(included):
        path = root / relative
        if path.is_file():
            digest.update(f"\0{relative}\0{path.stat().st_mode & 0o777:o}\0".encode())
            digest.update(path.read_bytes())
    return "src-" + digest.hexdigest()[:24]


@dataclass(frozen=True)
class RegistryImageArgs:
    repository: str
    source: ImageSource


class RegistryImage(pulumi.ComponentResource):
    repository: aws.ecr.Repository
    image: docker.Image
    tag: str
    image_ref: pulumi.Output[str]
    """`<repository url>@sha256:<digest>`: what task definitions run."""

    def __init__(
        self, name: str, args: RegistryImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:aws:RegistryImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            "repository",
            name=args.repository,
            image_tag_mutability="MUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            force_delete=False,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            "keep-recent",
            repository=self.repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"keep the newest {KEEP_IMAGES} images (rollbacks)",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": KEEP_IMAGES,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=child,
        )
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        s = args.source
        self.tag = content_tag(s)
        self.image = docker.Image(
            "image",
            image_name=pulumi.Output.concat(self.repository.repository_url, ":", self.tag),
            build=docker.DockerBuildArgs(
                context=project_relative(s.context),
                dockerfile=project_relative(s.dockerfile),
                target=s.target,
                platform=s.platform,
                args=dict(s.build_args),
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            registry=docker.RegistryArgs(
                server=self.repository.repository_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            skip_push=False,
            build_on_preview=False,
            opts=child,
        )
        self.image_ref = self.image.repo_digest
        self.register_outputs({"imageRef": self.image_ref, "tag": self.tag})
