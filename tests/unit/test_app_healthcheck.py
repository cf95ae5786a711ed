"""The container healthcheck module against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.escalafin_app import healthcheck

pytestmark = pytest.mark.unit


def serving(status: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = status if self.path == "/api/health" else 404
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b'{"status":"x"}')

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    return Handler


@pytest.fixture(params=[200, 503])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[int, int]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), serving(request.param))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], request.param
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_exit_code_follows_health_status(
    server: tuple[int, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port, status = server
    monkeypatch.setenv("PORT", str(port))
    assert healthcheck.main() == (0 if status == 200 else 1)
    assert capsys.readouterr().out.strip() == (
        "healthy" if status == 200 else "unhealthy: HTTP 503"
    )


def test_nothing_listening_is_unhealthy(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    monkeypatch.setenv("PORT", str(free_port))
    assert healthcheck.main() == 1
