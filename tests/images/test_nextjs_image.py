"""The Next.js example built by the shipped template, run as the program declares the app.

One build per session (conftest) and one stack per module: real PostgreSQL 17 and Redis on a
private network, the example's prisma/migrations applied by our runner, its seed.json seeded by
our conditional seed, and the app container started the way `components/app.py` starts it:
uid 1001, read-only root filesystem, tmpfs /tmp, the cache volume, the template's Node.js
healthcheck. Then the health contract, the page, and what the image must not contain.
"""

from __future__ import annotations

import json
import re
import secrets
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
from docker.models.containers import Container

from components.app import APP_USER, CACHE_PATH, STOP_TIMEOUT_S, TMPFS
from components.app_templates import TEMPLATES
from lifecycle import migrate, seed
from tests.images.conftest import NEXTJS_CONTEXT, NEXTJS_TAG
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
    wait_for_status,
)

pytestmark = pytest.mark.images

AUTH_SECRET = f"nextauth-{uuid.uuid4().hex}"  # handed to the app, must never show up
SEED_PASSWORDS = {key: secrets.token_urlsafe(12) for key in ("admin", "advisor", "client")}
SEED_EMAILS = {
    user["passwordKey"]: user["email"]
    for user in json.loads((NEXTJS_CONTEXT / "prisma" / "seed.json").read_text())["users"]
}
CHALLENGE = 'Basic realm="EscalaFin", charset="UTF-8"'  # the reference app's (auth.py)
CLIENT_FIELDS = {"id", "firstName", "lastName", "email", "phone", "status", "createdAt"}
BOUND_S = 5.0  # /api/health must answer within this even when a dependency hangs
SECONDS_NS = 1_000_000_000


@dataclass(frozen=True)
class Stack:
    app: Container
    pg: services.Postgres
    redis: services.Redis
    network: str
    base_url: str
    env: dict[str, str]


def program_healthcheck() -> dict[str, Any]:
    """The healthcheck the program declares for appTemplate nextjs (port 3000, /api/health)."""
    return {
        "test": list(TEMPLATES["nextjs"].probe(3000, "/api/health")),
        "interval": 1 * SECONDS_NS,
        "timeout": 9 * SECONDS_NS,
        "retries": 3,
        "start_period": 30 * SECONDS_NS,
    }


@contextmanager
def app_container(
    c: docker.DockerClient, env: dict[str, str], *, network: str | None = None, **extra: Any
) -> Iterator[Container]:
    with running(
        c, NEXTJS_TAG, env, network=network, user=APP_USER, read_only=True, tmpfs=TMPFS, **extra
    ) as container:
        yield container


@pytest.fixture(scope="module")
def stack(docker_client: docker.DockerClient, nextjs_image: str) -> Iterator[Stack]:
    c = docker_client
    prisma = NEXTJS_CONTEXT / "prisma"
    with (
        services.network(c) as net,
        services.postgres(c, network=net) as pg,
        services.redis(c, network=net) as redis,
    ):
        code, _, _ = migrate.execute("deploy", pg.url, prisma / "migrations")
        assert code == 0
        code, summary, _ = seed.execute(pg.url, prisma / "seed.json", SEED_PASSWORDS)
        assert (code, summary["outcome"]) == (0, "seeded")
        env = app_env(pg, redis, version="2.3.4-test", auth_secret=AUTH_SECRET)
        with (
            cache_volume(c) as volume,
            app_container(
                c,
                env,
                network=net,
                ports={"3000/tcp": services.ANY_LOOPBACK_PORT},
                volumes={volume: {"bind": CACHE_PATH, "mode": "rw"}},
                healthcheck=program_healthcheck(),
            ) as app,
        ):
            services.wait_healthy(app, timeout=90)
            base = f"http://127.0.0.1:{published_port(app)}"
            yield Stack(app, pg, redis, net, base, env)


def health(stack: Stack) -> Answer:
    return get(stack.base_url + "/api/health")


def no_internals(answer: Answer, stack: Stack) -> None:
    assert_no_internals(answer, stack.pg.password, stack.redis.password, AUTH_SECRET)


def test_health_is_200_with_the_seeded_users(stack: Stack) -> None:
    answer = health(stack)
    body = answer.json()
    assert answer.status == 200, answer.text
    assert set(body) == HEALTH_KEYS
    assert (body["status"], body["database"], body["redis"]) == (
        "healthy",
        "connected",
        "connected",
    )
    assert body["users"] == len(SEED_PASSWORDS)
    assert (body["version"], body["environment"]) == ("2.3.4-test", "test")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(body["timestamp"]))
    no_internals(answer, stack)


