"""Deploys under load, and HTTPS from an ACME CA, on a realised stack (e2e scenarios).

Each `up` runs while `load.Load` sends ~50 requests/s of mixed GET/POST
/api/clients through the ingress, from a moment before the `up` starts to a
moment after it ends. The verdict is the client's: zero failed requests, and
every POST that was answered 201 has its row in PostgreSQL afterwards.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import socket
import ssl
import tarfile
import time
from pathlib import Path
from typing import Any

from lifecycle.image_history import build_tag
from tests.e2e import checks, scenarios
from tests.e2e.conftest import Deployment, free_port
from tests.e2e.harness import SESSION_LABEL, DeploymentError, UpResult
from tests.e2e.load import Load, Report
from tests.support import images
from tests.support.docker_env import LABEL
from tests.support.program import PROJECT_DIR

ADMIN = "admin@escalafin.com"  # app/prisma/seed.json, examples/nextjs-app/prisma/seed.json
WARMUP_S = 3.0  # traffic flows before the deploy starts ...
COOLDOWN_S = 3.0  # ... and after it ends (the old containers are gone by then)
ACME_HOST = "escalafin.test"


# What the scenarios below change and must not leak into the next one.
SCENARIO_KEYS = (
    "appContext",
    "appImage",
    "appPublicUrl",
    "ingressAcmeCa",
    "ingressAcmeCaRoot",
    "ingressAcmeEmail",
)


def ensure_up(d: Deployment) -> None:
    """The stack as its module deployed it (its app, plain HTTP), realised and healthy."""
    if d.reset(*SCENARIO_KEYS) or not d.harness.state:
        d.up()
    status, body = scenarios.wait_health(d.app_port)
    assert status == 200, body


def admin_password(d: Deployment) -> str:
    return str(d.harness.outputs("RandomPassword/seedAdminPassword")["result"])


def up_under_load(d: Deployment) -> tuple[Report, UpResult | None, Exception | None]:
    """`up` while the load runs; (report, result or None, the up's failure or None)."""
    with Load(d.app_port, ADMIN, admin_password(d)) as load:
        time.sleep(WARMUP_S)
        try:
            result, error = d.up(), None
        except DeploymentError as failed:  # the up failed: what did clients see?
            result, error = None, failed
        time.sleep(COOLDOWN_S)
    return load.report, result, error


def assert_nothing_lost(d: Deployment, report: Report) -> None:
    assert report.failed == 0, report.summary()
    assert report.sent >= 50 and report.acknowledged, report.summary()
    ids = ",".join(report.acknowledged)
    stored = checks.psql(
        d.container("postgres"), f"""SELECT count(*) FROM clients WHERE id = ANY('{{{ids}}}')"""
    )
    assert int(stored) == len(report.acknowledged), f"{stored} of {len(report.acknowledged)} stored"


def app_names(d: Deployment) -> list[str]:
    return list(d.harness.outputs("IngressRoute/route")["upstream_containers"])


def served_version(d: Deployment) -> str:
    return str(checks.health(d.app_port)[1]["version"])


def running_app_containers(d: Deployment) -> set[str]:
    flt: dict[str, Any] = {
        "label": [f"{SESSION_LABEL}={d.harness.session}", "escalafin.component=app"]
    }
    return {str(c.name) for c in d.harness.client.containers.list(filters=flt)}


# ------------------------------------------------------------------ scenarios


def redeploy(d: Deployment, version: str) -> tuple[Report, UpResult]:
    """A new app version (its environment changes): replaced beside the old, then switched."""
    report, result = replace_under_load(d, appVersion=version)
    assert served_version(d) == version
    return report, result


def replace_under_load(d: Deployment, **change: str | None) -> tuple[Report, UpResult]:
    """A config `change` that replaces the app containers (a new version, a new source):
    the new ones start beside the old, the route switches, the old ones go; no request fails."""
    ensure_up(d)
    before = app_names(d)
    d.configure(**change)
    report, result, error = up_under_load(d)
    assert error is None and result is not None, error
    assert_nothing_lost(d, report)
    after = app_names(d)
    assert set(after).isdisjoint(before), (before, after)
    assert "IngressRoute/route" in result.updated, result
    replaced = [f"Container/{n}" for n in replica_resources(d)]
    assert set(replaced) <= set(result.deleted), result  # deleted last, after the switch
    assert running_app_containers(d) == set(after)  # the old ones are stopped and removed
    return report, result


def replica_resources(d: Deployment) -> list[str]:
    count = int(d.overrides.get("escalafin:appReplicas") or 1)
    return ["app", *(f"app-{i}" for i in range(2, count + 1))]


def replicas_share_the_load(d: Deployment) -> None:
    """Both replicas answered part of the traffic (each logs one line per request)."""
    counts = {}
    for name in replica_resources(d):
        logs = d.container(name).logs(since=int(time.time()) - 60).decode(errors="replace")
        counts[name] = logs.count("/api/clients")
    assert all(counts.values()), counts


def broken_version_never_gets_traffic(d: Deployment, tmp: Path) -> Report:
    """An image whose every answer is 500: `up` fails, the route never leaves the old."""
    ensure_up(d)
    before = app_names(d)
    version = served_version(d)
    copy = tmp / "app-broken"
    shutil.copytree(PROJECT_DIR / "app", copy)
    asgi = copy / "escalafin_app" / "asgi.py"
    asgi.write_text(
        asgi.read_text().replace(
            '        method, path = scope["method"], scope["path"]\n',
            '        raise RuntimeError("this version is broken")\n',
            1,
        )
    )
    d.configure(appContext=str(copy))
    report, _result, error = up_under_load(d)
    # The new replica's gate fails the up, naming it; the route is never updated.
    assert error is not None and re.search(
        r"HealthGate/app-health: .*container app-[0-9a-f]{7} "
        r"is unhealthy",
        str(error),
    ), error
    assert_nothing_lost(d, report)
    assert app_names(d) == before  # the route was never switched
    assert served_version(d) == version
    # Run again unchanged: the container is in state as created, so the engine has nothing
    # to do for it; its gate looks at the live container, sees it unhealthy, gives it time
    # to recover and fails the up again. Traffic still never leaves the old containers.
    again, _result, error = up_under_load(d)
    assert error is not None and re.search("is (still )?unhealthy", str(error)), error
    assert_nothing_lost(d, again)
    assert app_names(d) == before
    return report


def fixed_version_after_a_failed_up(d: Deployment) -> Report:
    """The next `up` with a good image succeeds; the broken and the old containers go."""
    d.configure(appContext=None)
    report, result, error = up_under_load(d)
    assert error is None and result is not None, error
    assert_nothing_lost(d, report)
    assert running_app_containers(d) == set(app_names(d))
    assert len(result.deleted) >= 2, result  # the broken one and the one it was to replace
    return report


def rollback_to_the_previous_image(d: Deployment, tmp: Path) -> Report:
    """Deploy a new image, then pin the previous imageDigest (appImage): served again."""
    ensure_up(d)
    previous = str(d.harness.outputs("Image/app")["repoDigest"])
    copy = tmp / "app-next"
    shutil.copytree(PROJECT_DIR / "app", copy)
    with (copy / "escalafin_app" / "__init__.py").open("a") as f:
        f.write("\n# the next release\n")
    d.configure(appContext=str(copy))
    result = d.up()
    assert "Image/app" in result.updated and "Container/app" in result.replaced, result
    assert d.container("app").attrs["Image"] != previous
    d.configure(appImage=previous, appContext=None)
    report, result, error = up_under_load(d)
    assert error is None and result is not None, error
    assert_nothing_lost(d, report)
    assert d.container("app").attrs["Image"] == previous
    assert "Image/app" in result.deleted  # no longer built while pinned
    kept = d.harness.outputs("ImageHistory/app-builds")["kept"]
    assert kept[0] == build_tag(f"{d.prefix}-app", previous), kept  # the latest deployed
    d.configure(appImage=None)  # back to building from source
    return report


# ------------------------------------------------------------------ HTTPS


def pebble(d: Deployment) -> str:
    """Pebble (ACME test CA) on the stack's public network as `pebble`; returns its CA.

    The returned PEM signs pebble's own HTTPS (the ACME directory), which Caddy
    must trust through ingressAcmeCaRoot. The container carries the session
    label, so the harness removes it with the stack.
    """
    api = d.harness.client.api
    network = f"{d.prefix}-public"
    # docker-py takes {network: EndpointConfig}; its stubs say a single EndpointConfig.
    endpoints: Any = {network: api.create_endpoint_config(aliases=["pebble"])}
    created = api.create_container(
        images.PEBBLE,
        name=f"{d.prefix}-pebble",
        environment={"PEBBLE_VA_ALWAYS_VALID": "1", "PEBBLE_VA_NOSLEEP": "1"},
        labels={LABEL: "1", SESSION_LABEL: d.harness.session},
        host_config=api.create_host_config(network_mode=network),
        networking_config=api.create_networking_config(endpoints),
    )
    api.start(created["Id"])
    stream, _ = api.get_archive(created["Id"], "/test/certs/pebble.minica.pem")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        handle = tar.extractfile(member) if member else None
        return handle.read().decode() if handle else ""


def issuing_root(d: Deployment, minica: str) -> str:
    """The root pebble signs certificates with (its management API, from inside the network)."""
    fetch = (
        "import ssl, sys, urllib.request\n"
        "ctx = ssl.create_default_context(cadata=sys.stdin.read())\n"
        # The lab's stand-in CA has no keyUsage, which Python 3.13's strict mode refuses.
        "ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT\n"
        "answer = urllib.request.urlopen('https://pebble:15000/roots/0', context=ctx)\n"
        "print(answer.read().decode())\n"
    )
    encoded = base64.b64encode(minica.encode()).decode()
    output = d.harness.client.containers.run(
        images.PYTHON,
        ["sh", "-c", f'echo {encoded} | base64 -d | python -c "$0"', fetch],
        network=f"{d.prefix}-public",
        labels={LABEL: "1"},
        remove=True,
    )
    return output.decode()


def tls_get(port: int, root: str, path: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    """GET https://escalafin.test:<port><path> via 127.0.0.1, verifying against `root`."""
    context = ssl.create_default_context(cadata=root)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=ACME_HOST) as tls,
    ):
        tls.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {ACME_HOST}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        serial = str((tls.getpeercert() or {}).get("serialNumber"))
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    headers["x-test-serial"] = serial
    return int(lines[0].split()[1]), headers, checks.json_or_empty(body)


