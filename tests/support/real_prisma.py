"""The real Prisma CLI's `migrate status|deploy`, run offline by ../shared/tools/real-prisma.sh.

That script (machine tooling beside the project, not part of it) installs prisma 6.19 with its
WebAssembly schema engine from npm once, then talks to PostgreSQL through a pg driver adapter.
ESCALAFIN_REAL_PRISMA points elsewhere. Without the script, or without node and npm, the test
is unavailable: skipped outside CI, failed under CI=true (docker_env.unavailable).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.docker_env import unavailable
from tests.support.program import PROJECT_DIR

SCRIPT = Path(
    os.environ.get("ESCALAFIN_REAL_PRISMA", PROJECT_DIR.parent / "shared/tools/real-prisma.sh")
)


def require() -> Path:
    if not SCRIPT.is_file():
        unavailable(f"real Prisma runner not found at {SCRIPT} (set ESCALAFIN_REAL_PRISMA)")
    if not (shutil.which("node") and shutil.which("npm")):
        unavailable("node and npm are needed to run the real Prisma CLI")
    return SCRIPT


def migrate(command: str, url: str, folder: Path) -> tuple[int, str]:
    """(Prisma's exit code, its combined output) for `prisma migrate <command>`."""
    done = subprocess.run(
        [str(require()), command, url, str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr
