"""The conditional seed: insert the initial users only when the users table is empty.

    python -m lifecycle.seed [--seed-file app/prisma/seed.json] [--database-url URL] [--json]
                             [--passwords-stdin]

The seed file names a `passwordKey` per user; plaintexts come from the environment
(`SEED_PASSWORD_<KEY>`, key upper-cased, `-` → `_`) or, with --passwords-stdin, from a JSON
object on stdin — never from argv (visible in `ps`). Hashes are bcrypt `$2b$`, cost 10
(what bcryptjs verifies and Prisma-era apps expect).

One transaction under its own advisory lock (SEED_LOCK_ID): empty → insert all, otherwise
skip. Never updates or deletes. Concurrent seeders: the second waits, then sees the rows and
skips, so the seed lands exactly once. Exit codes: see lifecycle.cli.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import string
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import bcrypt
import psycopg

from lifecycle import cli, db

log = logging.getLogger("lifecycle.seed")

SEED_LOCK_ID: Final = 72707370  # Prisma's migrate lock + 1: easy to find next to it in pg_locks
BCRYPT_COST: Final = 10
DEFAULT_SEED_FILE: Final = Path("app/prisma/seed.json")
PASSWORD_ENV_PREFIX: Final = "SEED_PASSWORD_"  # noqa: S105 (a variable name prefix)
ROLES: Final = ("ADMIN", "ADVISOR", "CLIENT")
_ID_ALPHABET: Final = string.digits + string.ascii_lowercase


class SeedError(RuntimeError):
    exit_code = cli.EXIT_USAGE


class SeedRefused(SeedError):
    """The database cannot take the seed (no users table: migrations not applied)."""

    exit_code = cli.EXIT_REFUSED


class SeedLockTimeout(SeedError):
    exit_code = cli.EXIT_UNAVAILABLE


@dataclass(frozen=True)
class SeedUser:
    email: str
    first_name: str
    last_name: str
    role: str
    phone: str | None
    password_key: str


@dataclass(frozen=True)
class SeedResult:
    outcome: str  # "seeded" | "skipped"
    inserted: int
    existing: int
    duration_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "outcome": self.outcome,
            "inserted": self.inserted,
            "existing": self.existing,
            "duration_ms": round(self.duration_ms, 1),
        }


# --- pure ----------------------------------------------------------------------------------------


def parse_seed(data: Mapping[str, Any], source: str = "seed file") -> list[SeedUser]:
    """Validate the seed document; errors name the entry, the field and what is allowed."""
    users = data.get("users")
    if not isinstance(users, list) or not users:
        raise SeedError(f"{source}: `users` must be a non-empty list")
    parsed: list[SeedUser] = []
    for index, raw in enumerate(cast(list[Any], users)):
        where = f"{source}: users[{index}]"
        if not isinstance(raw, dict):
            raise SeedError(f"{where} must be an object")
        entry = cast(dict[str, Any], raw)
        for key in ("email", "firstName", "lastName", "passwordKey"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SeedError(f"{where}.{key} must be a non-empty string")
        role = entry.get("role", "CLIENT")
        if role not in ROLES:
            raise SeedError(f"{where}.role is {role!r}; allowed: {', '.join(ROLES)}")
        phone = entry.get("phone")
        if phone is not None and not isinstance(phone, str):
            raise SeedError(f"{where}.phone must be a string or null")
        parsed.append(
            SeedUser(
                entry["email"],
                entry["firstName"],
                entry["lastName"],
                role,
                phone,
                entry["passwordKey"],
            )
        )
    emails = [u.email.lower() for u in parsed]
    if len(set(emails)) != len(emails):
        raise SeedError(f"{source}: duplicate emails")
    return parsed


def load_seed(path: Path) -> list[SeedUser]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SeedError(f"{path}: top level must be an object with `users`")
    return parse_seed(cast(dict[str, Any], data), str(path))


def password_env_name(key: str) -> str:
    return PASSWORD_ENV_PREFIX + key.upper().replace("-", "_")


def passwords_from_env(users: list[SeedUser], env: Mapping[str, str]) -> dict[str, str]:
    return {
        u.password_key: env[password_env_name(u.password_key)]
        for u in users
        if env.get(password_env_name(u.password_key))
    }


def require_passwords(users: list[SeedUser], passwords: Mapping[str, str]) -> None:
    missing = sorted({u.password_key for u in users if not passwords.get(u.password_key)})
    if missing:
        names = ", ".join(f"{k} ({password_env_name(k)})" for k in missing)
        raise SeedError(f"no password supplied for seed password key(s): {names}")


def new_id() -> str:
    """A cuid-like id (`c` + 24 base-36 chars), as Prisma's @default(cuid()) produces."""
    return "c" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


