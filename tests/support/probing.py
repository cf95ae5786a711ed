"""Running an app container in a test and looking at it: its environment and cache volume,
HTTP answers, exec and logs.

Shared by the app image tests (Python reference and Next.js example), which probe the same
health contract through a port published on 127.0.0.1.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError
from docker.models.containers import Container

from tests.support.docker_env import LABEL
from tests.support.services import Postgres, Redis


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    seconds: float

    def json(self) -> dict[str, object]:
        return json.loads(self.text)


def get(url: str) -> Answer:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    return Answer(status, text, time.monotonic() - started)


def wait_for_status(url: str, status: int, timeout: float = 60) -> Answer:
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = get(url)
            if answer.status == status or time.monotonic() > deadline:
                return answer
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def basic_auth(user: str, password: str) -> str:
    """The Authorization header value for HTTP Basic credentials."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request_json(
    method: str, url: str, *, auth: str | None = None, body: object = None
) -> tuple[int, dict[str, str], Any]:
    """One JSON request, with an Authorization header when given: (status, lower-case headers,
    JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback
    if auth is not None:
        request.add_header("Authorization", auth)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, headers, text = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, text = error.code, error.headers, error.read()
    return status, {k.lower(): v for k, v in headers.items()}, json.loads(text or b"null")


def post_across_sigterm(
    app: Container, port: int, path: str, *, auth: str, body: object, refused_probe: list[str]
) -> tuple[int, Any]:
    """A POST still in flight when the app gets SIGTERM: (status, JSON body) of its answer.

    The request head goes first with `Expect: 100-continue`; the server's `100 Continue` says
    it is handling the request. Then SIGTERM, then wait until `refused_probe` (run inside the
    container) prints `refused`, i.e. the server has closed its listener, and only then the
    body: a server that drains answers; one that exits at once resets the connection. The
    caller waits for the container's exit."""
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        "Expect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode())
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            chunk = conn.recv(1)
            assert chunk, f"closed before 100 Continue: {interim!r}"
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100"), interim
        app.kill(signal="SIGTERM")
        deadline = time.monotonic() + 10
        while _listening(app, refused_probe):
            assert time.monotonic() < deadline, "the server kept accepting connections"
            time.sleep(0.2)
        conn.sendall(data)
        response = http.client.HTTPResponse(conn)
        response.begin()
        return response.status, json.loads(response.read() or b"null")


def _listening(app: Container, refused_probe: list[str]) -> bool:
    try:
        return run_in(app, refused_probe)[1].strip() != "refused"
    except APIError:  # not running any more: it did not wait for the request
        app.reload()
        code = app.attrs["State"]["ExitCode"]
        raise AssertionError(f"the app exited ({code}) with a request in flight") from None


def run_in(container: Container, argv: list[str]) -> tuple[int, str]:
    result = container.exec_run(argv)
    output = result.output if isinstance(result.output, bytes) else b"".join(result.output)
    return result.exit_code or 0, output.decode()


def logs(container: Container) -> str:
    return container.logs(stdout=True, stderr=True).decode(errors="replace")


def published_port(container: Container, port: str = "3000/tcp") -> int:
    container.reload()
    return int(container.attrs["NetworkSettings"]["Ports"][port][0]["HostPort"])


def app_env(pg: Postgres, redis: Redis, *, version: str, auth_secret: str) -> dict[str, str]:
    """The app's environment as the program hands it over, for containers on one network with
    the aliases postgres and redis. DATABASE_URL keeps Prisma-only parameters: the app must
    cope with them."""
    return {
        "DATABASE_URL": pg.url_in_network("postgres") + "?schema=public&connection_limit=5",
        "REDIS_URL": redis.url_in_network("redis"),
        "APP_VERSION": version,
        "APP_ENV": "test",
        "NEXTAUTH_URL": "http://localhost:3000",
        "NEXTAUTH_SECRET": auth_secret,
    }


@contextmanager
def cache_volume(c: docker.DockerClient) -> Iterator[str]:
    """A fresh named volume for the app's cache path, removed afterwards."""
    volume = c.volumes.create(f"escalafin-test-cache-{uuid.uuid4().hex[:8]}", labels={LABEL: "1"})
    try:
        yield str(volume.name)
    finally:
        volume.remove(force=True)


@contextmanager
def running(
    c: docker.DockerClient, image: str, env: dict[str, str], **options: Any
) -> Iterator[Container]:
    """A detached, test-labelled container of `image` (docker-py run options), removed after."""
    container = c.containers.run(
        image,
        name=f"escalafin-test-app-{uuid.uuid4().hex[:8]}",
        detach=True,
        labels={LABEL: "1"},
        environment=env,
        **options,
    )
    try:
        yield container
    finally:
        container.remove(force=True)


def stop_once_ready(container: Container, ready: str, timeout: float = 60) -> float:
    """Wait until `ready` shows in the logs, then `docker stop` (SIGTERM, 20 s grace): the
    seconds the stop took. The container is reloaded, so its exit state can be read."""
    deadline = time.monotonic() + timeout
    while ready not in logs(container):
        assert time.monotonic() < deadline, logs(container)
        time.sleep(0.3)
    started = time.monotonic()
    container.stop(timeout=20)
    stopped_in = time.monotonic() - started
    container.reload()
    return stopped_in


# The health contract's fields (the seed's six, plus redis).
HEALTH_KEYS = {"status", "timestamp", "database", "redis", "users", "version", "environment"}


def assert_no_internals(answer: Answer, *secrets: str) -> None:
    """The health body holds the contract's fields only: no secret, host, port, path or error."""
    assert set(answer.json()) == HEALTH_KEYS
    for leak in (
        *secrets,
        "postgres",
        "5432",
        "6379",
        "escalafin-test",
        "Traceback",
        "Error",
        "/app/",
        "@",
    ):
        assert leak not in answer.text, f"health body leaks {leak!r}: {answer.text}"
