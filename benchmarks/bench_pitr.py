"""Point-in-time recovery vs the nightly logical dump, on the same ~1 GB database, same run.

    eval "$(../shared/lab/lab.sh env)"; venv/bin/python -m benchmarks.bench_pitr [--size-mb 1024]

Brings up the dev stack (e2e harness: the derived PostgreSQL image, the pgbackrest
server sidecar, the TLS front before the embedded store, the agent), fills it with
bench_backup's loan-like tables, then measures through the stack's own commands:

  pgBackRest full base backup (agent, through the sidecar, zstd, to the bucket):
      wall time, database size, size in the bucket
  logical dump (agent: `lifecycle.backup now`, pg_dump -Fc zstd, verified, uploaded):
      wall time, size
  WAL written after the base backup (an UPDATE over a share of the payments), then
  `restore --latest` (verify, safety backup, pgbackrest restore, replay, promote):
      total time, of which replay; replay rate = WAL bytes / replay seconds
  the logical dump restored (`lifecycle.restore <dump>`: verify, safety dump, restore)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any

import psycopg

from benchmarks.bench_backup import generate
from tests.e2e import checks, pitr_scenarios
from tests.e2e.conftest import Deployment, deployment
from tests.e2e.scenarios import backup_agent
from tests.support import docker_env
from tests.support.program import PROJECT_DIR

MIB = 2**20


def agent_json(d: Deployment, *args: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    code, out, err = checks.run_in(backup_agent(d), ["python", "-m", *args, "--json"])
    took = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed: {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), took


def restore(d: Deployment, *args: str) -> tuple[str, float]:
    started = time.monotonic()
    done = pitr_scenarios.restore(d, *args)
    if done.returncode != 0:
        raise SystemExit(f"restore {' '.join(args)} failed: {done.stderr[-3000:]}")
    return done.stderr, time.monotonic() - started


def step_seconds(log: str, marker: str) -> float:
    """Seconds a step took, from its own log line ("...: 12.3s", "in 12.3s", "after 12.3 s")."""
    for line in log.splitlines():
        found = re.search(r"([0-9.]+) ?s\s*$", line)
        if marker in line and found:
            return float(found.group(1))
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1024)
    args = parser.parse_args()
    stack = deployment(docker_env.client(), "dev", databaseMemoryMb="2048")
    d = next(stack)
    try:
        d.up()
        # The lab's stand-in store keeps objects in memory; the stack gives it 256 MB, which
        # a 1 GB database's base backup plus its dump outgrow (it is OOM-killed and empties).
        store = d.container("objectstore")
        store.update(mem_limit="6g", memswap_limit="6g")
        url = pitr_scenarios.dsn(d)
        t = time.monotonic()
        size = generate(url, args.size_mb)
        print(f"generated {size / MIB:.0f} MiB in {time.monotonic() - t:.0f}s", flush=True)

        base, base_s = agent_json(d, "lifecycle.archiving", "backup", "--type=full")
        status, _ = agent_json(d, "lifecycle.archiving", "status")
        full = next(b for b in status["base_backups"] if b["label"] == base["label"])
        dump, dump_s = agent_json(d, "lifecycle.backup", "now")
        print(f"base backup {base_s:.1f}s, logical dump {dump_s:.1f}s", flush=True)

        with psycopg.connect(url, autocommit=True) as conn:
            start = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
            conn.execute("UPDATE payment SET memo = memo || ' revisado' WHERE id % 4 = 0")
            row = conn.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s), now()",
                (start[0] if start else "0/0",),
            ).fetchone()
        assert row is not None
        wal_bytes = int(row[0])
        pitr_scenarios.wait_archived(d, since=row[1], timeout=900)
        pitr_log, pitr_s = restore(d, "--latest")
        replay_s = step_seconds(pitr_log, d.container("postgres").name + " healthy after")
        fetch_s = step_seconds(pitr_log, "pgbackrest restore --delta")
        verify_s = step_seconds(pitr_log, "pgbackrest verify")
        safety_s = step_seconds(pitr_log, "safety base backup")
        logical_log, logical_s = restore(d, str(dump["name"]))
        del logical_log
        store.reload()
        if store.attrs["RestartCount"]:
            raise SystemExit("the store restarted during the run: numbers are not valid")
    finally:
        stack.close()

    rows = [
        ("backup wall time (s)", f"{base_s:.1f}", f"{dump_s:.1f}"),
        (
            "backup size in the bucket (MiB)",
            f"{full['repo_size'] / MIB:.0f}",
            f"{dump['size'] / MIB:.0f}",
        ),
        ("restore wall time (s)", f"{pitr_s:.1f}", f"{logical_s:.1f}"),
        ("  of which verify (s)", f"{verify_s:.1f}", "-"),
        ("  of which safety backup (s)", f"{safety_s:.1f}", "-"),
        ("  of which pgbackrest restore (s)", f"{fetch_s:.1f}", "-"),
        ("  of which WAL replay + promote (s)", f"{replay_s:.1f}", "-"),
        ("restores to", "any second", "the dump's time"),
    ]
    print(
        f"\ndatabase {size / MIB:.0f} MiB ({full['size'] / MIB:.0f} MiB on disk); "
        f"WAL after the base backup {wal_bytes / MIB:.0f} MiB, replayed at "
        f"{wal_bytes / MIB / replay_s:.1f} MiB/s (includes startup and promotion)"
    )
    print(f"{'':36}{'pgBackRest (PITR)':>20}{'logical dump':>20}")
    for label, a, b in rows:
        print(f"{label:36}{a:>20}{b:>20}")
    print(f"(run from {PROJECT_DIR}; {sys.executable})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
