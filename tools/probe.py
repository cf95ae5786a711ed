"""Probe the stack's health URL the way an uptime monitor does; exit code for alerting.

    pulumi stack output --json | python -m tools.probe -
    python -m tools.probe outputs.json
    python -m tools.probe --stack prod          # runs `pulumi stack output --json --stack prod`

Reads the `monitoring` output (url, expectedStatus, jsonField, expectedValue,
timeoutSeconds), or falls back to `healthUrl` (expects 200). One GET, then one
line: `OK 200 healthy 23ms https://... cert 63d` or `FAIL ...reason...`. For an
https:// URL it also reads the server's certificate (the one the outside world
sees: the ingress's) and says how many days it has left; a healthy answer
with less than 14 days left becomes `WARN ...` (exit 4), because an
ACME-renewed certificate that close to expiry means renewal is failing.
Exit codes: 0 healthy · 1 unhealthy response · 2 unreachable/timeout (an
invalid or expired certificate included) · 3 usage or bad outputs · 4 healthy,
but the certificate expires within 14 days.
Standard library only, so it runs on any monitoring box with Python 3; trust
comes from the system's CAs (SSL_CERT_FILE points elsewhere, e.g. a test CA).
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEALTHY, UNHEALTHY, UNREACHABLE, USAGE, CERT_EXPIRING = 0, 1, 2, 3, 4
CERT_WARN_DAYS = 14
DEFAULT_TIMEOUT_S = 10.0
MAX_BODY = 64 * 1024


class UsageError(Exception):
    """Bad arguments or outputs that name no probe target (exit 3)."""


@dataclass(frozen=True)
class Spec:
    url: str
    expected_status: int = 200
    json_field: str | None = None
    expected_value: Any = None
    timeout_seconds: float = DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class Result:
    code: int
    line: str


# ------------------------------------------------------------------ outputs → spec


def spec_from_outputs(outputs: Any) -> Spec:
    """The `monitoring` output if present, else `healthUrl`; anything else is a usage error."""
    if not isinstance(outputs, dict):
        raise UsageError("stack outputs must be a JSON object (pulumi stack output --json)")
    monitoring = outputs.get("monitoring")
    if isinstance(monitoring, dict):
        return _spec_from_monitoring(monitoring)  # pyright: ignore[reportUnknownArgumentType]
    if monitoring is not None:
        raise UsageError("output 'monitoring' must be an object with at least 'url'")
    health_url = outputs.get("healthUrl")
    if isinstance(health_url, str) and health_url:
        return Spec(_checked_url(health_url, "healthUrl"))
    raise UsageError("stack outputs have neither 'monitoring' nor 'healthUrl'")


def _spec_from_monitoring(m: dict[str, Any]) -> Spec:
    url = m.get("url")
    if not isinstance(url, str) or not url:
        raise UsageError("monitoring.url is missing or not a string")
    status = m.get("expectedStatus", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise UsageError(f"monitoring.expectedStatus = {status!r}: expected an HTTP status code")
    timeout = m.get("timeoutSeconds", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise UsageError(f"monitoring.timeoutSeconds = {timeout!r}: expected seconds > 0")
    field = m.get("jsonField")
    if field is not None and not isinstance(field, str):
        raise UsageError(f"monitoring.jsonField = {field!r}: expected a (dotted) field name")
    return Spec(
        _checked_url(url, "monitoring.url"),
        status,
        field or None,
        m.get("expectedValue"),
        float(timeout),
    )


def _checked_url(url: str, key: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise UsageError(f"{key} = {url!r}: expected an http(s) URL")
    return url


def shown(url: str) -> str:
    """The URL without any user:password@ part, for printing."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


# ------------------------------------------------------------------ probing


