"""The ingress against a real Caddy: the rendered Caddyfiles, and the route switch's I/O.

One Caddy container (the bootstrap Caddyfile uploaded before start, as the
docker provider's `uploads` does) and small upstreams that answer with their
own name, on one network; Caddy's HTTP port is published on 127.0.0.1.
"""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import pytest

from ingress import caddyfile, route
from tests.support import docker_env, images, services

pytestmark = pytest.mark.images

UPSTREAM = (
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = os.environ['NAME'].encode()\n"
    "        self.send_response(200)\n"
    "        self.send_header('content-length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "http.server.ThreadingHTTPServer(('0.0.0.0', 3000), H).serve_forever()\n"
)
PROBE = ["CMD", "python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:3000/')"]


@dataclass(frozen=True)
class Lab:
    client: docker.DockerClient
    network: str
    caddy: Any
    port: int

    def upstream(self, healthy: bool = True) -> str:
        name = f"escalafin-test-up-{secrets.token_hex(4)}"
        self.client.containers.run(
            images.PYTHON,
            ["python", "-c", UPSTREAM],
            name=name,
            detach=True,
            environment={"NAME": name},
            network=self.network,
            labels={docker_env.LABEL: "1"},
            healthcheck={
                "test": PROBE if healthy else ["CMD", "false"],
                "interval": 1_000_000_000,
                "timeout": 2_000_000_000,
                "retries": 1,
            },
        )
        return name

    def target(self, upstreams: list[str], text: str | None = None) -> route.Target:
        site = caddyfile.Site(
            host="localhost",
            tls=False,
            upstreams=tuple(f"{n}:3000" for n in upstreams),
            max_body_mb=1,
            grace_period_s=5,
        )
        return route.Target(
            docker_host=None,
            ingress_container=str(self.caddy.id),
            upstream_containers=tuple(upstreams),
            caddyfile=text or caddyfile.render(site),
            acme_ca_root=None,
            health_timeout_s=60,
        )

    def get(self, path: str = "/", data: bytes | None = None) -> tuple[int, dict[str, str], str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()


@pytest.fixture(scope="module")
def lab(docker_client: docker.DockerClient) -> Iterator[Lab]:
    docker_env.require_image(docker_client, images.CADDY)
    docker_env.require_image(docker_client, images.PYTHON)
    loopback_any_port: dict[str, Any] = {"80/tcp": ("127.0.0.1", None)}  # None: any free port
    with services.network(docker_client) as net:
        caddy = docker_client.containers.create(
            images.CADDY,
            name=f"escalafin-test-caddy-{secrets.token_hex(4)}",
            network=net,
            ports=loopback_any_port,
            labels={docker_env.LABEL: "1"},
        )
        caddy.put_archive("/etc/caddy", route.config_archive(caddyfile.bootstrap(), None))
        caddy.start()
        try:
            deadline = time.monotonic() + 30
            while True:
                caddy.reload()
                bindings = caddy.attrs["NetworkSettings"]["Ports"].get("80/tcp")
                if bindings or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            lab = Lab(docker_client, net, caddy, int(bindings[0]["HostPort"]))
            yield lab
        finally:
            flt: dict[str, str | list[str] | bool] = {"label": docker_env.LABEL, "network": net}
            for c in docker_client.containers.list(all=True, filters=flt):
                c.remove(force=True)


def logs(lab: Lab) -> list[str]:
    return lab.caddy.logs(stdout=True, stderr=True).decode(errors="replace").splitlines()


def access_lines(lab: Lab, timeout: float = 10) -> list[str]:
    """Caddy's JSON access log lines; Caddy writes a request's line after the response has
    gone, so the client can read its answer before the line exists: wait for it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in logs(lab) if '"logger":"http.log.access' in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def wait_status(lab: Lab, status: int, timeout: float = 20) -> tuple[int, dict[str, str], str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = lab.get()
        except OSError:
            answer = (0, {}, "")
        if answer[0] == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)


def test_bootstrap_serves_503_until_a_route_exists(lab: Lab) -> None:
    if route.read_config(None, str(lab.caddy.id)) == caddyfile.bootstrap():
        assert wait_status(lab, 503)[0] == 503


def test_route_switches_only_to_healthy_upstreams(lab: Lab) -> None:
    first = lab.upstream()
    route.switch(lab.target([first]))
    status, headers, body = lab.get()
    assert (status, body) == (200, first)
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert "Server" not in headers and "Strict-Transport-Security" not in headers
    access = access_lines(lab)
    assert access and '"status":200' in access[-1]  # one JSON access log line per request

    broken = lab.upstream(healthy=False)
    with pytest.raises(route.RouteError, match=f"{broken} is unhealthy"):
        route.switch(lab.target([broken]))
    assert lab.get()[2] == first  # traffic never left

    second = lab.upstream()
    route.switch(lab.target([first, second]))
    served = {lab.get()[2] for _ in range(6)}
    assert served == {first, second}  # round robin over both replicas


def test_refused_configuration_keeps_the_previous_one(lab: Lab) -> None:
    upstream = lab.upstream()
    route.switch(lab.target([upstream]))
    before = route.read_config(None, str(lab.caddy.id))
    with pytest.raises(route.RouteError, match="caddy reload refused"):
        route.switch(lab.target([upstream], text="localhost {\n\treverse_proxy {{\n"))
    assert route.read_config(None, str(lab.caddy.id)) == before  # a restart would still work
    assert lab.get()[2] == upstream


def test_missing_upstream_is_refused(lab: Lab) -> None:
    with pytest.raises(route.RouteError, match="does not exist"):
        route.switch(lab.target(["escalafin-test-no-such-container"]))


def test_body_limit_answers_413_before_the_app(lab: Lab) -> None:
    upstream = lab.upstream()
    route.switch(lab.target([upstream]))
    status, _, body = lab.get("/", data=b"x" * (1024 * 1024 + 1))
    assert status == 413 and "too large" in body


@pytest.mark.parametrize("tls", [False, True])
def test_rendered_caddyfile_is_valid_for_caddy(lab: Lab, tls: bool) -> None:
    site = caddyfile.Site(
        host="app.escalafin.example.com",
        tls=tls,
        upstreams=("app-1a2b3c4:3000", "app-2-5d6e7f8:3000"),
        max_body_mb=20,
        grace_period_s=30,
        acme_email="ops@escalafin.example.com" if tls else None,
        acme_ca="https://acme.example.com/dir" if tls else None,
    )
    # config_archive names the file Caddyfile: it lands in /tmp of the Caddy container.
    lab.caddy.put_archive("/tmp", route.config_archive(caddyfile.render(site), None))  # noqa: S108
    code, output = lab.caddy.exec_run(
        ["caddy", "adapt", "--config", "/tmp/Caddyfile", "--adapter", "caddyfile", "--validate"]  # noqa: S108
    )
    assert code == 0, output.decode(errors="replace")
