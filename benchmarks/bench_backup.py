"""Backup benchmark: our streaming, verified custom-format backup vs the seed's cron method.

    python benchmarks/bench_backup.py [--size-mb 1024]

Generates a database of about --size-mb (loan-like tables: text, numeric, jsonb,
timestamps) in a throwaway PostgreSQL 17, then measures side by side, in the same run:
  seed: `pg_dump > backup.sql` then `gzip backup.sql`; restore `gunzip -c | psql`
  ours: lifecycle.backup.dump_verified (pg_dump -Fc zstd streamed into the volume, fsync,
        read back through by pg_restore, atomic rename); restore lifecycle.restore
        (one transaction)
reporting wall time, peak extra disk (sampled every 50 ms), archive size, restore time,
and whether a plaintext dump ever touched the disk. Both sides use the same pg_dump 17
(borrowed from the postgres image, as in the lifecycle tests).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifecycle import backup, restore
from lifecycle.backup import BackupConfig
from tests.support import backup_env, docker_env, pg_tools, services

GENERATE = """
CREATE TABLE IF NOT EXISTS client (id bigserial PRIMARY KEY, name text, email text, rfc text,
  address text, created_at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS loan (id bigserial PRIMARY KEY, client_id bigint, amount numeric(14,2),
  rate numeric(6,4), terms jsonb, status text, notes text, created_at timestamptz);
CREATE TABLE IF NOT EXISTS payment (id bigserial PRIMARY KEY, loan_id bigint,
  paid numeric(14,2), paid_at timestamptz, method text, reference text, memo text);
"""
BATCH = """
INSERT INTO client (name, email, rfc, address)
SELECT 'Cliente ' || g || ' ' || md5(g::text), 'c' || g || '@example.mx',
       upper(substr(md5((g * 7)::text), 1, 13)),
       'Calle ' || (g % 999) || ' Col. Centro, Ciudad ' || (g % 97) || ', MX ' || md5((g * 3)::text)
FROM generate_series({s}, {s} + 49999) g;
INSERT INTO loan (client_id, amount, rate, terms, status, notes, created_at)
SELECT g, round((random() * 100000)::numeric, 2), 0.0425 + (g % 10) / 1000.0,
       jsonb_build_object('weeks', g % 52, 'grace', g % 3, 'tags', jsonb_build_array('a', g % 7)),
       (ARRAY['ACTIVE', 'PAID', 'LATE'])[g % 3 + 1], repeat('nota del asesor ', g % 8),
       now() - (g % 1000) * interval '1 day'
FROM generate_series({s}, {s} + 49999) g;
INSERT INTO payment (loan_id, paid, paid_at, method, reference, memo)
SELECT {s} + g % 50000, round((random() * 5000)::numeric, 2), now() - g * interval '1 minute',
       (ARRAY['SPEI', 'EFECTIVO', 'TARJETA'])[g % 3 + 1], md5(g::text || 'ref'),
       'pago semanal ' || (g % 52)
FROM generate_series(1, 250000) g;
"""


def generate(url: str, size_mb: int) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(GENERATE)
        start = 1
        while True:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            size = int(row[0]) if row else 0
            if size >= size_mb * 1024 * 1024:
                return size
            conn.execute(sql.SQL(BATCH.replace("{s}", str(start))))  # type: ignore[arg-type]
            start += 50000


class DiskPeak:
    """Peak bytes in a directory, sampled in the background."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.peak, self._stop = directory, 0, threading.Event()
        self.plaintext_seen = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            total = 0
            for p in self.directory.iterdir():
                try:
                    total += p.stat().st_size
                except FileNotFoundError:
                    continue
                self.plaintext_seen |= p.suffix == ".sql"
            self.peak = max(self.peak, total)

    def __enter__(self) -> DiskPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn: Callable[[], object]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def fresh_db(server: services.Postgres) -> str:
    return backup_env.new_database(server)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1024)
    args = parser.parse_args()
    client = docker_env.client()
    with services.postgres(client) as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pg_bin = pg_tools.wrapper_dir(work / "bin", client)
        url = fresh_db(server)
        t = time.monotonic()
        size = generate(url, args.size_mb)
        print(f"generated {size / 2**20:.0f} MiB in {time.monotonic() - t:.0f}s", flush=True)
        env = backup.pg_env(url)

        seed_dir = work / "seed"
        seed_dir.mkdir()
        plain = seed_dir / "backup.sql"

        def seed_backup() -> None:
            with plain.open("wb") as out:
                subprocess.run([str(pg_bin / "pg_dump")], stdout=out, env=env, check=True)
            subprocess.run(["gzip", str(plain)], check=True)

        with DiskPeak(seed_dir) as seed_disk:
            seed_time = timed(seed_backup)
        seed_archive = seed_dir / "backup.sql.gz"
        print(f"seed backup {seed_time:.1f}s", flush=True)

        ours_dir = work / "ours"
        ours_dir.mkdir()
        config = BackupConfig(database_url=url, backup_dir=ours_dir, pg_bin_dir=pg_bin)
        result: list[Path] = []
        with DiskPeak(ours_dir) as ours_disk:
            ours_time = timed(lambda: result.append(backup.dump_verified(config)[0]))
        ours_archive = result[0]
        print(f"ours backup {ours_time:.1f}s", flush=True)

        seed_target = fresh_db(server)

        def seed_restore() -> None:
            gunzip = subprocess.Popen(["gunzip", "-c", str(seed_archive)], stdout=subprocess.PIPE)
            subprocess.run(
                [str(pg_bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"],
                stdin=gunzip.stdout,
                stdout=subprocess.DEVNULL,
                env=backup.pg_env(seed_target),
                check=True,
            )
            gunzip.wait()

        seed_restore_time = timed(seed_restore)
        ours_target = fresh_db(server)
        ours_restore_time = timed(
            lambda: restore.replace_database(
                BackupConfig(database_url=ours_target, backup_dir=ours_dir, pg_bin_dir=pg_bin),
                ours_archive,
            )
        )
        same = backup_env.fingerprint(ours_target) == backup_env.fingerprint(url)
        seed_size, ours_size = seed_archive.stat().st_size, ours_archive.stat().st_size

    mib = 2**20
    rows = [
        (
            "backup wall time (s)",
            f"{seed_time:.1f}",
            f"{ours_time:.1f}",
            f"{seed_time / ours_time:.2f}x faster",
        ),
        ("peak extra disk (MiB)", f"{seed_disk.peak / mib:.0f}", f"{ours_disk.peak / mib:.0f}", ""),
        ("archive size (MiB)", f"{seed_size / mib:.0f}", f"{ours_size / mib:.0f}", ""),
        (
            "restore time (s)",
            f"{seed_restore_time:.1f}",
            f"{ours_restore_time:.1f}",
            f"{seed_restore_time / ours_restore_time:.2f}x",
        ),
        (
            "end to end (s)",
            f"{seed_time + seed_restore_time:.1f}",
            f"{ours_time + ours_restore_time:.1f}",
            f"{(seed_time + seed_restore_time) / (ours_time + ours_restore_time):.2f}x faster",
        ),
        (
            "plaintext dump on disk",
            str(seed_disk.plaintext_seen),
            str(ours_disk.plaintext_seen),
            "",
        ),
        ("verified before it counts", "no", "yes (full read)", ""),
    ]
    print(
        f"\ndatabase {size / mib:.0f} MiB, {os.cpu_count()} cores; restored copy identical: {same}"
    )
    print(f"{'':28}{'seed (pg_dump>file; gzip)':>28}{'ours (-Fc zstd, verified)':>28}")
    for label, a, b, note in rows:
        print(f"{label:28}{a:>28}{b:>28}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
