"""Continuous archiving on a realised stack: PITR, the RPO when the host is lost, faults.

The writer commits through the dev stack's loopback admin port; restores run the real
command line (`python -m lifecycle.restore ... restore --to-time/--latest`) against the
stack's containers, as an operator would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import psycopg

from tests.e2e import checks
from tests.e2e.conftest import Deployment
from tests.e2e.scenarios import backup_agent, wait_health
from tests.support.program import PROJECT_DIR

TABLE = "pitr_e2e"


def dsn(d: Deployment) -> str:
    password = d.harness.outputs("RandomPassword/databasePassword")["result"]
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


def restore(d: Deployment, *args: str, app: bool = True) -> subprocess.CompletedProcess[str]:
    """The operator's command; `app=False` leaves the app running (saves its restart)."""
    with_app = ["--app-container", d.container("app").name] if app else []
    return subprocess.run(
        [
            sys.executable, "-m", "lifecycle.restore",
            "--agent-container", backup_agent(d).name,
            "--database-container", d.container("postgres").name,
            *with_app, "--yes", "--json", "restore", *args,
        ],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip


def rows(d: Deployment) -> list[int]:
    out = checks.psql(d.container("postgres"), f"SELECT n FROM {TABLE} ORDER BY n")
    return [int(x) for x in out.split()] if out else []


def mark(d: Deployment, n: int) -> datetime:
    """Insert row n; returns its commit time (the server's clock)."""
    out = checks.psql(
        d.container("postgres"), f"INSERT INTO {TABLE}(n) VALUES ({n}) RETURNING clock_timestamp()"
    )
    return datetime.fromisoformat(out.splitlines()[0])


def first_base_backup(d: Deployment) -> None:
    """The agent takes a full backup at once when the repository has none."""
    result = d.up()
    assert not [s for s in result.skipped if not s.startswith("Bucket")], result.skipped
    checks.psql(
        d.container("postgres"),
        f"CREATE TABLE IF NOT EXISTS {TABLE} (n int PRIMARY KEY, at timestamptz DEFAULT now())",
    )
    status = wait_archived(d, since=datetime.now(UTC))
    assert [b["type"] for b in status["base_backups"]] == ["full"], status
    code, out, _ = checks.run_in(
        backup_agent(d), ["python", "-m", "lifecycle.backup_agent", "healthcheck"]
    )
    assert code == 0 and "archiving: lag" in out, out


def point_in_time(d: Deployment) -> None:
    """Rows at t1 < t2 < t3; a restore to a time between t2 and t3 gives exactly 1 and 2."""
    checks.psql(d.container("postgres"), f"TRUNCATE {TABLE}")
    mark(d, 1)
    time.sleep(1)
    t2 = mark(d, 2)
    time.sleep(2)
    t3 = mark(d, 3)
    wait_archived(d, since=t3 + timedelta(seconds=1))
    target = t2 + (t3 - t2) / 2
    done = restore(d, "--to-time", target.isoformat())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert rows(d) == [1, 2]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["safety"]["kind"] == "base-backup", result
    status, body = wait_health(d.app_port)
    assert status == 200, body


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


def host_lost_rpo(d: Deployment) -> float:
    """Destroy PostgreSQL, its sidecar and its data volume at T while a writer commits
    every 100 ms; bring up a fresh database; restore from the bucket alone; measure."""
    client = d.harness.client
    with writing(dsn(d)) as writer:
        time.sleep(40)  # several archive_timeout cycles under load
        lost_at = datetime.now(UTC)
        for name in ("postgres", "pgbackrest-server"):
            d.container(name).remove(force=True)
        acked = list(writer.acked)
    for volume in ("Volume/postgres-data", "Volume/postgres-socket"):
        client.volumes.get(d.harness.outputs(volume)["id"]).remove(force=True)
    assert len(acked) > 100, len(acked)
    result = d.up()  # the new host: a fresh, empty cluster
    assert "Volume/postgres-data" in result.created, result
    done = restore(d, "--latest")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["safety"]["kind"] == "logical-dump", outcome  # disaster recovery path
    restored = set(rows(d))
    acked_ids = [n for n, _ in acked]
    assert restored, "nothing restored"
    last = max(n for n in acked_ids if n in restored)
    # Every acknowledged row up to the last one restored is there: no hole.
    assert [n for n in acked_ids if n <= last and n not in restored] == []
    last_at = dict(acked)[last]
    rpo = (lost_at - last_at).total_seconds()
    print(f"\nmeasured RPO: {rpo:.1f}s ({len(acked)} rows acknowledged, "
          f"{sum(n in restored for n in acked_ids)} restored)", flush=True)  # fmt: skip
    status, body = wait_health(d.app_port)
    assert status == 200, body
    return rpo


def bucket_outage(d: Deployment, rpo_s: int) -> None:
    """The bucket unreachable for longer than the RPO: PostgreSQL keeps committing, the
    agent turns unhealthy; back up, archiving catches up and nothing is lost."""
    front = d.container("store-tls")
    agent = backup_agent(d)
    base = max(rows(d) or [0]) + 1
    front.stop(timeout=1)
    try:
        deadline = time.monotonic() + rpo_s + 90
        n = base
        while True:
            mark(d, n)  # PostgreSQL keeps running and committing
            n += 1
            code, out, _ = checks.run_in(
                agent, ["python", "-m", "lifecycle.backup_agent", "healthcheck"]
            )
            if code != 0:
                break
            assert time.monotonic() < deadline, f"still healthy with the bucket down: {out}"
            time.sleep(3)
        assert "archiving" in out, out
    finally:
        front.start()
    last = mark(d, n)
    wait_archived(d, since=last + timedelta(seconds=1), timeout=180)
    _, status = archiving(d, "status")
    assert status["wal_gaps"] == [] and status["healthy"], status
    done = restore(d, "--latest", app=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert set(range(base, n + 1)) <= set(rows(d))


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


def corrupted_wal(d: Deployment) -> None:
    """Damage one archived WAL segment in the bucket: verification names it and the
    restore refuses, leaving the database and the app as they were."""
    keys = d.harness.outputs
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{d.overrides['escalafin:backupStorePort']}",
        region_name="us-east-1",
        aws_access_key_id=keys("RandomPassword/storeAccessKey")["result"],
        aws_secret_access_key=keys("RandomPassword/storeSecretKey")["result"],
    )
    bucket = f"{d.prefix}-backups"
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="pgbackrest/archive/")
    keys = [o.get("Key", "") for o in listing.get("Contents", [])]
    wal = sorted(k for k in keys if k.endswith(".zst") and "-" in k.rsplit("/", 1)[-1])
    victim = wal[len(wal) // 2]
    original = s3.get_object(Bucket=bucket, Key=victim)["Body"].read()
    s3.put_object(Bucket=bucket, Key=victim, Body=b"\x00" * len(original))
    before = rows(d)
    try:
        done = restore(d, "--latest", app=False)
        assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-3000:]
        error = json.loads(done.stdout.strip().splitlines()[-1])["error"]
        assert "pgbackrest verify found damage" in error, error
        assert rows(d) == before
        assert d.container("app").status == "running"
    finally:
        s3.put_object(Bucket=bucket, Key=victim, Body=original)


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
