"""Continuous archiving on a realised stack: PITR, the RPO when the host is lost, faults.

The writer commits through the dev stack's loopback admin port; restores run the real
command line (`python -m lifecycle.restore ... restore --to-time/--latest`) against the
stack's containers, as an operator would. Each scenario starts from what `prepare` left
(the table, a first full base backup), so each test of test_pitr.py passes alone.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from tests.e2e import checks
from tests.e2e.conftest import Deployment
from tests.e2e.harness import DeploymentError, label
from tests.e2e.scenarios import (
    app_flags,
    app_replicas,
    backup_agent,
    every_replica_restarted,
    running_replicas,
    wait_health,
)
from tests.support.program import PROJECT_DIR

TABLE = "pitr_e2e"


def dsn(d: Deployment) -> str:
    password = d.secrets.get("escalafin:databasePassword") or generated(d, "databasePassword")
    port = d.overrides["escalafin:databaseAdminPort"]
    return f"postgresql://escalafin:{password}@127.0.0.1:{port}/escalafin"


def archiving(d: Deployment, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = checks.run_in(
        backup_agent(d), ["python", "-m", "lifecycle.archiving", *args, "--json"]
    )
    lines = out.strip().splitlines()
    assert lines, err[-2000:]
    return code, json.loads(lines[-1])


def wait_archived(d: Deployment, *, since: datetime, timeout: float = 120) -> dict[str, Any]:
    """Until the bucket holds everything written before `since` (lag 0, caught up)."""
    deadline = time.monotonic() + timeout
    while True:
        _, status = archiving(d, "status")
        latest = status.get("latest_restorable")
        if latest and status.get("base_backups") and datetime.fromisoformat(latest) >= since:
            return status
        assert time.monotonic() < deadline, f"not archived within {timeout}s: {status}"
        time.sleep(2)


def restore_cli(
    d: Deployment, *args: str, app_flags: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """The operator's command; without `app_flags` the app keeps running."""
    return subprocess.run(
        [
            sys.executable, "-m", "lifecycle.restore",
            "--agent-container", backup_agent(d).name,
            "--database-container", d.container("postgres").name,
            *app_flags, "--yes", "--json", *args,
        ],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip


def restore(d: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    """A restore that succeeds, having stopped and started every app replica."""
    with every_replica_restarted(d) as app_flags:
        done = restore_cli(d, "restore", *args, app_flags=app_flags)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def result_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows(d: Deployment) -> list[int]:
    out = checks.psql(d.container("postgres"), f"SELECT n FROM {TABLE} ORDER BY n")
    return [int(x) for x in out.split()] if out else []


def mark(d: Deployment, n: int) -> datetime:
    """Insert row n; returns its commit time (the server's clock)."""
    out = checks.psql(
        d.container("postgres"), f"INSERT INTO {TABLE}(n) VALUES ({n}) RETURNING clock_timestamp()"
    )
    return datetime.fromisoformat(out.splitlines()[0])


ARCHIVING_CONTAINERS = ("objectstore", "store-tls", "pgbackrest-server", "backup-agent")


def default_archiving_healthy(d: Deployment) -> None:
    """The stack as configured by default archives: the store, its TLS front, the backup
    server sidecar and the agent healthy, and the agent's first full backup in the
    bucket (taken at once: the repository had none)."""
    assert not checks.all_healthy([d.container(n) for n in ARCHIVING_CONTAINERS])
    status = wait_archived(d, since=datetime.now(UTC))
    assert [b["type"] for b in status["base_backups"]][:1] == ["full"], status


def prepare(d: Deployment) -> None:
    """The module's starting point: the test table, and the agent's first full backup,
    taken at once because the repository had none."""
    checks.psql(
        d.container("postgres"),
        f"CREATE TABLE IF NOT EXISTS {TABLE} (n int PRIMARY KEY, at timestamptz DEFAULT now())",
    )
    wait_archived(d, since=datetime.now(UTC))


def first_base_backup(d: Deployment) -> None:
    """The default archiving: a full backup at once, the agent healthy, and `restore list`
    shows the recovery window at a glance."""
    _, status = archiving(d, "status")
    assert [b["type"] for b in status["base_backups"]][:1] == ["full"], status
    code, out = healthcheck(d)
    assert code == 0 and "archiving: lag" in out, out
    done = restore_cli(d, "list")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    window = result_of(done)["pitr"]
    assert window["base_backups"] and window["earliest_restorable"], window
    assert window["latest_restorable"] and window["archiving_lag_seconds"] is not None, window


def generated(d: Deployment, key: str) -> str:
    return str(d.harness.outputs(f"RandomPassword/{key}")["result"])


def point_in_time_across_a_rotation(d: Deployment) -> None:
    """Rows at t1 < t2, then the database password rotated (`config set --secret` +
    `up`), then a row at t3. A restore to a time between t2 and the rotation gives
    exactly rows 1 and 2, and brings back the role password of that time; the configured
    password wins again (PostgreSQL's credential healthcheck) and the app, which only
    knows the new one, connects. (The bucket keys stay: the lab's stand-in store keeps
    objects in memory, so replacing it would empty the bucket.)"""
    pg = d.container("postgres")
    checks.psql(pg, f"TRUNCATE {TABLE}")
    mark(d, 1)
    time.sleep(1)
    t2 = mark(d, 2)
    time.sleep(1)
    target = t2 + timedelta(seconds=0.5)  # before the rotation: the old password's time
    d.configure_secret(databasePassword=f"db-{secrets.token_hex(12)}")
    rotated = d.up()
    assert "Container/postgres" in rotated.replaced, rotated
    t3 = mark(d, 3)
    wait_archived(d, since=t3 + timedelta(seconds=1))
    done = restore(d, "--to-time", target.isoformat())
    assert rows(d) == [1, 2]
    assert result_of(done)["safety"]["kind"] == "base-backup"
    with psycopg.connect(dsn(d), connect_timeout=5) as conn:  # the configured password
        conn.execute("SELECT 1")
    status, body = wait_health(d.app_port)
    assert status == 200 and body["status"] == "healthy", body


@dataclass
class Writer:
    """Commits a timestamped row every 100 ms; remembers what PostgreSQL acknowledged."""

    url: str
    acked: list[tuple[int, datetime]] = field(default_factory=list[tuple[int, datetime]])
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 1000
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            while not self.stop.is_set():
                n += 1
                try:
                    row = conn.execute(
                        f"INSERT INTO {TABLE}(n) VALUES (%s) RETURNING clock_timestamp()", (n,)
                    ).fetchone()
                except psycopg.Error:
                    return  # the server is gone: the host was lost
                assert row is not None
                self.acked.append((n, row[0]))
                time.sleep(0.1)


@contextmanager
def writing(url: str) -> Iterator[Writer]:
    writer = Writer(url)
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    try:
        yield writer
    finally:
        writer.stop.set()
        thread.join(timeout=10)


def outage_then_host_lost(d: Deployment) -> float:
    """A writer commits a timestamped row every 100 ms throughout. The bucket goes down
    (PostgreSQL keeps committing, the agent turns unhealthy) and comes back (archiving
    catches up, healthy again, no WAL missing). Then, at T, the host is lost: every
    container and volume of the stack but the bucket's store. The disaster-recovery
    procedure (docs/operations.md §6) follows: refresh, up (a fresh, empty cluster),
    `restore --latest` from the bucket alone, up again. Every row acknowledged up to the
    last restored one is back — those written while the bucket was down included — and
    T minus that row's commit is the measured RPO."""
    front = d.container("store-tls")
    with writing(dsn(d)) as writer:
        time.sleep(5)
        front.stop(timeout=1)
        try:
            down = wait_health_text(d, "archiving", healthy=False, timeout=180)
        finally:
            front.start()
        wait_health_text(d, "archiving: lag", healthy=True, timeout=180)
        _, status = archiving(d, "status")
        assert status["wal_gaps"] == [], status
        time.sleep(20)  # steady archiving under load again: archive_timeout cycles
        lost_at = datetime.now(UTC)
        lose_the_host(d)
        acked = list(writer.acked)
    print(f"\nbucket down: the agent said {down.strip()!r}", flush=True)
    assert len(acked) > 200, len(acked)
    gone = d.refresh().gone
    assert {"Container/postgres", "Volume/postgres-data"} <= set(gone), gone
    try:
        result = d.up()
        assert "Volume/postgres-data" in result.created, result
    except DeploymentError as exc:
        # The agent's gate may see its first check, which refuses the bucket: it holds
        # the lost cluster, which the restore brings back.
        assert "holds another cluster" in str(exc), exc
    # Whether that up reached the app depends on which gate the engine met first: the
    # restore stops and starts the replicas that exist (none when it did not).
    done = restore_cli(d, "restore", "--latest", app_flags=app_flags(running_replicas(d)))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert result_of(done)["safety"]["kind"] == "logical-dump"  # disaster recovery path
    restored = set(rows(d))
    acked_ids = [n for n, _ in acked]
    assert restored, "nothing restored"
    last = max(n for n in acked_ids if n in restored)
    # Every acknowledged row up to the last one restored is there: no hole, the outage
    # included.
    assert [n for n in acked_ids if n <= last and n not in restored] == []
    last_at = dict(acked)[last]
    rpo = (lost_at - last_at).total_seconds()
    print(f"measured RPO: {rpo:.1f}s ({len(acked)} rows acknowledged, "
          f"{sum(n in restored for n in acked_ids)} restored)", flush=True)  # fmt: skip
    wait_health_text(d, "archiving: lag", healthy=True, timeout=120)
    d.up()  # converges: every gate passes, the agent's too
    app_replicas(d)  # every replica back behind the ingress
    status, body = wait_health(d.app_port)
    assert status == 200, body
    return rpo


def lose_the_host(d: Deployment) -> None:
    """Every container and volume of the stack goes, but the store: it stands for the
    bucket (in prod, AWS S3 outlives the host)."""
    kept = {"Container/objectstore", "Volume/objectstore-data"}
    client = d.harness.client
    found = [(label(r.resource), r.outputs["id"]) for r in d.harness.state.values()]
    for name, rid in found:
        if name.startswith("Container/") and name not in kept:
            client.containers.get(rid).remove(force=True)
    for name, rid in found:
        if name.startswith("Volume/") and name not in kept:
            client.volumes.get(rid).remove(force=True)


def idle(d: Deployment, timeout: float = 180) -> dict[str, Any]:
    """Until the agent runs no backup and wants none (e.g. the full one it takes on the
    new timeline after a restore)."""
    deadline = time.monotonic() + timeout
    while True:
        _, status = archiving(d, "status")
        code, out, _ = checks.run_in(backup_agent(d), ["pgbackrest", "info", "--output=json"])
        held = code == 0 and json.loads(out)[0]["status"]["lock"]["backup"]["held"]
        if not held and not status.get("new_timeline") and status.get("base_backups"):
            return status
        assert time.monotonic() < deadline, f"the agent stays busy: {status}"
        time.sleep(2)


def agent_killed_mid_backup(d: Deployment) -> None:
    """Kill the agent during a full backup: the broken one is never listed or offered;
    the next backup succeeds."""
    agent = backup_agent(d)
    before = idle(d)
    labels_before = [b["label"] for b in before["base_backups"]]
    agent.exec_run(["python", "-m", "lifecycle.archiving", "backup", "--type=full"], detach=True)
    deadline = time.monotonic() + 60
    while True:
        code, out, _ = checks.run_in(agent, ["pgbackrest", "info", "--output=json"])
        if code == 0 and json.loads(out)[0]["status"]["lock"]["backup"]["held"]:
            break
        assert time.monotonic() < deadline, "the backup never started"
        time.sleep(0.2)
    agent.kill()
    agent.start()
    _, after = archiving(d, "status")
    assert [b["label"] for b in after["base_backups"]] == labels_before, after
    code, done = archiving(d, "backup", "--type=full")
    assert code == 0, done
    _, final = archiving(d, "status")
    assert [b["label"] for b in final["base_backups"]] == [*labels_before, done["label"]]


# Runs inside the agent (its S3_* / AWS_* environment names the bucket and the store,
# which publishes no port): `damage` zeroes one archived WAL segment from the middle of
# the archive, keeping the original in the container's /tmp; `repair` puts it back.
S3_WAL = """
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
                  region_name=os.environ.get("S3_REGION"))
bucket, saved = os.environ["S3_BUCKET"], "/tmp/pitr-e2e-victim"
if sys.argv[1] == "damage":
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="pgbackrest/archive/")
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    wal = sorted(k for k in keys if k.endswith(".zst") and "-" in k.rsplit("/", 1)[-1])
    victim = wal[len(wal) // 2]
    body = s3.get_object(Bucket=bucket, Key=victim)["Body"].read()
    open(saved, "wb").write(body)
    open(saved + ".key", "w").write(victim)
    s3.put_object(Bucket=bucket, Key=victim, Body=bytes(len(body)))
    print(victim)
else:
    victim = open(saved + ".key").read()
    s3.put_object(Bucket=bucket, Key=victim, Body=open(saved, "rb").read())
"""


def corrupted_wal(d: Deployment) -> None:
    """Damage one archived WAL segment in the bucket: verification names it and the
    restore refuses, leaving the database and the app as they were."""
    agent = backup_agent(d)
    code, _, err = checks.run_in(agent, ["python", "-c", S3_WAL, "damage"])
    assert code == 0, err[-2000:]
    before = rows(d)
    try:
        done = restore_cli(d, "restore", "--latest")
        assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-3000:]
        error = result_of(done)["error"]
        assert "pgbackrest verify found damage" in error, error
        assert rows(d) == before
        assert d.container("app").status == "running"
    finally:
        code, _, err = checks.run_in(agent, ["python", "-c", S3_WAL, "repair"])
        assert code == 0, err[-2000:]


def healthcheck(d: Deployment) -> tuple[int, str]:
    code, out, _ = checks.run_in(
        backup_agent(d), ["python", "-m", "lifecycle.backup_agent", "healthcheck"]
    )
    return code, out


def wait_health_text(d: Deployment, wanted: str, *, healthy: bool, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        code, out = healthcheck(d)
        if (code == 0) == healthy and wanted in out:
            return out
        assert time.monotonic() < deadline, f"agent health never showed {wanted!r}: {out}"
        time.sleep(3)


def queue_overflow(d: Deployment, queue_max_mb: int) -> None:
    """The bucket down while far more WAL than `pitrArchiveQueueMaxMb` is written: the
    queue is dropped instead of filling the disk, PostgreSQL keeps committing, the agent
    reports the hole, takes a full backup once the bucket is back, and is healthy again."""
    pg = d.container("postgres")
    _, before = archiving(d, "status")
    fulls_before = [b["label"] for b in before["base_backups"] if b["type"] == "full"]
    archived = "SELECT archived_count FROM pg_stat_archiver"
    d.container("store-tls").stop(timeout=1)
    try:
        checks.psql(pg, "CREATE TABLE IF NOT EXISTS pitr_bulk (n int, filler text)")
        dropped_from = int(checks.psql(pg, archived))
        deadline = time.monotonic() + 300
        while int(checks.psql(pg, archived)) == dropped_from:
            # ~half the queue limit of WAL per round, committed while the bucket is down
            checks.psql(
                pg,
                "INSERT INTO pitr_bulk SELECT g, repeat(md5(g::text), 15) "
                f"FROM generate_series(1, {queue_max_mb * 60}) g; SELECT pg_switch_wal()",
            )
            assert time.monotonic() < deadline, "the queue was never dropped"
            time.sleep(5)
        # PostgreSQL was told "archived" while the bucket was down: the queue was dropped,
        # so pg_wal holds no more than the limit waiting for the bucket.
        ready = checks.psql(
            pg, "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"
        )
        assert int(ready) * 16 <= queue_max_mb + 32, ready
    finally:
        d.container("store-tls").start()
    mark(d, max(rows(d) or [0]) + 1)  # PostgreSQL kept running throughout
    wait_health_text(d, "WAL missing", healthy=False, timeout=240)
    wait_health_text(d, "archiving: lag", healthy=True, timeout=300)
    _, after = archiving(d, "status")
    fulls_after = [b["label"] for b in after["base_backups"] if b["type"] == "full"]
    assert len(fulls_after) > len(fulls_before), after  # the full backup that closed the hole
    assert after["wal_gaps"] == []
