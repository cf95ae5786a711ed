"""Observations on a realised stack: HTTP health, row counts, Redis keys, routes out.

Each helper looks at the real thing (the published port, psql/redis-cli inside
the containers, a probe in a container's own network namespace) so the e2e
tests assert on behaviour, not on the harness's bookkeeping.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

import docker

from tests.support import images
from tests.support.docker_env import LABEL

# TEST-NET-1 (RFC 5737): never routed anywhere; from an internal network connect() must fail.
UNROUTABLE = ("192.0.2.1", 9)
ROUTE_PROBE = (
    "import socket\n"
    "s = socket.socket()\n"
    "s.settimeout(1)\n"
    "try:\n"
    f"    s.connect({UNROUTABLE!r})\n"
    "except OSError as exc:\n"
    "    print(type(exc).__name__, exc)\n"
    "else:\n"
    "    print('connected')\n"
)


def health(port: int) -> tuple[int, dict[str, Any]]:
    """GET /api/health on the published loopback port: (status, JSON body)."""
    url = f"http://127.0.0.1:{port}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def http_get(port: int, path: str, *, host: str | None = None) -> tuple[int, dict[str, str]]:
    """One GET on the loopback port, redirects not followed: (status, lower-case headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}  # pyright: ignore[reportUnknownVariableType]


def psql(container: Any, sql: str, user: str = "escalafin", db: str = "escalafin") -> str:
    """Run one SQL statement with psql inside the PostgreSQL container (local socket)."""
    code, out = container.exec_run(["psql", "-U", user, "-d", db, "-tAc", sql])
    text = out.decode(errors="replace").strip()
    assert code == 0, f"psql failed ({code}): {text}"
    return text


def redis(container: Any, *args: str) -> str:
    """redis-cli inside the Redis container (REDISCLI_AUTH is in its environment)."""
    code, out = container.exec_run(["redis-cli", *args])
    text = out.decode(errors="replace").strip()
    assert code == 0, f"redis-cli {args[0]} failed ({code}): {text}"
    return text


def run_in(container: Any, cmd: list[str]) -> tuple[int, str, str]:
    """docker exec: (exit code, stdout, stderr) kept apart, so JSON on stdout parses."""
    code, (out, err) = container.exec_run(cmd, demux=True)
    return int(code), (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace")


def route_out(client: docker.DockerClient, container: Any) -> str:
    """Try to connect out from `container`'s network namespace; returns what happened."""
    output = client.containers.run(
        images.PYTHON,
        ["python", "-c", ROUTE_PROBE],
        network_mode=f"container:{container.id}",
        labels={LABEL: "1"},
        remove=True,
    )
    return output.decode(errors="replace").strip()


def published(container: Any) -> dict[str, list[tuple[str, str]]]:
    """Container port → [(host ip, host port)] actually bound by the engine."""
    container.reload()
    ports: dict[str, Any] = container.attrs["NetworkSettings"]["Ports"] or {}
    return {
        port: [(b["HostIp"], b["HostPort"]) for b in bindings]
        for port, bindings in ports.items()
        if bindings
    }


def all_healthy(containers: list[Any]) -> dict[str, str]:
    """Container name → health status, for the ones that are not healthy."""
    bad: dict[str, str] = {}
    for c in containers:
        c.reload()
        status = (c.attrs["State"].get("Health") or {}).get("Status", "none")
        if status != "healthy":
            bad[c.name] = status
    return bad
