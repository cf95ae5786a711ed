"""Render the ingress's Caddyfile from plain values (no I/O, no Pulumi).

Only directives present in Caddy 2.6 (the lab's Debian build) and in current
releases are used. What the rendered file does:

- http:// public URL (dev): one site on :80, plain HTTP, no HSTS.
- https:// public URL (prod): a site for the URL's host; Caddy obtains and
  renews its certificate by ACME (account and certificates under /data, a
  retained volume), redirects HTTP to HTTPS and answers HTTP-01 challenges.
- Security headers on every response (HSTS only over HTTPS), the `Server` and
  `X-Powered-By` headers removed, JSON access logs on stdout.
- Request bodies above the limit are refused before they reach the app: a
  declared Content-Length with 413 at once, a chunked body by `request_body`
  while it streams (Caddy 2.6 answers that one with 502, later releases 413).
- `reverse_proxy` to the app containers by name on the shared Docker network,
  round robin. A request whose connection to an upstream could not even be
  opened is retried on another for up to `lb_try_duration` (Caddy's rule:
  dial errors always, other errors only for GET), and an upstream that fails
  is skipped for `fail_duration` (passive health).
- `grace_period`: on a reload (the deploy switch), requests in flight on the
  old configuration finish on the old upstreams for up to this long.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

CONFIG_PATH = "/etc/caddy/Caddyfile"
ACME_ROOT_PATH = "/etc/caddy/acme-ca-root.pem"
ADMIN = "localhost:2019"  # inside the container only: never published
HSTS = "max-age=31536000"
TRY_DURATION = "10s"
TRY_INTERVAL = "250ms"
FAIL_DURATION = "30s"
_UNSAFE = re.compile(r'[\s{}"#]')  # would end or open a token, block, string or comment
MANAGED = "# Managed by escalafin-infra (IngressRoute): rewritten and reloaded on every deploy.\n"


@dataclass(frozen=True)
class Site:
    """What the Caddyfile needs to know; `upstreams` are "container-name:port"."""

    host: str
    tls: bool
    upstreams: tuple[str, ...]
    max_body_mb: int
    grace_period_s: int
    acme_email: str | None = None
    acme_ca: str | None = None
    acme_ca_root: bool = False
    """True when ACME_ROOT_PATH holds the CA root to trust for the ACME directory."""


def render(site: Site) -> str:
    """The whole Caddyfile for `site` (tabs, as `caddy fmt` writes it)."""
    if not site.upstreams:
        raise ValueError("at least one upstream is required")
    for value in (site.host, *site.upstreams, site.acme_email or "", site.acme_ca or ""):
        if _UNSAFE.search(value):
            raise ValueError(f"{value!r} cannot be written into a Caddyfile token")
    limit = site.max_body_mb * 1024 * 1024
    content_length = "{http.request.header.Content-Length}"
    headers = [
        *([f'Strict-Transport-Security "{HSTS}"'] if site.tls else []),
        'X-Content-Type-Options "nosniff"',
        'X-Frame-Options "SAMEORIGIN"',
        'Referrer-Policy "strict-origin-when-cross-origin"',
        "-Server",
        "-X-Powered-By",
    ]
    body = [
        "log {",
        ["output stdout", "format json"],
        "}",
        f'@too_large expression {content_length} != "" && int({content_length}) > {limit}',
        'respond @too_large "request body too large" 413',
        "request_body {",
        [f"max_size {site.max_body_mb}MB"],
        "}",
        "header {",
        headers,
        "}",
        f"reverse_proxy {' '.join(site.upstreams)} {{",
        [
            "lb_policy round_robin",
            f"lb_try_duration {TRY_DURATION}",
            f"lb_try_interval {TRY_INTERVAL}",
            f"fail_duration {FAIL_DURATION}",
        ],
        "}",
    ]
    address = site.host if site.tls else ":80"
    return MANAGED + _block(_global(site)) + "\n" + _block([f"{address} {{", body, "}"])


def bootstrap() -> str:
    """What a new Caddy container serves until the first route is written: 503 only."""
    return (
        "# Until IngressRoute writes the real configuration.\n"
        + _block(["{", [f"admin {ADMIN}"], "}"])
        + "\n"
        + _block([":80 {", ['respond "starting" 503'], "}"])
    )


def _global(site: Site) -> list[str | list[str]]:
    options = [f"admin {ADMIN}", f"grace_period {site.grace_period_s}s"]
    if site.acme_email:
        options.append(f"email {site.acme_email}")
    if site.acme_ca:
        options.append(f"acme_ca {site.acme_ca}")
    if site.acme_ca_root:
        options.append(f"acme_ca_root {ACME_ROOT_PATH}")
    return ["{", options, "}"]


def _block(lines: Sequence[str | Sequence[str | Sequence[str]]], depth: int = 0) -> str:
    out: list[str] = []
    for line in lines:
        if isinstance(line, str):
            out.append("\t" * depth + line + "\n")
        else:
            out.append(_block(line, depth + 1))
    return "".join(out)