def wait_for_certificate(port: int, root: str, timeout: float = 90) -> tuple[int, dict[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, headers, _ = tls_get(port, root, "/api/health")
            return status, headers
        except (OSError, ssl.SSLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def https_from_the_acme_ca(d: Deployment) -> None:
    """Caddy gets a certificate from pebble, serves HTTPS, redirects HTTP, sends HSTS;
    a replaced Caddy serves the same certificate (ACME state on the retained volume)."""
    ensure_up(d)
    minica = pebble(d)
    https_port = free_port()
    d.configure(
        appPublicUrl=f"https://{ACME_HOST}:{https_port}",
        ingressHttpsPort=str(https_port),
        ingressAcmeCa="https://pebble:14000/dir",
        ingressAcmeCaRoot=minica,
        ingressAcmeEmail=f"ops@{ACME_HOST}",
    )
    result = d.up()
    assert "Container/ingress" in result.replaced and "IngressRoute/route" in result.updated
    root = issuing_root(d, minica)
    status, headers = wait_for_certificate(https_port, root)
    assert status == 200, headers
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert headers["x-content-type-options"] == "nosniff" and "server" not in headers
    redirect = checks.http_get(d.app_port, "/api/health", host=ACME_HOST)
    assert redirect[0] == 308 and redirect[1]["location"] == f"https://{ACME_HOST}/api/health"
    serial = headers["x-test-serial"]

    result = d.up(replace=["ingress"])  # e.g. a new Caddy image
    assert "Container/ingress" in result.replaced and "Volume/ingress-data" in result.unchanged
    status, headers = wait_for_certificate(https_port, root)
    assert status == 200 and headers["x-test-serial"] == serial  # not issued again
