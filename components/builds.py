"""Old image builds: keep the last few for rollback, prune the rest (lifecycle/image_history.py).

Shared by the app and ops images, whose provider never deletes a build.
"""

from __future__ import annotations

import pulumi

from lifecycle.image_history import ImageHistory, ImageHistoryArgs

BUILDS_KEPT = 3
"""The current build and the two before it: enough to roll back twice without a rebuild."""


def repository_of(image_name: str) -> str:
    """`registry:5000/name:tag` → `registry:5000/name` (a colon after the last slash is a tag)."""
    slash = image_name.rfind("/")
    colon = image_name.rfind(":")
    return image_name[:colon] if colon > slash else image_name


def keep_builds(
    resource_name: str,
    image_id: pulumi.Input[str],
    image_name: str,
    *,
    docker_host: str | None,
    parent: pulumi.Resource,
) -> ImageHistory:
    return ImageHistory(
        resource_name,
        ImageHistoryArgs(
            repository=repository_of(image_name),
            image_id=image_id,
            keep=BUILDS_KEPT,
            docker_host=docker_host,
        ),
        pulumi.ResourceOptions(parent=parent),
    )
