"""tools.probe against the real app image with real PostgreSQL 17 and Redis.

The app image comes from the session fixture in tests/images/conftest.py and is run
with test_app_image.py's helpers; then the probe CLI is run as a subprocess on a
file of stack outputs, the way an operator or a monitor would: healthy → 0,
database stopped → 1 (503), app stopped → 2 (connection refused), a server
that never answers → 2 (timeout), outputs naming no URL → 3.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from tests.images.test_app_image import (
    app_container,
    apply_migrations,
    insert_users,
    wait_for_status,
)
from tests.support import services

pytestmark = pytest.mark.images

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Running:
    app: Container
    pg: services.Postgres
    health_url: str


@dataclass(frozen=True)
class Probe:
    code: int
    out: str
    err: str
    seconds: float


def run_probe(*args: str, stdin: str | None = None) -> Probe:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tools.probe", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Probe(
        result.returncode, result.stdout.strip(), result.stderr.strip(), time.monotonic() - started
    )


def outputs_file(tmp_path: Path, url: str, timeout: float = 5) -> str:
    """What `pulumi stack output --json` prints for this stack (monitoring spec included)."""
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                "appUrl": url.removesuffix("/api/health"),
                "healthUrl": url,
                "monitoring": {
                    "url": url,
                    "method": "GET",
                    "expectedStatus": 200,
                    "jsonField": "status",
                    "expectedValue": "healthy",
                    "intervalSeconds": 60,
                    "timeoutSeconds": timeout,
                },
                "databasePassword": "[secret]",
            }
        )
    )
    return str(path)


@pytest.fixture(scope="module")
def running(docker_client: docker.DockerClient, app_image: str) -> Iterator[Running]:
    c = docker_client
    with (
        services.network(c) as net,
        services.postgres(c, network=net) as pg,
        services.redis(c, network=net) as redis,
    ):
        apply_migrations(pg.url)
        insert_users(pg.url, 1)
        env = {
            "DATABASE_URL": pg.url_in_network("postgres"),
            "REDIS_URL": redis.url_in_network("redis"),
            "APP_ENV": "test",
            "NEXTAUTH_URL": "http://localhost:3000",
            "NEXTAUTH_SECRET": "probe-test-secret",
        }
        with app_container(c, env, network=net, publish=True) as app:
            services.wait_healthy(app, timeout=90)
            app.reload()
            port = app.attrs["NetworkSettings"]["Ports"]["3000/tcp"][0]["HostPort"]
            yield Running(app, pg, f"http://127.0.0.1:{port}/api/health")


def test_healthy_app_exits_0_with_status_field_and_latency(
    running: Running, tmp_path: Path
) -> None:
    probe = run_probe(outputs_file(tmp_path, running.health_url))
    assert probe.code == 0, probe
    words = probe.out.split()
    assert words[:3] == ["OK", "200", "healthy"], probe.out
    assert words[3].endswith("ms") and int(words[3][:-2]) < 5000
    assert words[4] == running.health_url


def test_health_url_fallback_from_stdin(running: Running) -> None:
    probe = run_probe("-", stdin=json.dumps({"healthUrl": running.health_url}))
    assert probe.code == 0, probe
    assert probe.out.startswith("OK 200 ") and probe.out.endswith(running.health_url)


def test_stopped_database_is_unhealthy_exit_1(running: Running, tmp_path: Path) -> None:
    running.pg.container.stop(timeout=10)
    try:
        probe = run_probe(outputs_file(tmp_path, running.health_url))
    finally:
        running.pg.container.start()
    assert probe.code == 1, probe
    assert probe.out.startswith("FAIL 503 expected 200 "), probe.out
    assert running.pg.password not in probe.out + probe.err
    assert wait_for_status(running.health_url, 200).status == 200


def test_wrong_json_field_value_is_unhealthy_exit_1(running: Running) -> None:
    outputs = {
        "monitoring": {"url": running.health_url, "jsonField": "database", "expectedValue": "up"}
    }
    probe = run_probe("-", stdin=json.dumps(outputs))
    assert probe.code == 1, probe
    assert probe.out.startswith("FAIL 200 database='connected' expected 'up' "), probe.out


def test_server_that_never_answers_times_out_exit_2(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never responds
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api/health"
        probe = run_probe(outputs_file(tmp_path, url, timeout=1))
    assert probe.code == 2, probe
    assert probe.out == f"FAIL timeout after 1s {url}"
    assert probe.seconds < 10


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        ("{}", "neither 'monitoring' nor 'healthUrl'"),
        ("not json", "not JSON"),
        ('{"monitoring": {"url": "ftp://x"}}', "expected an http(s) URL"),
        ('{"monitoring": {"url": "http://x", "timeoutSeconds": 0}}', "timeoutSeconds"),
    ],
)
def test_bad_outputs_exit_3_naming_the_problem(stdin: str, says: str) -> None:
    probe = run_probe("-", stdin=stdin)
    assert probe.code == 3, probe
    assert probe.out == "" and probe.err.startswith("FAIL usage: ") and says in probe.err


def test_stopped_app_is_unreachable_exit_2(running: Running, tmp_path: Path) -> None:
    running.app.stop(timeout=10)  # last: the module's app is gone after this
    probe = run_probe(outputs_file(tmp_path, running.health_url))
    assert probe.code == 2, probe
    assert probe.out.startswith("FAIL unreachable ("), probe.out
    assert probe.out.endswith(running.health_url)
