"""Pure parsers for stack config values.

Each parser takes the raw string Pulumi hands us and either returns a typed,
canonical value or raises `InvalidValue` with what is allowed. The caller
(settings.py) adds the key and the value, so every message names all three.
Nothing here touches Pulumi, so the rules are unit-tested directly.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


class InvalidValue(ValueError):
    """A config value outside what is allowed; the message says what is allowed."""


def parse_int(raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise InvalidValue(f"an integer from {minimum} to {maximum}") from None
    if not minimum <= value <= maximum:
        raise InvalidValue(f"an integer from {minimum} to {maximum}")
    return value


def parse_port(raw: str) -> int:
    return parse_int(raw, minimum=1, maximum=65535)


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidValue("true or false")


def parse_choice(raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise InvalidValue("one of " + ", ".join(allowed))
    return raw


_DURATION_PART = re.compile(r"(\d+)(h|ms|m|s)")
_UNIT_MS = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}


def parse_duration(raw: str) -> str:
    """Accept "30s", "1m30s", "90s", "500ms"… and return Go's canonical form.

    The docker provider stores durations as Go prints them ("1m30s", "1h0m0s");
    anything else shows up as a diff on every refresh.
    """
    text = raw.strip()
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise InvalidValue('a duration such as "500ms", "10s", "1m30s" or "1h"')
    total_ms = sum(int(n) * _UNIT_MS[u] for n, u in parts)
    if total_ms <= 0:
        raise InvalidValue("a duration greater than zero")
    return go_duration(total_ms)


def go_duration(total_ms: int) -> str:
    """Format milliseconds the way Go's time.Duration.String does."""
    if total_ms < 1000:
        return f"{total_ms}ms"
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    sec = f"{seconds}.{millis:03d}".rstrip("0") if millis else str(seconds)
    if hours:
        return f"{hours}h{minutes}m{sec}s"
    if minutes:
        return f"{minutes}m{sec}s"
    return f"{sec}s"


# Docker's reference grammar (distribution/reference), minus the rarely used IPv6 hosts.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
)
_IMAGE_REF = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN}(?::\d+)?)/)?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def parse_image_ref(raw: str) -> str:
    """A docker image reference: [registry[:port]/]path[:tag][@sha256:digest]."""
    match = _IMAGE_REF.match(raw)
    if not match or len(raw) > 255:
        raise InvalidValue(
            "an image reference like postgres:17-alpine or "
            "registry.example.com:5000/team/app:1.2 (lowercase path, optional tag/digest)"
        )
    domain = match.group("domain")
    is_registry = domain is not None and ("." in domain or ":" in domain or domain == "localhost")
    if domain and not is_registry and domain != domain.lower():
        # "library/foo" style: the first part is a path component, which must be lowercase
        raise InvalidValue("an image reference with a lowercase repository path")
    return raw


_IMAGE_ID = re.compile(r"^sha256:[a-f0-9]{64}$")


def parse_image_or_id(raw: str) -> str:
    """An image reference, or a local image id (sha256:<64 hex>) as imageDigest reports it."""
    if _IMAGE_ID.match(raw.strip()):
        return raw.strip()
    try:
        return parse_image_ref(raw.strip())
    except InvalidValue:
        raise InvalidValue(
            "an image id such as sha256:<64 hex> (a previous imageDigest output) "
            "or a local image reference such as escalafin-prod-app:1.2"
        ) from None


def image_tag(reference: str) -> str | None:
    match = _IMAGE_REF.match(reference)
    return match.group("tag") if match else None


def parse_bind_address(raw: str) -> str:
    try:
        return str(ipaddress.IPv4Address(raw.strip()))
    except ValueError:
        raise InvalidValue("an IPv4 address such as 127.0.0.1 or 0.0.0.0") from None


def parse_http_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidValue("an absolute http:// or https:// URL")
    return raw.strip().rstrip("/")


def parse_https_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidValue("an absolute https:// URL")
    return raw.strip()


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_email(raw: str) -> str:
    if not _EMAIL.match(raw.strip()):
        raise InvalidValue("an email address such as ops@example.com")
    return raw.strip()


_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")


def parse_pem_certificates(raw: str) -> str:
    """One or more PEM certificates (a CA bundle), nothing else."""
    text = raw.strip()
    if not text or _PEM_CERT.sub("", text).strip():
        raise InvalidValue(
            "PEM certificates (-----BEGIN CERTIFICATE----- ... END CERTIFICATE-----)"
        )
    return text + "\n"


def parse_path(raw: str) -> str:
    if not raw.startswith("/") or any(c in raw for c in " ?#"):
        raise InvalidValue('an absolute URL path such as "/api/health"')
    return raw


def parse_cron(raw: str) -> str:
    text = " ".join(raw.split())
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise InvalidValue('a 5-field cron expression such as "0 2 * * *" (daily at 02:00)')
    return text


