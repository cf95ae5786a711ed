"""ImageHistory: keep the last few builds of an image for rollback, remove older ones.

pulumi-docker's `Image` never deletes anything (provider/provider.go, `Delete` is a
no-op): every rebuild moves the `:latest` tag and leaves the previous build behind,
untagged, until the host's disk fills. This resource runs after each build, on the
machine running `pulumi`, through the stack's Docker host (never from a container):

- tags the current build `<repository>:build-<12 hex of its id>`, so kept builds are
  named and visible (`docker image ls <repository>`);
- keeps the `keep` most recently *deployed* such builds (the current one first, then
  the order recorded in its own state — a rollback's build is a cache hit with an old
  creation date, so creation dates would get this wrong) and untags the rest, which
  lets Docker delete their layers; a build still used by a container is left alone
  and reported.

Rollback: `pulumi config set escalafin:appImage <a kept build tag or its id>` and
`pulumi up`: nothing is built, the app replicas are replaced without downtime, and
this resource records the pinned image as the build deployed last (so it stays
kept). Builds made before this resource existed are untagged and not touched:
`docker image ls --filter dangling=true` shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from lifecycle.docker_host import connect
from lifecycle.dynamic_inputs import changed_inputs, missing, without_provider

log = logging.getLogger("lifecycle.image_history")

TAG_PREFIX: Final = "build-"
TRIGGERS: Final = ("repository", "image_id", "keep", "docker_host")


@dataclass(frozen=True)
class Build:
    tag: str
    """`<repository>:build-<id>`."""
    image_id: str
    created: str
    """RFC 3339 creation time of the image (sorts as text)."""


def build_tag(repository: str, image_id: str) -> str:
    return f"{repository}:{TAG_PREFIX}{image_id.removeprefix('sha256:')[:12]}"


def to_prune(
    builds: Sequence[Build], current_tag: str, deployed: Sequence[str], keep: int
) -> list[Build]:
    """Pure: the builds beyond the `keep` most recently deployed, never the current one.

    `deployed` is the previous run's kept tags, most recent first; builds it does not
    know (made before this resource existed) rank after it, newest first.
    """
    rank = {tag: i for i, tag in enumerate([current_tag, *deployed])}
    by_recency = sorted(
        sorted(builds, key=lambda b: b.created, reverse=True),
        key=lambda b: rank.get(b.tag, len(rank)),
    )
    return [b for b in by_recency[max(keep, 1) :] if b.tag != current_tag]


def _builds(client: Any, repository: str) -> list[Build]:
    found: list[Build] = []
    for image in client.images.list(name=repository):
        for tag in image.tags:
            if tag.startswith(f"{repository}:{TAG_PREFIX}"):
                found.append(Build(tag, str(image.id), str(image.attrs.get("Created", ""))))
    return found


def record_and_prune(
    docker_host: str | None, repository: str, image_id: str, keep: int, deployed: Sequence[str]
) -> dict[str, list[str]]:
    """Tag the current build, untag builds beyond `keep`; returns kept/pruned/in-use tags."""
    from docker.errors import APIError  # noqa: PLC0415

    client = connect(docker_host)
    try:
        image = client.images.get(image_id)  # a build's id, or a pinned id or tag (appImage)
        current = build_tag(repository, str(image.id))
        image.tag(*current.rsplit(":", 1))
        builds = _builds(client, repository)
        doomed = to_prune(builds, current, deployed, keep)
        pruned: list[str] = []
        in_use: list[str] = []
        for build in doomed:
            try:
                client.images.remove(build.tag)
            except APIError as exc:  # a container still runs it: keep it, say so
                log.warning("kept %s: %s", build.tag, exc.explanation or exc)
                in_use.append(build.tag)
            else:
                pruned.append(build.tag)
        order = [current, *deployed]
        kept = sorted(
            (b.tag for b in builds if b not in doomed or b.tag in in_use),
            key=lambda t: order.index(t) if t in order else len(order),
        )
        log.info("%s: kept %s, pruned %s", repository, kept, pruned)
        return {"kept": kept, "pruned": pruned, "in_use": in_use}
    finally:
        client.close()


class ImageHistoryProvider(ResourceProvider):
    """Runs on every new build; delete keeps every image (rollback material)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = missing(news, ("repository", "image_id"))
        if int(news.get("keep") or 0) < 1:
            failures.append(CheckFailure("keep", "keep must be at least 1"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(
            changes=bool(changed_inputs(olds, news, TRIGGERS)),
            replaces=[],
            delete_before_replace=False,
        )

    def _run(self, props: dict[str, Any], deployed: Sequence[str]) -> dict[str, Any]:
        result = record_and_prune(
            props.get("docker_host") or None,
            str(props["repository"]),
            str(props["image_id"]),
            int(props["keep"]),
            deployed,
        )
        return {**without_provider(props), **result}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"history-{props['repository']}", self._run(props, []))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        deployed: list[Any] = list(olds.get("kept") or [])
        return UpdateResult(self._run(news, [str(t) for t in deployed]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Removing the resource keeps every build: they are the rollback material."""


@dataclass(frozen=True)
class ImageHistoryArgs:
    """repository: the image name without tag; image_id: what the containers run now
    (the build's repo_digest, or the pinned appImage, an id or a tag)."""

    repository: str
    image_id: pulumi.Input[str]
    keep: int
    docker_host: str | None


class ImageHistory(Resource, module="escalafin", name="ImageHistory"):
    """Type token: pulumi-python:dynamic/escalafin:ImageHistory."""

    kept: pulumi.Output[list[str]]
    pruned: pulumi.Output[list[str]]

    def __init__(
        self, resource_name: str, args: ImageHistoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "repository": args.repository,
            "image_id": args.image_id,
            "keep": args.keep,
            "docker_host": args.docker_host or "",
            "kept": None,
            "pruned": None,
            "in_use": None,
        }
        super().__init__(ImageHistoryProvider(), resource_name, props, opts)
