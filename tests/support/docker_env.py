"""Access to the Docker engine for tiers 2-4.

Outside CI a missing engine or image skips the test; with CI=true it fails, so
no tier can silently vanish from a CI run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NoReturn

import docker
import pytest
from docker.errors import DockerException, ImageNotFound

from tests.support import images

LABEL = "escalafin.test"  # every container/network/volume a test creates carries it


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"CI=true and {reason}: this tier must run in CI", pytrace=False)
    pytest.skip(reason)


def client() -> docker.DockerClient:
    try:
        c = docker.from_env(timeout=300)
        c.ping()
    except DockerException as exc:
        unavailable(f"no Docker engine reachable ({exc.__class__.__name__})")
    return c


def require_image(c: docker.DockerClient, name: str) -> None:
    try:
        c.images.get(name)
    except ImageNotFound:
        unavailable(f"image {name} is not available locally (run ../shared/lab/lab.sh up)")


def build(
    context: Path,
    tag: str,
    *,
    target: str | None = None,
    dockerfile: str | None = None,
    build_args: dict[str, str] | None = None,
) -> None:
    """BuildKit build through the CLI (docker-py's build API is the legacy builder)."""
    cmd = [images.DOCKER_CLI, "build", "-q", "-t", tag]
    if target:
        cmd += ["--target", target]
    if dockerfile:
        cmd += ["-f", dockerfile]
    for key, value in (build_args or {}).items():
        cmd += ["--build-arg", f"{key}={value}"]
    cmd.append(str(context))
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        pytest.fail(f"docker build {tag} failed:\n{result.stderr[-4000:]}", pytrace=False)