def field_value(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(body, dict) or part not in body:
            raise KeyError(dotted)
        body = body[part]  # pyright: ignore[reportUnknownVariableType]
    return body  # pyright: ignore[reportUnknownVariableType]


def judge(spec: Spec, status: int, body: bytes, ms: int) -> Result:
    """Turn one HTTP answer into OK/FAIL (pure: tested without a network)."""
    where = f"{ms}ms {shown(spec.url)}"
    if status != spec.expected_status:
        return Result(UNHEALTHY, f"FAIL {status} expected {spec.expected_status} {where}")
    if spec.json_field is None:
        return Result(HEALTHY, f"OK {status} {where}")
    try:
        value = field_value(json.loads(body), spec.json_field)
    except (ValueError, KeyError):
        return Result(UNHEALTHY, f"FAIL {status} body has no JSON field {spec.json_field} {where}")
    if spec.expected_value is not None and value != spec.expected_value:
        return Result(
            UNHEALTHY,
            f"FAIL {status} {spec.json_field}={value!r} expected {spec.expected_value!r} {where}",
        )
    return Result(HEALTHY, f"OK {status} {value} {where}")


def probe(spec: Spec) -> Result:
    """One GET with the spec's timeout; non-2xx answers are judged, not raised."""
    request = urllib.request.Request(  # noqa: S310 - scheme checked to be http(s)
        spec.url, headers={"User-Agent": "escalafin-probe/1", "Accept": "application/json"}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=spec.timeout_seconds) as response:  # noqa: S310
            status, body = response.status, response.read(MAX_BODY)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(MAX_BODY)
    except TimeoutError:
        return Result(
            UNREACHABLE, f"FAIL timeout after {spec.timeout_seconds:g}s {shown(spec.url)}"
        )
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return Result(
                UNREACHABLE, f"FAIL timeout after {spec.timeout_seconds:g}s {shown(spec.url)}"
            )
        return Result(UNREACHABLE, f"FAIL unreachable ({_reason(reason)}) {shown(spec.url)}")
    except (ConnectionError, OSError) as error:
        return Result(UNREACHABLE, f"FAIL unreachable ({_reason(error)}) {shown(spec.url)}")
    ms = round((time.monotonic() - started) * 1000)
    return judge(spec, status, body, ms)


def cert_days_left(not_after: str, now: float) -> float:
    """Days until a certificate's notAfter ("Jun  1 12:00:00 2026 GMT"), from `now` (epoch s)."""
    return (ssl.cert_time_to_seconds(not_after) - now) / 86400


def with_certificate(result: Result, days: float | None) -> Result:
    """Append the certificate's days left; healthy with < CERT_WARN_DAYS left becomes WARN."""
    if days is None:
        return result
    line = f"{result.line} cert {days:.0f}d"
    if result.code == HEALTHY and days < CERT_WARN_DAYS:
        warned = "WARN" + line.removeprefix("OK")
        return Result(CERT_EXPIRING, f"{warned}: expires within {CERT_WARN_DAYS} days, renew it")
    return Result(result.code, line)


def certificate_days(url: str, timeout: float) -> float | None:
    """Days left on the certificate an https:// URL presents (verified); None for http://."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    context = ssl.create_default_context()
    with (
        socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        certificate = tls.getpeercert()
    not_after = certificate.get("notAfter") if certificate else None
    return cert_days_left(str(not_after), time.time()) if not_after else None


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or reason.__class__.__name__


# ------------------------------------------------------------------ CLI


def read_outputs(source: str | None, stack: str | None) -> Any:
    if stack is not None:
        try:
            result = subprocess.run(
                ["pulumi", "stack", "output", "--json", "--stack", stack],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except FileNotFoundError as exc:
            raise UsageError("pulumi CLI not found: pass outputs with '-' or a file") from exc
        if result.returncode != 0:
            raise UsageError(f"pulumi stack output --stack {stack} failed: {result.stderr.strip()}")
        text = result.stdout
    elif source == "-":
        text = sys.stdin.read()
    elif source:
        try:
            text = Path(source).read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {source}: {exc.strerror}") from exc
    else:
        raise UsageError("give '-' (stdin), a file of `pulumi stack output --json`, or --stack")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"stack outputs are not JSON ({exc.msg} at line {exc.lineno})") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.probe",
        description="Probe the stack health URL like an uptime monitor.",
    )
    parser.add_argument("source", nargs="?", help="'-' for stdin, or a JSON file of stack outputs")
    parser.add_argument("--stack", help="run `pulumi stack output --json --stack STACK`")
    parser.add_argument("--timeout", type=float, help="override monitoring.timeoutSeconds")
    args = parser.parse_args(argv)
    try:
        if args.source and args.stack:
            raise UsageError("give either a source or --stack, not both")
        spec = spec_from_outputs(read_outputs(args.source, args.stack))
        if args.timeout is not None:
            if args.timeout <= 0:
                raise UsageError(f"--timeout {args.timeout:g}: expected seconds > 0")
            spec = Spec(
                spec.url, spec.expected_status, spec.json_field, spec.expected_value, args.timeout
            )
    except UsageError as exc:
        print(f"FAIL usage: {exc}", file=sys.stderr)
        return USAGE
    result = probe(spec)
    if result.code != UNREACHABLE:
        try:
            result = with_certificate(result, certificate_days(spec.url, spec.timeout_seconds))
        except (OSError, ValueError) as error:  # the GET got through; say why this did not
            result = Result(result.code, f"{result.line} cert unknown ({_reason(error)})")
    print(result.line)
    return result.code


if __name__ == "__main__":
    sys.exit(main())
