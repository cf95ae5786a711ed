"""The embedded store's image for tests: the real one, or the lab's stand-in adapted to it.

The stack runs Versity S3 Gateway (components/object_store.py) and checks its health with
`wget` (the image is Alpine-based). The lab's S3 stand-in (moto on Debian, arguments and
environment ignored, any credentials accepted) has no `wget`; when the image under test
lacks it, a one-line layer adds a `wget` that succeeds once the S3 API on the URL's host
and port answers — what the stand-in's own `mc ready local` does. Built once per process
under a per-process tag and removed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import tempfile
from pathlib import Path

import docker
from docker.errors import APIError, ContainerError, ImageNotFound

from tests.support import images
from tests.support.docker_env import build, require_image

WGET_STANDIN = """#!/bin/sh
# wget stand-in for the S3 stand-in: succeed once the S3 API at the URL's host:port answers.
for arg; do url="$arg"; done
exec python3 -c '
import sys, urllib.parse, urllib.request
u = urllib.parse.urlsplit(sys.argv[1])
urllib.request.urlopen(f"{u.scheme}://{u.netloc}/", timeout=3)
' "$url"
"""


def _has_wget(client: docker.DockerClient, image: str) -> bool:
    try:
        client.containers.run(image, ["-c", "command -v wget"], entrypoint="sh", remove=True)
    except ContainerError:
        return False
    return True


@functools.cache
def image(client: docker.DockerClient) -> str:
    """The store image to run: images.S3, adapted when it lacks the healthcheck's `wget`."""
    require_image(client, images.S3)
    if _has_wget(client, images.S3):
        return images.S3
    tag = f"escalafin-test/s3-store:{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        (context / "wget").write_text(WGET_STANDIN)
        (context / "Dockerfile").write_text(
            f"FROM {images.S3}\nCOPY --chmod=0755 wget /usr/local/bin/wget\n"
        )
        build(context, tag)

    def remove() -> None:
        with contextlib.suppress(ImageNotFound, APIError):
            client.images.remove(tag, force=True)

    atexit.register(remove)
    return tag