def test_seeded_passwords_are_bcrypt_hashes(stack: Stack) -> None:
    with psycopg.connect(stack.pg.url) as conn:
        rows = conn.execute('SELECT email, role::text, password FROM "users"').fetchall()
    assert {role for _, role, _ in rows} == {"ADMIN", "ADVISOR", "CLIENT"}
    assert all(str(hashed).startswith("$2b$10$") for _, _, hashed in rows)


def test_page_lists_clients_written_through_the_database(stack: Stack) -> None:
    token = uuid.uuid4().hex[:8]
    with psycopg.connect(stack.pg.url) as conn:
        advisor = conn.execute("SELECT id FROM users WHERE role = 'ADVISOR'").fetchone()
        assert advisor is not None
        conn.execute(
            'INSERT INTO clients (id, "firstName", "lastName", phone, status, "advisorId", '
            '"updatedAt") VALUES (%s, %s, %s, %s, %s, %s, now())',
            (f"c-{token}", "Lucía", f"Ramírez-{token}", "+52 55 0000 0003", "ACTIVE", advisor[0]),
        )
        conn.execute(
            'INSERT INTO loans (id, "loanNumber", "clientId", "principalAmount", '
            '"interestRate", "termMonths", status, "startDate", "updatedAt") '
            "VALUES (%s, %s, %s, 15000.5, 0.185, 12, 'ACTIVE', now(), now())",
            (f"l-{token}", f"L-{token}", f"c-{token}"),
        )
    page = get(stack.base_url + "/")
    assert page.status == 200, page.text[:500]
    assert f"Ramírez-{token}" in page.text
    assert "Asesor" in page.text and "Demo" in page.text  # the seeded advisor, by relation
    assert f"L-{token} ACTIVE 15000.50" in page.text  # enum and decimal through the adapter


def test_public_and_static_assets_are_served(stack: Stack) -> None:
    robots = get(stack.base_url + "/robots.txt")
    assert robots.status == 200 and "Disallow: /" in robots.text
    page = get(stack.base_url + "/").text
    assets = re.findall(r'src="(/_next/static/[^"]+\.js)"', page)
    assert assets, page[:500]
    assert get(stack.base_url + assets[0]).status == 200


def test_program_healthcheck_turns_the_container_healthy(stack: Stack) -> None:
    stack.app.reload()
    health_state = stack.app.attrs["State"]["Health"]
    assert health_state["Status"] == "healthy"
    assert health_state["Log"][-1]["ExitCode"] == 0


def test_image_metadata_fits_the_deployment(docker_client: docker.DockerClient) -> None:
    config = docker_client.images.get(NEXTJS_TAG).attrs["Config"]
    assert config["User"] == APP_USER
    assert config["Cmd"] == ["node", "server.js"]
    assert config["ExposedPorts"] == {"3000/tcp": {}}
    assert config["Healthcheck"]["Test"][:3] == ["CMD", "node", "-e"]
    assert not re.search(r"\b(curl|wget)\b", " ".join(config["Healthcheck"]["Test"]))


def test_runs_as_uid_1001_on_a_read_only_root(stack: Stack) -> None:
    _, status = run_in(stack.app, ["cat", "/proc/1/status"])
    uid = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid.split()[1:] == ["1001"] * 4
    code, output = run_in(stack.app, ["sh", "-c", "touch /app/server.js /app/new 2>&1"])
    assert code != 0 and "Read-only file system" in output, output
    code, output = run_in(
        stack.app,
        [
            "sh",
            "-c",
            f"echo ok > /tmp/probe && echo ok > {CACHE_PATH}/probe && stat -c %u {CACHE_PATH}",
        ],
    )
    assert (code, output.strip()) == (0, "1001"), output
    stack.app.reload()
    assert stack.app.attrs["HostConfig"]["ReadonlyRootfs"] is True


def dev_only_packages() -> set[str]:
    """Packages only the dev tree needs (the Prisma CLI, TypeScript, @types/*...): npm marks
    them dev, or devOptional when a production package names them as an optional peer."""
    lock = json.loads((NEXTJS_CONTEXT / "package-lock.json").read_text())
    return {
        path.rsplit("node_modules/", 1)[1]
        for path, meta in lock["packages"].items()
        if path and (meta.get("dev") or meta.get("devOptional"))
    }