def parse_timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue('an IANA time zone such as "UTC" or "America/Mexico_City"') from None
    return raw


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_string_list(raw: str) -> tuple[str, ...]:
    """Pulumi stores `type: array` config as a JSON array of strings."""
    try:
        value: object = json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidValue('a JSON array of strings, e.g. ["A=1", "B=2"]') from None
    if not isinstance(value, list):
        raise InvalidValue('a JSON array of strings, e.g. ["A=1", "B=2"]')
    items: list[str] = []
    for item in value:  # pyright: ignore[reportUnknownVariableType] - json.loads is untyped
        if not isinstance(item, str):
            raise InvalidValue('a JSON array of strings, e.g. ["A=1", "B=2"]')
        items.append(item)
    return tuple(items)


def parse_key_values(raw: str) -> dict[str, str]:
    """["KEY=value", …] → {KEY: value}; names must be valid environment variable names."""
    result: dict[str, str] = {}
    for item in parse_string_list(raw):
        name, sep, value = item.partition("=")
        if not sep or not _ENV_NAME.match(name):
            raise InvalidValue(
                'a JSON array of "NAME=value" strings with NAME like [A-Za-z_][A-Za-z0-9_]*'
            )
        if name in result:
            raise InvalidValue(f"each NAME at most once ({name} repeats)")
        result[name] = value
    return result


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def parse_bucket_name(raw: str) -> str:
    if not _BUCKET.match(raw) or ".." in raw or raw.startswith("xn--"):
        raise InvalidValue("an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens")
    return raw


_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}[a-z0-9]$")


def _matching(pattern: re.Pattern[str], allowed: str) -> Callable[[str], str]:
    """A parser accepting what `pattern` matches, else saying what is `allowed`."""

    def parse(raw: str) -> str:
        if not pattern.match(raw):
            raise InvalidValue(allowed)
        return raw

    return parse


parse_resource_prefix = _matching(
    _NAME, "2-42 lowercase letters, digits and hyphens, starting with a letter"
)


_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


parse_pg_identifier = _matching(_IDENT, "a lowercase PostgreSQL identifier: [a-z_][a-z0-9_]{0,62}")


# AWS region names: <area>[-gov|-iso…]-<direction>-<n> (us-east-1, ap-southeast-2,
# us-gov-west-1, cn-north-1, il-central-1...). The embedded store accepts these too.
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


parse_aws_region = _matching(
    _AWS_REGION, 'an AWS region name such as "us-east-1" or "eu-central-1"'
)


_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FROM_AS = re.compile(r"^\s*FROM\s+\S+(?:\s+\S+)*?\s+AS\s+(\S+)\s*$", re.IGNORECASE | re.MULTILINE)


def dockerfile_stages(text: str) -> list[str]:
    """The named stages of a Dockerfile (`FROM image AS name`), in order."""
    return [m.group(1) for m in _FROM_AS.finditer(text)]


def parse_stage_name(raw: str, stages: list[str] | None) -> str:
    """A multi-stage target; one of `stages` when the Dockerfile could be read."""
    if not _STAGE.match(raw):
        raise InvalidValue("the name of a stage of the Dockerfile (FROM ... AS <name>)")
    if stages is not None and raw.lower() not in {s.lower() for s in stages}:
        raise InvalidValue(f"a stage of the Dockerfile: {', '.join(stages) or 'it names none'}")
    return raw


def parse_healthcheck_command(raw: str) -> tuple[str, ...]:
    """Docker's exec-form healthcheck: ["CMD", prog, args...] or ["CMD-SHELL", "command"]
    (empty = the program's default). Anything else is not a healthcheck Docker runs."""
    command = parse_string_list(raw)
    first = command[0] if command else ""
    if not command or (first == "CMD" and len(command) >= 2):
        return command
    if first == "CMD-SHELL" and len(command) == 2:
        return command
    raise InvalidValue(
        'a JSON array starting with "CMD" then the program and its arguments, or '
        '["CMD-SHELL", "shell command"]'
    )


def suggest(word: str, candidates: list[str]) -> str | None:
    """The candidate `word` is most likely a typo of, if any is close enough."""
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.75)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        matches = [lowered[word.lower()]] if word.lower() in lowered else []
    return matches[0] if matches else None


# --- build platform (issue 11) -------------------------------------------------------------
PLATFORMS = ("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/386", "linux/ppc64le")
# platform.machine() → Docker's architecture name (the docker provider uses Go's GOARCH).
_MACHINE_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm/v7",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
}
REMOTE_DOCKER_SCHEMES = ("ssh://", "tcp://", "http://", "https://")


def parse_platform(raw: str) -> str:
    if raw not in PLATFORMS:
        raise InvalidValue("a platform the image is built for: one of " + ", ".join(PLATFORMS))
    return raw


def machine_platform(machine: str) -> str | None:
    """linux/<arch> for a `platform.machine()` value; None when it has no Docker name."""
    arch = _MACHINE_ARCH.get(machine.lower())
    return f"linux/{arch}" if arch else None


def is_remote_docker_host(host: str | None) -> bool:
    """A Docker host on another machine (ssh://, tcp://); unix:// and unset are local."""
    return bool(host) and str(host).startswith(REMOTE_DOCKER_SCHEMES)
