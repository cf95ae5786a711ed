"""The images that share the pgBackRest repository: same version, key files as pgBackRest wants.

Builds archiving/postgres FROM the PostgreSQL image (the lab's stand-in is Debian trixie
like postgres:17-trixie) and the ops image, both with the pinned PGBACKREST_VERSION the
program passes, and checks what a mismatch or a readable key would break at run time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from components.archiving import PGBACKREST_VERSION
from tests.support import docker_env, images
from tests.support.docker_env import LABEL

REPO = Path(__file__).resolve().parents[2]
TAGS = {
    "postgres": f"escalafin-test/postgres-pitr:images-{os.getpid()}",
    "ops": f"escalafin-test/ops-pitr:images-{os.getpid()}",
}


@pytest.fixture(scope="module")
def built(docker_client: docker.DockerClient) -> Iterator[dict[str, str]]:
    for name in (images.POSTGRES, images.PYTHON):
        docker_env.require_image(docker_client, name)
    version = {"PGBACKREST_VERSION": PGBACKREST_VERSION}
    docker_env.build(
        REPO / "archiving" / "postgres",
        TAGS["postgres"],
        build_args={"BASE_IMAGE": images.POSTGRES, **version},
    )
    docker_env.build(
        REPO,
        TAGS["ops"],
        dockerfile=str(REPO / "ops" / "Dockerfile"),
        build_args={"BASE_IMAGE": images.PYTHON, **version},
    )
    yield TAGS
    for tag in TAGS.values():
        docker_client.images.remove(tag)


def run(client: docker.DockerClient, image: str, command: list[str], **kw: object) -> str:
    out = client.containers.run(image, command, remove=True, labels={LABEL: "1"}, **kw)  # type: ignore[call-overload]
    return bytes(out).decode().strip()


def test_both_images_run_the_pinned_pgbackrest(
    built: dict[str, str], docker_client: docker.DockerClient
) -> None:
    wanted = f"pgBackRest {PGBACKREST_VERSION.rsplit('-', 1)[0]}"
    postgres = run(docker_client, built["postgres"], ["pgbackrest", "version"], entrypoint=[])
    ops = run(
        docker_client,
        built["ops"],
        ["-c", "import subprocess; subprocess.run(['pgbackrest', 'version'])"],
        entrypoint=["python"],
    )
    assert postgres == ops == wanted


@pytest.mark.parametrize("user", ["root", "postgres"])
def test_pem_files_are_written_for_the_user_that_runs_pgbackrest(
    built: dict[str, str], docker_client: docker.DockerClient, user: str
) -> None:
    listing = run(
        docker_client,
        built["postgres"],
        ["sh", "-c", 'stat -c "%n %U %a" /etc/pgbackrest/tls/*; echo "key=${ESCALAFIN_PEM_KEY:-}"'],
        entrypoint=["escalafin-pem-files"],
        user=user,
        environment={
            "ESCALAFIN_PEM_CA": "ca-pem",
            "ESCALAFIN_PEM_CERT": "cert-pem",
            "ESCALAFIN_PEM_KEY": "key-pem",
        },
    )
    assert listing.splitlines() == [
        "/etc/pgbackrest/tls/ca.crt postgres 600",
        "/etc/pgbackrest/tls/tls.crt postgres 600",
        "/etc/pgbackrest/tls/tls.key postgres 600",
        "key=",  # the key is not left in the environment of what runs next
    ]