def test_only_the_runtime_is_in_the_image(stack: Stack) -> None:
    """No start.sh, app sources, Prisma CLI or engine binary, compiler or dev dependency."""
    code, output = run_in(
        stack.app,
        [
            "sh",
            "-c",
            "cd /app && ls -A && find node_modules -mindepth 1 -maxdepth 2 -type d | "
            "sed 's/^/PKG /' && find . \\( -name 'start.sh' -o -name 'schema-engine*' "
            "-o -name 'libquery_engine*' -o -name 'query-engine*' -o -name '*.node' \\) "
            "-print | sed 's/^/FOUND /'",
        ],
    )
    assert code == 0, output
    assert "FOUND" not in output, output
    installed = {
        line.split(" ", 1)[1].removeprefix("node_modules/")
        for line in output.splitlines()
        if line.startswith("PKG ")
    }
    top = {line for line in output.splitlines() if not line.startswith(("PKG ", "FOUND "))}
    assert top == {"server.js", "node_modules", "public", ".next", "package.json"}, top
    # What the server loads from node_modules; the rest (@prisma/adapter-pg...) is bundled.
    assert {"next", "react", "@prisma/client", "pg", "ioredis"} <= installed
    dev = dev_only_packages()
    assert dev and not dev & installed, dev & installed
    assert not {"sharp", "@img", "@next/swc-linux-x64-gnu"} & installed


def test_hung_postgres_answers_503_within_bound(stack: Stack) -> None:
    stack.pg.container.pause()
    try:
        answer = health(stack)
        assert answer.status == 503, answer.text
        assert answer.seconds < BOUND_S, f"took {answer.seconds:.1f}s"
        body = answer.json()
        assert (body["status"], body["database"], body["users"]) == (
            "unhealthy",
            "disconnected",
            None,
        )
        assert body["redis"] == "connected"
        no_internals(answer, stack)
    finally:
        stack.pg.container.unpause()
    assert wait_for_status(stack.base_url + "/api/health", 200).status == 200


def test_stopped_redis_answers_503_then_recovers(stack: Stack) -> None:
    stack.redis.container.stop(timeout=5)
    try:
        answer = health(stack)
        assert answer.status == 503, answer.text
        assert answer.seconds < BOUND_S, f"took {answer.seconds:.1f}s"
        assert (answer.json()["database"], answer.json()["redis"]) == ("connected", "disconnected")
        no_internals(answer, stack)
    finally:
        stack.redis.container.start()
    recovered = wait_for_status(stack.base_url + "/api/health", 200)
    assert recovered.status == 200, recovered.text


def auth(key: str) -> str:
    """Basic credentials of a seeded user: admin (ADMIN), advisor (ADVISOR), client (CLIENT)."""
    return basic_auth(SEED_EMAILS[key], SEED_PASSWORDS[key])


def clients_url(stack: Stack) -> str:
    return stack.base_url + "/api/clients"


def test_clients_need_an_active_admin_or_advisor(stack: Stack) -> None:
    url = clients_url(stack)
    status, headers, body = request_json("GET", url)
    assert (status, headers["www-authenticate"]) == (401, CHALLENGE), body
    assert body == {"error": "authentication required"}
    inactive = f"inactivo-{uuid.uuid4().hex[:8]}@escalafin.com"
    hashed = bcrypt.hashpw(b"inactive-password", bcrypt.gensalt(rounds=4)).decode()
    with psycopg.connect(stack.pg.url) as conn:
        conn.execute(
            'INSERT INTO users (id, email, "firstName", "lastName", password, role, status, '
            "\"updatedAt\") VALUES (%s, %s, 'In', 'Activo', %s, 'ADMIN', 'INACTIVE', now())",
            (f"u-{inactive}", inactive, hashed),
        )
    for bad in (
        basic_auth(SEED_EMAILS["admin"], "not-the-password"),
        basic_auth("nadie@escalafin.com", "not-the-password"),
        basic_auth(inactive, "inactive-password"),
        "Basic !!not-base64!!",
        "Bearer " + SEED_PASSWORDS["admin"],
    ):
        assert request_json("GET", url, auth=bad)[0] == 401, bad
    status, _, body = request_json("GET", url, auth=auth("client"))  # a CLIENT user
    assert (status, body) == (403, {"error": "forbidden"})
    assert request_json("DELETE", url, auth=auth("admin"))[0] == 405


