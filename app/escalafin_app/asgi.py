"""The ASGI application: lifespan, routing, and one log line per request.

Plain ASGI (no framework) because the service has one real route; uvicorn runs it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, Protocol

from . import report
from .config import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HEALTH_PATH = "/api/health"
log = logging.getLogger("escalafin.access")


class Checker(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def probe(self) -> report.Probe: ...


class EscalaFinApp:
    def __init__(self, settings: Settings, dependencies: Checker) -> None:
        self._settings = settings
        self._deps = dependencies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._logged(scope, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._deps.open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._deps.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _logged(self, scope: Scope, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._route(scope, capture)
        finally:
            millis = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status, millis)

    async def _route(self, scope: Scope, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if path != HEALTH_PATH:
            await _json(send, 404, {"error": "not found"}, method)
        elif method not in ("GET", "HEAD"):
            await _json(send, 405, {"error": "method not allowed"}, method, allow="GET, HEAD")
        else:
            status, body = report.health(
                await self._deps.probe(),
                version=self._settings.version,
                environment=self._settings.environment,
                now=datetime.now(UTC),
            )
            await _json(send, status, body, method)


async def _json(
    send: Send, status: int, body: dict[str, object], method: str, *, allow: str | None = None
) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if allow:
        headers.append((b"allow", allow.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else payload})
