"""Backups against a real PostgreSQL 17 and a real S3 API: verified, atomic, off-site,
and a failure leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest

from lifecycle import agent_state, backup, cli, retention
from lifecycle.backup import BackupConfig, BackupError
from lifecycle.object_store import StoreSettings
from tests.support import backup_env, services
from tests.support.backup_env import S3

pytestmark = pytest.mark.lifecycle


# Backups take names and ages from the config's clock: tests fix it instead of sleeping or
# hoping two runs land in different seconds (issue 15).
FIXED_NOW = datetime(2026, 11, 28, 5, 10, 18, tzinfo=UTC)


def config_for(
    url: str,
    directory: Path,
    pg_bin: Path,
    s3: S3 | None,
    bucket: str | None,
    *,
    clock: Callable[[], datetime] = lambda: FIXED_NOW,
    **kw: int,
) -> BackupConfig:
    store = (
        StoreSettings(bucket=bucket, endpoint_url=s3.endpoint, region="us-east-1")
        if s3 is not None and bucket
        else None
    )
    return BackupConfig(
        database_url=url,
        backup_dir=directory,
        store=store,
        pg_bin_dir=pg_bin,
        retention_days=kw.get("retention_days", 7),
        keep_min=kw.get("keep_min", 3),
        clock=clock,
    )


def visible(directory: Path) -> list[str]:
    """What is in the backups directory apart from the lock and state files."""
    return sorted(
        p.name
        for p in directory.iterdir()
        if p.name not in (backup.LOCK_FILE, agent_state.STATE_FILE)
    )


def objects(s3: S3, bucket: str) -> dict[str, int]:
    listing = s3.client().list_objects_v2(Bucket=bucket)
    return {o.get("Key", ""): o.get("Size", 0) for o in listing.get("Contents", [])}


@pytest.mark.usefixtures("s3_creds")
def test_backup_is_verified_atomic_and_off_site(
    pg_module: services.Postgres, pg_bin: Path, s3: S3, tmp_path: Path
) -> None:
    url = backup_env.new_database(pg_module)
    backup_env.populate(url)
    bucket = s3.new_bucket()

    result = backup.run(config_for(url, tmp_path, pg_bin, s3, bucket))

    archive = tmp_path / result.name
    assert visible(tmp_path) == [result.name, result.name + ".sha256"]
    assert retention.parse_name(result.name) is not None
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert digest == result.sha256 == backup.read_sidecar(archive)
    assert archive.read_bytes()[:5] == b"PGDMP"  # custom format, not a plaintext script
    assert result.tables == 3
    assert backup.verify_archive(archive, pg_bin, digest) == 3
    # Off-site: same bytes, full-file checksum recorded on the object.
    assert objects(s3, bucket) == {result.name: archive.stat().st_size}
    head = s3.client().head_object(Bucket=bucket, Key=result.name)
    assert head["Metadata"]["sha256"] == digest
    body = s3.client().get_object(Bucket=bucket, Key=result.name)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == digest
    state = agent_state.read_state(tmp_path)
    assert state.last_success == result.name and state.last_failure is None


@pytest.mark.usefixtures("s3_creds")
def test_wrong_password_reports_failure_and_writes_nothing(
    pg_module: services.Postgres, pg_bin: Path, s3: S3, tmp_path: Path
) -> None:
    url = backup_env.new_database(pg_module)
    backup_env.populate(url, users=10)
    bucket = s3.new_bucket()
    good = backup.run(config_for(url, tmp_path, pg_bin, s3, bucket))
    before_files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.endswith("dump")}

    bad_url = url.replace(f":{pg_module.password}@", ":not-the-password@")
    with pytest.raises(BackupError) as failure:
        backup.run(config_for(bad_url, tmp_path, pg_bin, s3, bucket))

    assert failure.value.exit_code == cli.EXIT_UNAVAILABLE
    assert "password authentication failed" in str(failure.value)
    assert pg_module.password not in str(failure.value)
    assert visible(tmp_path) == [good.name, good.name + ".sha256"]
    assert {
        p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.endswith("dump")
    } == before_files
    assert list(objects(s3, bucket)) == [good.name]
    state = agent_state.read_state(tmp_path)
    assert state.last_success == good.name and state.last_failure is not None


@pytest.mark.usefixtures("s3_creds")
def test_server_down_reports_failure_and_writes_nothing(
    docker_client: docker.DockerClient, pg_bin: Path, s3: S3, tmp_path: Path
) -> None:
    bucket = s3.new_bucket()
    with services.postgres(docker_client) as server:
        url = backup_env.new_database(server)
        backup_env.populate(url, users=5)
        server.container.stop(timeout=5)
        with pytest.raises(BackupError) as failure:
            backup.run(config_for(url, tmp_path, pg_bin, s3, bucket))
    assert failure.value.exit_code == cli.EXIT_UNAVAILABLE
    assert "pg_dump failed" in str(failure.value)
    assert visible(tmp_path) == []
    assert objects(s3, bucket) == {}


@pytest.mark.usefixtures("s3_creds")
def test_failed_upload_fails_the_run_and_leaves_no_object(
    pg_module: services.Postgres, pg_bin: Path, s3: S3, tmp_path: Path
) -> None:
    url = backup_env.new_database(pg_module)
    backup_env.populate(url, users=5)
    with pytest.raises(BackupError) as failure:
        backup.run(config_for(url, tmp_path, pg_bin, s3, "escalafin-no-such-bucket"))
    assert failure.value.exit_code == backup.EXIT_OFFSITE
    assert "NoSuchBucket" in str(failure.value)
    # The local archive is complete and verified, so it is kept (and says so).
    [kept] = [n for n in visible(tmp_path) if n.endswith(".dump")]
    assert kept in str(failure.value)
    assert backup.verify_archive(tmp_path / kept, pg_bin, backup.read_sidecar(tmp_path / kept)) == 3
    assert agent_state.read_state(tmp_path).last_success is None


@pytest.mark.usefixtures("s3_creds")
def test_retention_prunes_old_backups_in_both_places_but_keeps_the_floor(
    pg_module: services.Postgres, pg_bin: Path, s3: S3, tmp_path: Path
) -> None:
    url = backup_env.new_database(pg_module)
    backup_env.populate(url, users=5)
    bucket = s3.new_bucket()
    now = FIXED_NOW
    ages = [timedelta(days=d) for d in (1, 3, 8, 9, 30)]
    old_names = [retention.backup_name(now - age) for age in ages]
    for name in old_names:  # stand-ins: retention judges by name, not by content
        (tmp_path / name).write_bytes(b"old")
        (tmp_path / (name + ".sha256")).write_text("x  " + name)
        s3.client().put_object(Bucket=bucket, Key=name, Body=b"old")
    s3.client().put_object(Bucket=bucket, Key="unrelated/notes.txt", Body=b"keep me")
    (tmp_path / "operator-notes.txt").write_text("keep me")

    result = backup.run(config_for(url, tmp_path, pg_bin, s3, bucket, retention_days=7, keep_min=3))

    expected_kept = sorted([result.name, *old_names[:2]])
    expected_pruned = sorted(old_names[2:])
    assert sorted(result.pruned_local) == expected_pruned
    assert sorted(result.pruned_remote) == expected_pruned
    assert [n for n in visible(tmp_path) if n.endswith(".dump")] == expected_kept
    assert "operator-notes.txt" in visible(tmp_path)
    assert not any(n.endswith(".sha256") and n[:-7] in expected_pruned for n in visible(tmp_path))
    assert sorted(objects(s3, bucket)) == sorted([*expected_kept, "unrelated/notes.txt"])

    # The floor: with everything past the window, the newest three survive. The second run
    # happens at the very same instant as the first (the clock is fixed): it still gets its
    # own name and replaces nothing, on the volume or in the bucket.
    result2 = backup.run(
        config_for(url, tmp_path, pg_bin, s3, bucket, retention_days=1, keep_min=3)
    )
    assert result2.name != result.name and result2.name > result.name
    dumps = [n for n in visible(tmp_path) if n.endswith(".dump")]
    assert dumps == sorted([result2.name, result.name, old_names[0]])
    assert {result.name, result2.name} <= set(objects(s3, bucket))
    assert backup.read_sidecar(tmp_path / result.name) == result.sha256


def test_cli_now_and_list(
    pg_module: services.Postgres, pg_bin: Path, s3: S3, tmp_path: Path
) -> None:
    url = backup_env.new_database(pg_module)
    backup_env.populate(url, users=5)
    bucket = s3.new_bucket()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BACKUP_DIR": str(tmp_path),
        "PG_BIN_DIR": str(pg_bin),
        **backup_env.s3_env(s3, bucket),
    }
    now = subprocess.run(
        [sys.executable, "-m", "lifecycle.backup", "now", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert now.returncode == 0, now.stderr
    result = json.loads(now.stdout)
    assert result["ok"] and result["uploaded_to"] == f"s3://{bucket}/{result['name']}"
    assert pg_module.password not in now.stdout + now.stderr
    steps = [line for line in now.stderr.splitlines() if "escalafin.backup" in line]
    assert any(" dump " in s and "bytes in" in s for s in steps)
    assert any(" verify " in s for s in steps) and any(" upload " in s for s in steps)

    listing = subprocess.run(
        [sys.executable, "-m", "lifecycle.backup", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)["backups"]
    assert {(r["where"], r["name"]) for r in rows} == {
        ("volume", result["name"]),
        ("s3", result["name"]),
    }

    env["DATABASE_URL"] = url.replace(pg_module.password, "wrong")
    failed = subprocess.run(
        [sys.executable, "-m", "lifecycle.backup", "now"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == cli.EXIT_UNAVAILABLE
    assert "backup failed: pg_dump failed" in failed.stderr