def test_post_stores_the_client_and_the_list_shows_it_first(stack: Stack) -> None:
    url = clients_url(stack)
    token = uuid.uuid4().hex[:8]
    new = {"firstName": "Ana", "lastName": f"Ruiz-{token}", "phone": "+52 55 1234"}
    status, _, created = request_json(
        "POST", url, auth=auth("advisor"), body={**new, "email": f"ana-{token}@example.com"}
    )
    assert status == 201, created
    client = created["client"]
    assert set(client) == CLIENT_FIELDS and client["status"] == "PROSPECT", client
    with psycopg.connect(stack.pg.url) as conn:
        row = conn.execute(
            'SELECT c."lastName", u.email FROM clients c JOIN users u ON u.id = c."advisorId" '
            "WHERE c.id = %s",
            (client["id"],),
        ).fetchone()
    assert row == (f"Ruiz-{token}", SEED_EMAILS["advisor"])  # an advisor's new client is theirs
    status, headers, listed = request_json("GET", url, auth=auth("admin"))
    assert (status, headers["cache-control"]) == (200, "no-store")
    assert listed["clients"][0] == client  # newest first
    status, _, error = request_json("POST", url, auth=auth("admin"), body={**new, "firstName": ""})
    assert (status, error) == (422, {"error": "firstName is required (a non-empty string)"})
    duplicate = {**new, "email": f"ana-{token}@example.com"}
    assert request_json("POST", url, auth=auth("admin"), body=duplicate)[0] == 409


def test_logs_hold_no_secret(stack: Stack) -> None:
    text = logs(stack.app)
    for secret in (AUTH_SECRET, stack.pg.password, stack.redis.password, *SEED_PASSWORDS.values()):
        assert secret not in text


# Prints "refused" once nothing listens on the app's port inside the container.
REFUSED_PROBE = [
    "node",
    "-e",
    "require('net').connect(3000, '127.0.0.1')"
    ".on('connect', () => { console.log('connected'); process.exit(0); })"
    ".on('error', (e) => console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code))",
]


def test_sigterm_drains_an_in_flight_request_then_exits(
    docker_client: docker.DockerClient, stack: Stack
) -> None:
    """SIGTERM while a create's body is still arriving: the standalone server stops listening,
    answers the request (201, row stored), then exits by itself (next/dist/server/lib/
    start-server.js: `server.close()` waits for open requests, then exit 128 + SIGTERM) within
    the stop timeout the program gives the app before the engine kills it."""
    published = {"3000/tcp": services.ANY_LOOPBACK_PORT}
    with app_container(docker_client, stack.env, network=stack.network, ports=published) as app:
        port = published_port(app)
        assert wait_for_status(f"http://127.0.0.1:{port}/api/health", 200).status == 200
        token = uuid.uuid4().hex[:8]
        started = time.monotonic()
        status, answer = post_across_sigterm(
            app,
            port,
            "/api/clients",
            auth=auth("admin"),
            body={"firstName": "En", "lastName": f"Vuelo-{token}", "phone": "+52 1"},
            refused_probe=REFUSED_PROBE,
        )
        assert status == 201, answer
        exit_code = app.wait(timeout=STOP_TIMEOUT_S)["StatusCode"]
        stopped_in = time.monotonic() - started
        assert exit_code == 143, logs(app)  # Next.js's own exit, not the engine's SIGKILL (137)
        app.reload()
        assert not app.attrs["State"]["OOMKilled"]
    with psycopg.connect(stack.pg.url) as conn:
        row = conn.execute(
            'SELECT "lastName" FROM "clients" WHERE "id" = %s', (answer["client"]["id"],)
        ).fetchone()
    assert row == (f"Vuelo-{token}",)
    print(f"in-flight request answered, exited {stopped_in:.1f}s after SIGTERM")


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL"])
def test_missing_required_env_exits_naming_it(
    docker_client: docker.DockerClient, nextjs_image: str, missing: str
) -> None:
    env = {"DATABASE_URL": "postgresql://u:secret-pw@db:5432/app", "REDIS_URL": "redis://r:6379"}
    del env[missing]
    with app_container(docker_client, env) as app:
        exit_code = app.wait(timeout=60)["StatusCode"]
        output = logs(app)
    assert exit_code == 1, output
    assert f"{missing} is required" in output
    assert "secret-pw" not in output
