"""Migration runner speed vs the floor, side by side, measured in the same run.

    python benchmarks/bench_migrations.py [--count 300] [--database-url URL]

Without --database-url a throwaway PostgreSQL 17 container is started (tests/support).
floor  = the same N scripts sent straight to the server, one simple query each, one session
runner = lifecycle.migrations.deploy on a fresh database (connect + lock + bookkeeping)
no-op  = a second deploy of the same folder (connect included)
Target: runner within 1.5x of the floor; no-op under 100 ms.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifecycle import db, migrations
from lifecycle.migration_plan import discover


def generate(folder: Path, count: int) -> None:
    for i in range(count):
        target = folder / f"{20240101000000 + i}_m{i}"
        target.mkdir(parents=True)
        (target / "migration.sql").write_text(
            f'CREATE TABLE "t{i}" ("id" TEXT PRIMARY KEY, "n" INTEGER NOT NULL DEFAULT 0);\n'
            f'CREATE INDEX "t{i}_n" ON "t{i}" ("n");\n'
            f"INSERT INTO \"t{i}\" (\"id\") VALUES ('a'), ('b');\n"
        )


@contextmanager
def database(admin_url: str) -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with db.connect(admin_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with db.connect(admin_url) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)'.encode())


@contextmanager
def server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.support import docker_env, services  # noqa: PLC0415

    with services.postgres(docker_env.client()) as pg:
        yield pg.url


def floor(url: str, folder: Path) -> float:
    scripts = [m.script for m in discover(folder)]
    started = time.perf_counter()
    with db.connect(url) as conn:
        cur = conn.cursor()
        for script in scripts:
            cur.execute(script)
    return time.perf_counter() - started


def runner(url: str, folder: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with db.connect(url) as conn:
        result = migrations.deploy(conn, discover(folder))
    return time.perf_counter() - started, len(result.applied)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import logging  # noqa: PLC0415

    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp, server(args.database_url) as admin_url:
        folder = Path(tmp)
        generate(folder, args.count)
        floors, runs, noops = [], [], []
        for _ in range(args.rounds):
            with database(admin_url) as url:
                floors.append(floor(url, folder))
            with database(admin_url) as url:
                seconds, applied = runner(url, folder)
                assert applied == args.count
                runs.append(seconds)
                noops.append(min(runner(url, folder)[0] for _ in range(5)))
        best_floor, best_run, best_noop = min(floors), min(runs), min(noops)
        print(f"{args.count} migrations, best of {args.rounds} rounds")
        print(f"{'floor (same SQL, one session)':<34}{best_floor * 1000:>10.0f} ms")
        print(
            f"{'runner deploy (with bookkeeping)':<34}{best_run * 1000:>10.0f} ms"
            f"   ratio {best_run / best_floor:.2f}x (target <= 1.5x)"
        )
        print(
            f"{'no-op deploy (connect included)':<34}{best_noop * 1000:>10.1f} ms"
            "   (target < 100 ms)"
        )


if __name__ == "__main__":
    main()
