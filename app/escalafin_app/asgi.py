"""The ASGI application: lifespan, routing, and one log line per request.

Plain ASGI (no framework) because the service has two routes; uvicorn runs it.
`/api/health` is public (monitors, the ingress); `/api/clients` needs an
ADMIN or ADVISOR user (HTTP Basic) because it returns personal data.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, Protocol

from . import report
from .auth import ALLOWED_ROLES, CHALLENGE, Authenticator
from .clients import ClientStore, InvalidClient, parse_new_client
from .config import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HEALTH_PATH = "/api/health"
CLIENTS_PATH = "/api/clients"
MAX_BODY = 64 * 1024
log = logging.getLogger("escalafin.access")


class Checker(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def probe(self) -> report.Probe: ...


class EscalaFinApp:
    def __init__(
        self,
        settings: Settings,
        dependencies: Checker,
        clients: ClientStore,
        authenticator: Authenticator,
    ) -> None:
        self._settings = settings
        self._deps = dependencies
        self._clients = clients
        self._auth = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._logged(scope, receive, send)

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

    async def _logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._route(scope, receive, capture)
        finally:
            millis = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status, millis)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if path == CLIENTS_PATH:
            await self._client_route(scope, receive, send)
        elif path != HEALTH_PATH:
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

    async def _client_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD", "POST"):
            await _json(send, 405, {"error": "method not allowed"}, method, allow="GET, HEAD, POST")
            return
        principal = await self._auth.authenticate(_header(scope, b"authorization"))
        if principal is None:
            challenge = [(b"www-authenticate", CHALLENGE.encode())]
            await _json(send, 401, {"error": "authentication required"}, method, extra=challenge)
            return
        if principal.role not in ALLOWED_ROLES:
            await _json(send, 403, {"error": "forbidden"}, method)
            return
        if method != "POST":
            clients, cached = await self._clients.recent()
            cache = [(b"x-cache", b"hit" if cached else b"miss")]
            await _json(send, 200, {"clients": clients}, method, extra=cache)
            return
        body = await _body(receive)
        if body is None:
            await _json(send, 413, {"error": f"body larger than {MAX_BODY} bytes"}, method)
            return
        try:
            new = parse_new_client(body)
        except InvalidClient as error:
            await _json(send, 422, {"error": str(error)}, method)
            return
        advisor = principal.user_id if principal.role == "ADVISOR" else None
        await _json(send, 201, {"client": await self._clients.create(new, advisor)}, method)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _body(receive: Receive) -> bytes | None:
    """The whole request body, or None once it exceeds MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = bytes(message.get("body") or b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _json(
    send: Send,
    status: int,
    body: dict[str, object],
    method: str,
    *,
    allow: str | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if allow:
        headers.append((b"allow", allow.encode()))
    headers.extend(extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else payload})
