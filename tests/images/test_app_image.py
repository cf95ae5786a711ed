"""The reference app image, built with BuildKit, against real PostgreSQL 17 and Redis.

One build and one running stack per module: the schema comes from the Prisma
migrations (each file sent as one simple query on an autocommit connection, as
Prisma Migrate does), a couple of users are inserted, then the container is
probed through its port published on 127.0.0.1.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import bcrypt
import docker
import psycopg
import pytest
import redis
from docker.models.containers import Container

from tests.images.conftest import APP_CONTEXT, APP_TAG
from tests.support import services
from tests.support.probing import (
    HEALTH_KEYS,
    Answer,
    app_env,
    assert_no_internals,
    basic_auth,
    cache_volume,
    get,
    logs,
    post_across_sigterm,
    published_port,
    request_json,
    run_in,
    running,
    stop_once_ready,
    wait_for_status,
)

pytestmark = pytest.mark.images

MIGRATIONS = APP_CONTEXT / "prisma" / "migrations"
HEALTHCHECK_ARGV = ["CMD", "python", "-m", "escalafin_app.healthcheck"]
AUTH_SECRET = f"nextauth-{uuid.uuid4().hex}"  # passed in, must never show up in logs
BOUND_S = 5.0  # the health endpoint must answer within this even if PostgreSQL hangs


@dataclass(frozen=True)
class Stack:
    app: Container
    pg: services.Postgres
    redis: services.Redis
    network: str
    volume: str
    base_url: str
    env: dict[str, str]


def apply_migrations(url: str) -> list[str]:
    """Every migration folder in name order, one simple-protocol query each."""
    applied = []
    with psycopg.connect(url, autocommit=True) as conn:
        for script in sorted(MIGRATIONS.glob("*/migration.sql")):
            conn.execute(script.read_bytes())
            applied.append(script.parent.name)
    return applied


def insert_users(url: str, count: int) -> None:
    hashed = bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds=4)).decode()
    with psycopg.connect(url) as conn:
        for n in range(count):
            conn.execute(
                'INSERT INTO "users" ("id", "email", "firstName", "lastName", "password", '
                '"role", "updatedAt") VALUES (%s, %s, %s, %s, %s, %s, now())',
                (f"user{n}", f"user{n}@escalafin.test", "Test", f"User{n}", hashed, "ADVISOR"),
            )


@contextmanager
def app_container(
    c: docker.DockerClient,
    env: dict[str, str],
    *,
    network: str | None = None,
    publish: bool = False,
    cache_volume: str | None = None,
) -> Iterator[Container]:
    loopback_any_port: dict[str, Any] = {"3000/tcp": ("127.0.0.1", None)}  # None: any free port
    cache = {cache_volume: {"bind": "/app/.next/cache", "mode": "rw"}} if cache_volume else None
    with running(
        c,
        APP_TAG,
        env,
        network=network,
        ports=loopback_any_port if publish else None,
        volumes=cache,
    ) as container:
        yield container


@pytest.fixture(scope="module")
def stack(docker_client: docker.DockerClient, app_image: str) -> Iterator[Stack]:
    c = docker_client
    with (
        services.network(c) as net,
        services.postgres(c, network=net) as pg,
        services.redis(c, network=net) as redis,
    ):
        assert len(apply_migrations(pg.url)) == len(list(MIGRATIONS.glob("*/migration.sql")))
        insert_users(pg.url, 2)
        env = app_env(pg, redis, version="1.2.3-test", auth_secret=AUTH_SECRET)
        with (
            cache_volume(c) as volume,
            app_container(c, env, network=net, publish=True, cache_volume=volume) as app,
        ):
            services.wait_healthy(app, timeout=90)  # the image's own HEALTHCHECK
            port = published_port(app)
            yield Stack(app, pg, redis, net, volume, f"http://127.0.0.1:{port}/api/health", env)


def no_internals(answer: Answer, stack: Stack) -> None:
    assert_no_internals(answer, stack.pg.password, stack.redis.password, AUTH_SECRET)


def test_health_is_200_with_user_count(stack: Stack) -> None:
    answer = get(stack.base_url)
    body = answer.json()
    assert answer.status == 200, answer.text
    assert set(body) == HEALTH_KEYS
    assert body["status"] == "healthy"
    assert body["database"] == "connected"
    assert body["redis"] == "connected"
    assert body["users"] == 2
    assert body["version"] == "1.2.3-test"
    assert body["environment"] == "test"
    assert str(body["timestamp"]).endswith("Z")


def test_migrations_built_the_contract_schema(stack: Stack) -> None:
    # client_encoding: decode text even if the server was initialised as SQL_ASCII
    with psycopg.connect(stack.pg.url, client_encoding="UTF8") as conn:
        columns = conn.execute(
            "SELECT column_name::text, is_nullable::text FROM information_schema.columns "
            "WHERE table_name = 'users' ORDER BY ordinal_position"
        ).fetchall()
        statuses = conn.execute('SELECT unnest(enum_range(NULL::"LoanStatus"))::text').fetchall()
        index_valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = '\"payments_loanId_paidAt_idx\"'"
            "::regclass"
        ).fetchone()
    assert [(name, nullable) for name, nullable in columns] == [
        ("id", "NO"),
        ("email", "NO"),
        ("firstName", "NO"),
        ("lastName", "NO"),
        ("password", "NO"),
        ("role", "NO"),
        ("status", "NO"),
        ("phone", "YES"),
        ("createdAt", "NO"),
        ("updatedAt", "NO"),
    ]
    assert ("RESTRUCTURED",) in statuses
    assert index_valid == (True,)


def test_image_healthcheck_turns_container_healthy(
    docker_client: docker.DockerClient, stack: Stack
) -> None:
    config = docker_client.images.get(APP_TAG).attrs["Config"]
    assert config["Healthcheck"]["Test"] == HEALTHCHECK_ARGV
    assert config["ExposedPorts"] == {"3000/tcp": {}}
    assert config["StopSignal"] == "SIGTERM"
    stack.app.reload()
    assert stack.app.attrs["State"]["Health"]["Status"] == "healthy"


def test_process_runs_as_uid_1001(stack: Stack) -> None:
    _, status = run_in(stack.app, ["cat", "/proc/1/status"])
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    gid_line = next(line for line in status.splitlines() if line.startswith("Gid:"))
    assert uid_line.split()[1:] == ["1001"] * 4
    assert gid_line.split()[1:] == ["1001"] * 4


def test_fresh_named_volume_on_cache_path_is_writable(stack: Stack) -> None:
    exit_code, output = run_in(
        stack.app,
        ["sh", "-c", "echo ok > /app/.next/cache/probe && stat -c %u:%g /app/.next/cache"],
    )
    assert exit_code == 0, output
    assert output.strip() == "1001:1001"


def test_one_log_line_per_request_and_no_secrets(stack: Stack) -> None:
    marker = f"/api/missing-{uuid.uuid4().hex[:6]}"
    assert get(stack.base_url.replace("/api/health", marker)).status == 404
    time.sleep(0.3)
    lines = [line for line in logs(stack.app).splitlines() if marker in line]
    assert len(lines) == 1 and f"GET {marker} 404 " in lines[0] and lines[0].endswith("ms")
    for secret in (AUTH_SECRET, stack.pg.password, stack.redis.password):
        assert secret not in logs(stack.app)


PASSWORD = "not-a-real-password"  # what insert_users hashes


def call(
    method: str, url: str, *, user: str | None = "user0@escalafin.test", body: object = None
) -> tuple[int, dict[str, str], Any]:
    """One request with Basic credentials: (status, lower-case headers, JSON body)."""
    auth = None if user is None else basic_auth(user, PASSWORD)
    return request_json(method, url, auth=auth, body=body)


def clients_url(stack: Stack) -> str:
    return stack.base_url.replace("/api/health", "/api/clients")


def test_clients_need_an_active_admin_or_advisor(stack: Stack) -> None:
    url = clients_url(stack)
    status, headers, _ = call("GET", url, user=None)
    assert status == 401 and headers["www-authenticate"].startswith("Basic ")
    assert call("GET", url, user="nobody@escalafin.test")[0] == 401
    with psycopg.connect(stack.pg.url, autocommit=True) as conn:
        conn.execute(
            """UPDATE "users" SET "role" = 'CLIENT' WHERE "email" = 'user1@escalafin.test'"""
        )
    assert call("GET", url, user="user1@escalafin.test")[0] == 403
    assert call("DELETE", url)[0] == 405


def test_clients_are_created_in_postgres_and_listed_through_redis(stack: Stack) -> None:
    url = clients_url(stack)
    status, _, created = call(
        "POST", url, body={"firstName": "Ana", "lastName": "Ruiz", "phone": "+52 55 1234"}
    )
    assert status == 201, created
    client_id = created["client"]["id"]
    with psycopg.connect(stack.pg.url) as conn:
        row = conn.execute(
            'SELECT "firstName", "advisorId" FROM "clients" WHERE "id" = %s', (client_id,)
        ).fetchone()
    assert row == ("Ana", "user0")  # an advisor's new client is theirs
    status, headers, listed = call("GET", url)
    assert status == 200 and headers["x-cache"] == "miss"
    assert client_id in [c["id"] for c in listed["clients"]]
    assert call("GET", url)[1]["x-cache"] == "hit"
    assert redis.Redis.from_url(stack.redis.url).exists("escalafin:clients:recent") == 1
    second = call("POST", url, body={"firstName": "Luis", "lastName": "Paz", "phone": "2"})[2]
    status, headers, listed = call("GET", url)  # the create dropped the cached list
    assert headers["x-cache"] == "miss" and listed["clients"][0]["id"] == second["client"]["id"]
    status, _, error = call("POST", url, body={"firstName": "", "lastName": "x", "phone": "1"})
    assert status == 422 and "firstName" in error["error"]


def test_sigterm_finishes_in_flight_requests_and_refuses_new_connections(
    docker_client: docker.DockerClient, stack: Stack
) -> None:
    """A create whose body is still arriving when SIGTERM comes still gets its 201."""
    with app_container(docker_client, stack.env, network=stack.network, publish=True) as app:
        services.wait_healthy(app, timeout=90)
        port = published_port(app)
        call("GET", f"http://127.0.0.1:{port}/api/clients")  # credentials checked once
        status, answer = post_across_sigterm(
            app,
            port,
            "/api/clients",
            auth=basic_auth("user0@escalafin.test", PASSWORD),
            body={"firstName": "In", "lastName": "Flight", "phone": "3"},
            refused_probe=["python", "-c", REFUSED_PROBE],
        )
        assert status == 201, answer
        assert app.wait(timeout=30)["StatusCode"] == 0, logs(app)
        assert "Application shutdown complete" in logs(app)
    with psycopg.connect(stack.pg.url) as db:
        found = db.execute(
            'SELECT count(*) FROM "clients" WHERE "id" = %s', (answer["client"]["id"],)
        ).fetchone()
    assert found == (1,)


REFUSED_PROBE = (
    "import socket\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', 3000), timeout=2)\n"
    "    print('connected')\n"
    "except ConnectionRefusedError:\n"
    "    print('refused')\n"
)


def test_hung_postgres_answers_503_within_bound(stack: Stack) -> None:
    stack.pg.container.pause()
    try:
        answer = get(stack.base_url)
        assert answer.status == 503, answer.text
        assert answer.seconds < BOUND_S, f"took {answer.seconds:.1f}s"
        assert answer.json()["database"] == "disconnected"
        assert answer.json()["redis"] == "connected"
        no_internals(answer, stack)
    finally:
        stack.pg.container.unpause()
    assert wait_for_status(stack.base_url, 200).status == 200


def test_stopped_postgres_answers_503_then_recovers(stack: Stack) -> None:
    stack.pg.container.stop(timeout=10)
    try:
        answer = get(stack.base_url)
        assert answer.status == 503, answer.text
        assert answer.seconds < BOUND_S, f"took {answer.seconds:.1f}s"
        body = answer.json()
        assert (body["status"], body["database"], body["users"]) == (
            "unhealthy",
            "disconnected",
            None,
        )
        no_internals(answer, stack)
    finally:
        stack.pg.container.start()
    recovered = wait_for_status(stack.base_url, 200)
    assert recovered.status == 200, recovered.text
    assert recovered.json()["users"] == 2


def test_stopped_redis_answers_503(stack: Stack) -> None:
    stack.redis.container.pause()
    try:
        answer = get(stack.base_url)
        assert answer.status == 503, answer.text
        assert answer.seconds < BOUND_S
        assert (answer.json()["database"], answer.json()["redis"]) == ("connected", "disconnected")
        no_internals(answer, stack)
    finally:
        stack.redis.container.unpause()
    assert wait_for_status(stack.base_url, 200).status == 200


def test_sigterm_shuts_down_gracefully(docker_client: docker.DockerClient, stack: Stack) -> None:
    with app_container(docker_client, stack.env, network=stack.network) as app:
        stopped_in = stop_once_ready(app, "Application startup complete")
        assert app.attrs["State"]["ExitCode"] == 0, logs(app)
        assert stopped_in < 10, f"stop took {stopped_in:.1f}s"
        assert "Application shutdown complete" in logs(app)


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL"])
def test_missing_required_env_exits_nonzero_naming_it(
    docker_client: docker.DockerClient, app_image: str, missing: str
) -> None:
    env = {"DATABASE_URL": "postgresql://u:secret-pw@db:5432/app", "REDIS_URL": "redis://r:6379"}
    del env[missing]
    with app_container(docker_client, env) as app:
        exit_code = app.wait(timeout=60)["StatusCode"]
        output = logs(app)
    assert exit_code != 0
    assert f"{missing} is required" in output
    assert len(output.strip().splitlines()) == 1, output
    assert "secret-pw" not in output
