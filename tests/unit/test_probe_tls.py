"""tools.probe over HTTPS: days left on the certificate, WARN within 14 days, FAIL when invalid.

A throwaway CA and a server certificate for 127.0.0.1 are made with
`cryptography`; an in-process HTTPS server on a free loopback port answers the
health JSON; the probe runs as a subprocess trusting the CA through
SSL_CERT_FILE, exactly as an operator would point it at a private CA.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tools import probe

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.now(dt.UTC)


def test_days_left_and_the_warning_threshold() -> None:
    epoch = ssl.cert_time_to_seconds("Jun  1 00:00:00 2030 GMT")
    assert probe.cert_days_left("Jun 11 00:00:00 2030 GMT", epoch) == 10
    ok = probe.Result(probe.HEALTHY, "OK 200 healthy 5ms https://x")
    assert probe.with_certificate(ok, None) == ok
    assert probe.with_certificate(ok, 40.2) == probe.Result(
        0, "OK 200 healthy 5ms https://x cert 40d"
    )
    warned = probe.with_certificate(ok, 13.6)
    assert warned.code == probe.CERT_EXPIRING and warned.line.startswith("WARN 200 healthy")
    assert "cert 14d: expires within 14 days" in warned.line
    bad = probe.Result(probe.UNHEALTHY, "FAIL 503 expected 200 5ms https://x")
    assert probe.with_certificate(bad, 3).code == probe.UNHEALTHY  # unhealthy stays unhealthy


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(tmp: Path, days: int) -> tuple[Path, Path, Path]:
    """(CA pem, server cert pem, server key pem); the server cert expires in `days`."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("probe test CA"))
        .issuer_name(_name("probe test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "healthy"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def https_server(cert: Path, key: Path) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def run_probe(port: int, ca: Path | None) -> subprocess.CompletedProcess[str]:
    outputs = json.dumps({"healthUrl": f"https://127.0.0.1:{port}/api/health"})
    env = {**os.environ, **({"SSL_CERT_FILE": str(ca)} if ca else {})}
    if ca is None:
        env.pop("SSL_CERT_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "tools.probe", "-"],
        input=outputs,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(("days", "code", "start"), [(90, 0, "OK 200"), (5, 4, "WARN 200")])
def test_probe_reports_certificate_days_and_warns_near_expiry(
    tmp_path: Path, days: int, code: int, start: str
) -> None:
    ca, cert, key = make_pki(tmp_path, days)
    for port in https_server(cert, key):
        done = run_probe(port, ca)
        assert done.returncode == code, done.stdout + done.stderr
        assert done.stdout.startswith(start) and f"cert {days}d" in done.stdout, done.stdout


def test_untrusted_certificate_is_unreachable(tmp_path: Path) -> None:
    _ca, cert, key = make_pki(tmp_path, 90)
    for port in https_server(cert, key):
        done = run_probe(port, None)
        assert done.returncode == probe.UNREACHABLE, done.stdout + done.stderr
        assert "certificate verify failed" in done.stdout
