"""Shared command-line plumbing: logging to stderr, one JSON result line on stdout, the
database URL from --database-url or DATABASE_URL, and exit codes scripts can rely on.

Exit codes (every lifecycle command):
    0  done / up to date
    1  `status` only: migrations pending (or applied files changed / missing locally)
    2  usage or configuration error (bad arguments, folder, seed file, missing secret)
    3  the database refuses: a migration failed or a failed one blocks (P3009/P3018/P3005),
       the users table is missing
    4  lock timeout, connection refused or lost
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_PENDING: Final = 1
EXIT_USAGE: Final = 2
EXIT_REFUSED: Final = 3
EXIT_UNAVAILABLE: Final = 4


def setup_logging(verbose: bool = False) -> None:
    """One line per step on stderr (stdout stays free for the JSON result)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


def add_database_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (Prisma style, ?schema= honoured); default: $DATABASE_URL. "
        "Prefer the environment: arguments are visible in `ps`.",
    )
    parser.add_argument(
        "--lock-timeout", type=float, default=60.0, help="seconds to wait for the lock"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    parser.add_argument("-v", "--verbose", action="store_true")


def database_url(args: argparse.Namespace) -> str:
    url = args.database_url or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit(_usage("no database: pass --database-url or set DATABASE_URL"))
    return str(url)


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def emit(as_json: bool, result: dict[str, Any], human: str) -> None:
    """The command's result: JSON (one line) or a human sentence."""
    if as_json:
        print(json.dumps(result, default=str, sort_keys=True), flush=True)
    else:
        print(human, flush=True)


def fail(as_json: bool, exit_code: int, message: str) -> int:
    """Report an error (also as JSON when asked, so callers reading stdout see it)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps({"ok": False, "exit_code": exit_code, "error": message}), flush=True)
    return exit_code
