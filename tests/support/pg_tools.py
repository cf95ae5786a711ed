"""PostgreSQL 17 client tools for the host, borrowed from the postgres image.

The host may carry an older client (pg_dump refuses newer servers), while the ops image
carries the matching one. Lifecycle code finds its tools in $PG_BIN_DIR; this writes a
directory of `pg_dump`/`pg_restore`/`psql` wrappers that run the tool in a throwaway
container of the postgres image on the host network, so 127.0.0.1:<published port>
means the same thing inside and out. Data flows through stdin/stdout, except archive
paths under /tmp (where the tests keep their backup directories), which is mounted
read-only for parallel restores; libpq settings pass as PG* variables by name
(`-e PGPASSWORD`), so no secret lands in any argv.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.support import images
from tests.support.docker_env import LABEL, require_image

TOOLS = ("pg_dump", "pg_restore", "psql")
_FORWARDED = (
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGCONNECT_TIMEOUT",
    "PGAPPNAME",
    "PGOPTIONS",
)


def wrapper_dir(directory: Path, client: object | None = None) -> Path:
    """Write the wrappers into `directory` (created) and return it, for PG_BIN_DIR."""
    if client is not None:
        require_image(client, images.POSTGRES)  # type: ignore[arg-type]
    directory.mkdir(parents=True, exist_ok=True)
    env_flags = " ".join(f"-e {name}" for name in _FORWARDED)
    for tool in TOOLS:
        script = directory / tool
        script.write_text(
            "#!/bin/sh\n"
            f"exec {shlex.quote(images.DOCKER_CLI)} run --rm -i --network host "
            f"--label {LABEL}=1 --log-driver none -v /tmp:/tmp:ro {env_flags} "
            f'{shlex.quote(images.POSTGRES)} {tool} "$@"\n'
        )
        script.chmod(0o755)
    return directory