def hash_password(plaintext: str) -> str:
    return bcrypt.hashpw(plaintext.encode(), bcrypt.gensalt(BCRYPT_COST, b"2b")).decode()


# --- database ----------------------------------------------------------------------------------


def seed(
    conn: psycopg.Connection[tuple[object, ...]],
    users: list[SeedUser],
    passwords: Mapping[str, str],
    lock_timeout_s: float = 60.0,
) -> SeedResult:
    """Insert `users` if the users table is empty, in one transaction under SEED_LOCK_ID."""
    require_passwords(users, passwords)
    started = time.monotonic()
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_s * 1000)}".encode())
            conn.execute("SELECT pg_advisory_xact_lock(72707370)")
            if conn.execute("SELECT to_regclass('users')").fetchone() == (None,):
                raise SeedRefused(
                    "the users table does not exist: apply the migrations before seeding"
                )
            count_row = conn.execute('SELECT count(*) FROM "users"').fetchone()
            existing = int(cast(int, count_row[0])) if count_row else 0
            if existing:
                result = SeedResult("skipped", 0, existing, 0.0)
            else:
                hashed = {k: hash_password(passwords[k]) for k in {u.password_key for u in users}}
                with conn.cursor() as cur:
                    cur.executemany(
                        'INSERT INTO "users" ("id", "email", "firstName", "lastName", "password", '
                        '"role", "phone", "updatedAt") '
                        'VALUES (%s, %s, %s, %s, %s, %s::"UserRole", %s, CURRENT_TIMESTAMP)',
                        [
                            (
                                new_id(),
                                u.email,
                                u.first_name,
                                u.last_name,
                                hashed[u.password_key],
                                u.role,
                                u.phone,
                            )
                            for u in users
                        ],
                    )
                result = SeedResult("seeded", len(users), 0, 0.0)
    except psycopg.errors.LockNotAvailable:
        raise SeedLockTimeout(
            f"timed out after {lock_timeout_s:g}s waiting for the seed advisory lock "
            f"{SEED_LOCK_ID}: another seeder holds it"
        ) from None
    duration = (time.monotonic() - started) * 1000
    log.info(
        "seed %s: %d inserted, %d users already present, %.1f ms",
        result.outcome,
        result.inserted,
        result.existing,
        duration,
    )
    return SeedResult(result.outcome, result.inserted, result.existing, duration)


# --- command line -----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m lifecycle.seed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_database_args(root)
    root.add_argument("--seed-file", type=Path, default=DEFAULT_SEED_FILE)
    root.add_argument(
        "--passwords-stdin",
        action="store_true",
        help='read {"key": "plaintext", ...} from stdin (instead of the env)',
    )
    return root


def _passwords(args: argparse.Namespace, users: list[SeedUser]) -> dict[str, str]:
    passwords = passwords_from_env(users, os.environ)
    if args.passwords_stdin:
        try:
            data = json.loads(sys.stdin.read())
        except json.JSONDecodeError as exc:
            raise SeedError(f"--passwords-stdin: stdin is not JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not all(
            isinstance(v, str) for v in cast(dict[str, Any], data).values()
        ):
            raise SeedError('--passwords-stdin: expected {"key": "plaintext", ...}')
        passwords.update(cast(dict[str, str], data))
    return passwords


def execute(
    url: str, seed_file: Path, passwords: Mapping[str, str], *, lock_timeout_s: float = 60.0
) -> tuple[int, dict[str, Any], str]:
    """Seed once: (exit code, JSON summary, human text); shared by the CLI, the direct mode of
    the Pulumi provider and the ops container. Raises SeedError/ConnectionFailed on errors."""
    users = load_seed(seed_file)
    require_passwords(users, passwords)
    with db.connect(url, autocommit=True, application_name="escalafin-seed") as conn:
        result = seed(conn, users, passwords, lock_timeout_s)
    text = f"seed {result.outcome}: {result.inserted} inserted, {result.existing} existing"
    return cli.EXIT_OK, result.as_dict(), text


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    try:
        passwords = _passwords(args, load_seed(args.seed_file))
        code, summary, text = execute(
            cli.database_url(args), args.seed_file, passwords, lock_timeout_s=args.lock_timeout
        )
    except SeedError as exc:
        return cli.fail(args.json, exc.exit_code, str(exc))
    except db.DatabaseUrlError as exc:
        return cli.fail(args.json, cli.EXIT_USAGE, str(exc))
    except (db.ConnectionFailed, psycopg.OperationalError) as exc:
        return cli.fail(args.json, cli.EXIT_UNAVAILABLE, str(exc))
    cli.emit(args.json, summary, text)
    return code


if __name__ == "__main__":
    sys.exit(main())
