"""The dev stack with the Next.js example as the app (appTemplate nextjs), realised on Docker.

What `pulumi up` must do for a user's Next.js + Prisma app: build it with the shipped template,
apply its prisma/migrations with our runner, seed its first users, start it as uid 1001 on a
read-only root filesystem, and serve the page from rows written through the database.
One deployment for the module; its fixture does (and checks) the first `up`.
"""

from __future__ import annotations

import secrets
import urllib.request
from collections.abc import Iterator

import docker
import pytest

from components.app import APP_USER, CACHE_PATH, TMPFS
from tests.e2e import checks, scenarios
from tests.e2e.conftest import Deployment
from tests.support import images
from tests.support.docker_env import require_image

pytestmark = pytest.mark.e2e

APP_CONTEXT = "examples/nextjs-app"


@pytest.fixture(scope="module")
def nextjs(docker_client: docker.DockerClient) -> Iterator[Deployment]:
    require_image(docker_client, images.NODE)
    yield from scenarios.deployed(
        docker_client,
        "dev",
        appTemplate="nextjs",
        appContext=APP_CONTEXT,
        appBaseImage=images.NODE,
        **scenarios.NO_ARCHIVING,
    )


def page(port: int) -> str:
    url = f"http://127.0.0.1:{port}/"
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return response.read().decode()


def test_up_builds_migrates_seeds_and_starts_it_healthy(nextjs: Deployment) -> None:
    scenarios.healthy_migrated_seeded(nextjs)
    migrated = nextjs.harness.outputs("DatabaseMigrations/migrations")
    assert migrated["total_applied"] == 2, migrated
    assert scenarios.users(nextjs) == 3  # the example's prisma/seed.json


def test_app_runs_the_template_image_as_1001_read_only(nextjs: Deployment) -> None:
    app = nextjs.container("app")
    app.reload()
    host = app.attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == TMPFS
    assert [m["Destination"] for m in app.attrs["Mounts"]] == [CACHE_PATH]
    assert app.attrs["Config"]["User"] == APP_USER
    assert app.attrs["Config"]["Healthcheck"]["Test"][:3] == ["CMD", "node", "-e"]
    code, out, _ = checks.run_in(app, ["sh", "-c", "id -u; touch /app/x || echo read-only"])
    assert code == 0 and out.split() == ["1001", "read-only"], out
    image = nextjs.harness.client.images.get(app.attrs["Image"])
    assert image.attrs["Config"]["Cmd"] == ["node", "server.js"]


def test_page_lists_rows_written_through_the_database(nextjs: Deployment) -> None:
    token = secrets.token_hex(4)
    checks.psql(
        nextjs.container("postgres"),
        'INSERT INTO clients (id, "firstName", "lastName", phone, status, "advisorId", '
        f"\"updatedAt\") SELECT 'c-{token}', 'Marta', 'Ortiz-{token}', '+52 1', 'ACTIVE', id, "
        "now() FROM users WHERE role = 'ADVISOR'; "
        'INSERT INTO loans (id, "loanNumber", "clientId", "principalAmount", "interestRate", '
        f'"termMonths", "startDate", "updatedAt") VALUES (\'l-{token}\', \'L-{token}\', '
        f"'c-{token}', 2500, 0.2, 6, now(), now())",
    )
    html = page(nextjs.app_port)
    assert f"Ortiz-{token}" in html
    assert "Asesor Demo" in html  # the seeded advisor, through the relation
    assert f"L-{token} PENDING 2500.00" in html  # the column default, an enum, a decimal


def test_second_up_changes_nothing(nextjs: Deployment) -> None:
    scenarios.no_change(nextjs)
