"""Container entrypoint: `python -m escalafin_app`.

Validates the environment first (exit 2 with one line naming the variable), then
serves with uvicorn, which turns SIGTERM into a graceful shutdown: close the
listening socket (new connections are refused, so a proxy retries them
elsewhere), close idle keep-alive connections, let in-flight requests finish
for up to GRACEFUL_SHUTDOWN_S, then close the pool and Redis client. The
deployment stops containers with a 30 s timeout, so this fits inside it with
room for the lifespan shutdown.
"""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from . import config
from .asgi import EscalaFinApp
from .auth import Authenticator
from .clients import ClientStore
from .probes import Dependencies

LISTEN_HOST = "0.0.0.0"  # noqa: S104 - in a container the published port reaches eth0
GRACEFUL_SHUTDOWN_S = 20  # below the deployment's 30 s stop timeout


def main() -> int:
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        settings = config.load(os.environ)
        dependencies = Dependencies(settings)
    except config.ConfigError as error:
        print(f"escalafin: configuration error: {error}", file=sys.stderr)
        return 2
    logging.getLogger("escalafin").info(
        "starting version=%s environment=%s port=%d",
        settings.version,
        settings.environment,
        settings.port,
    )
    uvicorn.run(
        EscalaFinApp(
            settings,
            dependencies,
            ClientStore(dependencies.pool, dependencies.redis),
            Authenticator(dependencies.pool),
        ),
        host=LISTEN_HOST,
        port=settings.port,
        lifespan="on",
        access_log=False,  # EscalaFinApp logs each request once, with its duration
        log_config=None,  # keep the root logging configured above
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
