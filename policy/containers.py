"""Checks over one `docker:index/container:Container`'s props.

Each check is a pure function props -> list of violation messages (empty =
compliant), so unit tests call it with hand-written props and with the props
the real program declares. Values not known yet (preview) are not judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from policy.props import LOOPBACK, UNKNOWN, as_int, get, is_secret, items, label, reveal

COMPONENT_LABEL = "escalafin.component"
DATA_PORTS = frozenset({5432, 6379})
DATA_COMPONENTS = frozenset({"postgres", "database", "redis", "cache"})
DATA_IMAGE = re.compile(r"(^|[/:@-])(postgres|postgresql|redis|valkey)([:@/-]|$)", re.IGNORECASE)
APP_COMPONENT = "app"
INGRESS_COMPONENT = "ingress"
ROOT_USERS = frozenset({"", "root", "0"})
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|DSN|CREDENTIAL", re.IGNORECASE)
PUBLIC_NAME = re.compile(r"PUBLIC", re.IGNORECASE)  # OPENPAY_PUBLIC_KEY, NEXT_PUBLIC_*: not secret
URL_WITH_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)
SECRET_FLAG = re.compile(r"^--?(requirepass|masterauth|password|pass|token|secret|a)$")


def missing_healthcheck(props: Any) -> list[str]:
    """Every container has a healthcheck with a test (Docker's "NONE" disables it)."""
    hc = get(props, "healthcheck")
    if hc is UNKNOWN:
        return []
    tests = [reveal(t) for t in items(get(hc, "tests", []))]
    if not tests or tests[0] == "NONE":
        return ['no healthcheck: set `healthcheck.tests` (e.g. ["CMD", ...]) on every container']
    return []


def is_data_service(props: Any) -> bool:
    """PostgreSQL or Redis, told by its label or by an image name like postgres:17/redis:7."""
    if label(props, COMPONENT_LABEL) in DATA_COMPONENTS:
        return True
    image = reveal(get(props, "image", ""))
    return isinstance(image, str) and image is not UNKNOWN and bool(DATA_IMAGE.search(image))


def published_beyond_loopback(props: Any) -> Iterator[tuple[int | None, str]]:
    """(container port, host ip) of each port published beyond loopback (known values only)."""
    for port in items(get(props, "ports", [])):
        if port is UNKNOWN:
            continue
        ip = reveal(get(port, "ip", "0.0.0.0"))  # noqa: S104 - Docker's default when ip is unset
        if ip is UNKNOWN or ip in LOOPBACK:
            continue
        yield as_int(get(port, "internal")), str(ip)


def data_port_beyond_loopback(props: Any) -> list[str]:
    """5432/6379 (or any port of a database/cache container) is published on loopback only."""
    data_service = is_data_service(props)
    return [
        f"port {internal} published on {ip!r}: database/cache ports may only bind "
        f"127.0.0.1 or ::1 (set `ports[].ip`; unset means 0.0.0.0)"
        for internal, ip in published_beyond_loopback(props)
        if data_service or internal in DATA_PORTS
    ]


def port_beyond_loopback_outside_ingress(props: Any) -> list[str]:
    """Only the ingress publishes a port beyond 127.0.0.1/::1; everything else stays local."""
    if label(props, COMPONENT_LABEL) == INGRESS_COMPONENT:
        return []
    return [
        f"port {internal} published on {ip!r}: only the ingress "
        "(label escalafin.component=ingress) may publish beyond 127.0.0.1/::1; "
        "route traffic through it"
        for internal, ip in published_beyond_loopback(props)
    ]


def app_publishes_ports(props: Any) -> list[str]:
    """The app publishes nothing: the ingress reaches it on the Docker network."""
    if not is_app(props):
        return []
    ports = [p for p in items(get(props, "ports", [])) if p is not UNKNOWN]
    if not ports:
        return []
    published = ", ".join(str(as_int(get(p, "internal"))) for p in ports)
    return [
        f"app container publishes port(s) {published}: the app publishes none "
        "(the ingress reaches it by name, and zero-downtime replacement needs no host port)"
    ]


def is_app(props: Any) -> bool:
    return label(props, COMPONENT_LABEL) == APP_COMPONENT


def app_runs_as_root(props: Any) -> list[str]:
    """The app container sets a non-root user (unset = the image's, usually root)."""
    if not is_app(props):
        return []
    user = reveal(get(props, "user", ""))
    if user is UNKNOWN:
        return []
    uid = str(user).split(":", 1)[0].strip()
    if uid in ROOT_USERS:
        shown = repr(user) if user else "unset"
        return [f"app container user is {shown}: run it as a non-root uid such as '1001:1001'"]
    return []


def plaintext_secrets(props: Any) -> list[str]:
    """Secret-looking env entries, command arguments and URLs with credentials are secrets.

    Messages name the variable or flag, never the value.
    """
    found: list[str] = []
    envs = get(props, "envs", [])
    if not is_secret(envs):
        for entry in items(envs):
            if entry is UNKNOWN or is_secret(entry) or not isinstance(entry, str):
                continue
            name, _, value = entry.partition("=")
            if SECRET_NAME.search(name) and not PUBLIC_NAME.search(name) and value:
                found.append(f"env {name} looks secret but is plaintext: pass it as a secret")
            elif URL_WITH_CREDENTIALS.search(value):
                found.append(f"env {name} holds a URL with credentials in plaintext")
    command = get(props, "command", [])
    if not is_secret(command):
        previous = ""
        for arg in items(command):
            if arg is UNKNOWN or is_secret(arg) or not isinstance(arg, str):
                previous = ""
                continue
            if SECRET_FLAG.match(previous):
                found.append(f"command argument after {previous} is plaintext: pass it as a secret")
            elif URL_WITH_CREDENTIALS.search(arg):
                found.append("command argument holds a URL with credentials in plaintext")
            previous = arg
    return found
