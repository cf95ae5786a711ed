"""pgBackRest from the backup agent: run a command, read the repository, TLS files.

Every option reaches pgBackRest as a `PGBACKREST_*` environment variable set by the stack
(components/archiving/settings.py), credentials included, so nothing secret is ever in
argv; this module adds only the command and its per-call options. pgBackRest takes TLS
certificates and keys only as files (and refuses a key others can read), while the
stack hands them over as environment variables: `ensure_tls_files` writes them, mode
0600, before the first command.

The agent is pgBackRest's "repository host": it reaches the PostgreSQL data through the
backup server sidecar (`pgbackrest server`, TLS with client certificates) and the bucket
directly; PostgreSQL pushes WAL itself (archive_command in its container).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from lifecycle import cli
from lifecycle.archiving import window

log = logging.getLogger("escalafin.archiving")

DEFAULT_STANZA: Final = "escalafin"
TLS_DIR_ENV: Final = "ESCALAFIN_PGBACKREST_TLS_DIR"
PEM_FILES: Final = {"ESCALAFIN_PEM_CA": "ca.crt", "ESCALAFIN_PEM_CERT": "tls.crt"}
PEM_KEY: Final = ("ESCALAFIN_PEM_KEY", "tls.key")
# A repository command that has not answered by then is reported as failed (the bucket
# is down or unreachable): health must decide within the healthcheck's budget.
QUICK_TIMEOUT_S: Final = 30.0
# verify's text report: a non-zero count, a status other than ok, or a file it names.
_PROBLEM: Final = re.compile(
    r"(missing|checksum invalid|size invalid|other): [1-9]|status: (?!ok|valid)|/"
)


class PgBackRestError(RuntimeError):
    def __init__(self, message: str, exit_code: int = cli.EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def stanza(env: Mapping[str, str] | None = None) -> str:
    e = os.environ if env is None else env
    return e.get("PGBACKREST_STANZA") or DEFAULT_STANZA


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """The stack turned continuous archiving on (it sets the repository type)."""
    e = os.environ if env is None else env
    return bool(e.get("PGBACKREST_REPO1_TYPE"))


def ensure_tls_files(env: Mapping[str, str] | None = None) -> None:
    """Write ESCALAFIN_PEM_* to the files PGBACKREST_*_FILE name (see module docstring)."""
    e = os.environ if env is None else env
    directory = Path(e.get(TLS_DIR_ENV) or Path.home() / ".pgbackrest-tls")
    wanted = [(var, name) for var, name in [*PEM_FILES.items(), PEM_KEY] if e.get(var)]
    if not wanted:
        return
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for var, name in wanted:
        path = directory / name
        content = e[var].strip() + "\n"
        if path.is_file() and path.read_text() == content:
            continue
        temp = path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(content)
        temp.replace(path)


def error_summary(stderr: str) -> str:
    """pgBackRest's last ERROR (with its indented detail lines, e.g. the failed request),
    else its last WARN, else its last line."""
    lines = stderr.rstrip().splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.startswith(("ERROR:", "WARN:"))]
    errors = [i for i in starts if lines[i].startswith("ERROR:")]
    if not (errors or starts):
        return lines[-1].strip() if lines else "no output"
    first = (errors or starts)[-1]
    block = [lines[first].strip()]
    for line in lines[first + 1 :]:
        if not line.startswith(" ") or len(block) >= 8:
            break
        if line.strip():
            block.append(line.strip())
    return " | ".join(block)


def run(
    args: Sequence[str], *, timeout: float | None = None, quiet: bool = False
) -> subprocess.CompletedProcess[str]:
    """`pgbackrest <args>`; raises PgBackRestError naming pgBackRest's own error line."""
    binary = shutil.which("pgbackrest")
    if binary is None:
        raise PgBackRestError("pgbackrest not found on PATH (the ops image ships it)")
    ensure_tls_files()
    started = time.monotonic()
    try:
        done = subprocess.run(
            [binary, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise PgBackRestError(
            f"pgbackrest {args[0]} did not finish within {timeout:.0f}s "
            "(repository or backup server unreachable?)",
            cli.EXIT_UNAVAILABLE,
        ) from None
    took = time.monotonic() - started
    if done.returncode != 0:
        raise PgBackRestError(
            f"pgbackrest {args[0]} failed (exit {done.returncode}): {error_summary(done.stderr)}"
        )
    if not quiet:
        log.info("pgbackrest %s: %.1fs", " ".join(args), took)
    return done


def info() -> window.RepoInfo:
    done = run(["info", "--output=json"], timeout=QUICK_TIMEOUT_S, quiet=True)
    document: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return window.parse_info(document, stanza())


def archived() -> list[window.ArchivedSegment]:
    done = run(
        ["repo-ls", "--recurse", "--output=json", f"archive/{stanza()}"],
        timeout=QUICK_TIMEOUT_S,
        quiet=True,
    )
    listing: dict[str, dict[str, Any]] = json.loads(done.stdout or "{}")
    return window.parse_repo_ls(listing)


def verify() -> list[str]:
    """`pgbackrest verify`: every backup file and WAL segment read back and checked against
    its recorded checksum. Returns the problems found (empty = all good)."""
    binary = shutil.which("pgbackrest")
    if binary is None:
        raise PgBackRestError("pgbackrest not found on PATH (the ops image ships it)")
    ensure_tls_files()
    started = time.monotonic()
    done = subprocess.run(
        [binary, "verify", "--verbose", "--output=text"],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [ln.strip() for ln in done.stdout.splitlines() if _PROBLEM.search(ln)]
    if done.returncode != 0 and not problems:
        problems = [error_summary(done.stderr)]
    log.info(
        "pgbackrest verify: %s in %.1fs",
        f"{len(problems)} problem(s)" if problems else "ok",
        time.monotonic() - started,
    )
    return problems
