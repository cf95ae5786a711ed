"""The agent's archiving health rule, restore's replay check, pgBackRest's environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from components.archiving import env
from lifecycle.archiving import agent, restore
from lifecycle.archiving.pgbackrest import error_summary
from lifecycle.schedule import Schedule

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CONFIG = agent.ArchivingConfig(
    database_url="postgresql://u@h/db",
    state_dir=__import__("pathlib").Path("/nonexistent"),
    schedule=Schedule("30 3 * * *", ZoneInfo("UTC"), timedelta(hours=1)),
    rpo_s=60,
    check_interval_s=15,
)


def state(**status: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "checked_at": (NOW - timedelta(seconds=10)).isoformat(),
        "ok": True,
        "archiving_lag_seconds": 0.0,
        "wal_gaps": [],
        "base_backups": [
            {"kind": "scheduled", "stopped_at": (NOW - timedelta(hours=8)).isoformat()}
        ],
    }
    return {"agent_started_at": (NOW - timedelta(days=2)).isoformat(), "status": {**base, **status}}


def test_healthy_when_caught_up_with_todays_base_backup() -> None:
    ok, why = agent.health(CONFIG, state(), NOW)
    assert ok, why


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"archiving_lag_seconds": 61.0}, "exceeds the RPO"),
        ({"ok": False, "error": "repository unreachable"}, "repository unreachable"),
        ({"wal_gaps": [["000000010000000000000004", "000000010000000000000004"]]}, "WAL missing"),
        ({"base_backups": []}, "no base backup"),
        (
            {
                "base_backups": [
                    {"kind": "scheduled", "stopped_at": (NOW - timedelta(days=2)).isoformat()}
                ]
            },
            "did not succeed",
        ),
        ({"checked_at": (NOW - timedelta(minutes=10)).isoformat()}, "not checked since"),
    ],
)
def test_unhealthy(change: dict[str, Any], expected: str) -> None:
    ok, why = agent.health(CONFIG, state(**change), NOW)
    assert not ok and expected in why, why


def test_a_failed_base_backup_is_unhealthy_until_the_next_success() -> None:
    failed = {**state(), "last_backup_failure_at": (NOW - timedelta(hours=1)).isoformat()}
    assert not agent.health(CONFIG, failed, NOW)[0]
    older = {**state(), "last_backup_failure_at": (NOW - timedelta(hours=9)).isoformat()}
    assert agent.health(CONFIG, older, NOW)[0]


def test_a_safety_backup_does_not_count_as_the_scheduled_one() -> None:
    safety = [{"kind": "safety", "stopped_at": (NOW - timedelta(minutes=5)).isoformat()}]
    old = [{"kind": "scheduled", "stopped_at": (NOW - timedelta(days=2)).isoformat()}]
    ok, why = agent.health(CONFIG, state(base_backups=old + safety), NOW)
    assert not ok and "did not succeed" in why


def test_just_started_agent_waits_for_its_first_check() -> None:
    fresh = {"agent_started_at": (NOW - timedelta(seconds=20)).isoformat()}
    assert agent.health(CONFIG, fresh, NOW) == (True, "archiving: first check pending")
    assert not agent.health(CONFIG, {}, NOW)[0]


def test_replay_check_refuses_a_restore_short_of_the_archive_or_past_the_target() -> None:
    target = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    done = {"in_recovery": False, "last_replayed_at": "2026-11-29T09:59:59+00:00"}
    restore.check_replay(target, None, done)
    with pytest.raises(restore.PitrError, match="past the target"):
        restore.check_replay(
            target, None, {**done, "last_replayed_at": "2026-11-29T10:00:01+00:00"}
        )
    with pytest.raises(restore.PitrError, match="still in recovery"):
        restore.check_replay(target, None, {**done, "in_recovery": True})
    latest = {"in_recovery": False, "current_wal": "000000020000000000000009"}
    restore.check_replay(None, "000000010000000000000009", latest)
    with pytest.raises(restore.PitrError, match="damaged or incomplete"):
        restore.check_replay(None, "00000001000000000000000B", latest)


def test_restore_args() -> None:
    target = datetime(2026, 11, 29, 16, 41, 7, tzinfo=UTC)
    assert restore.restore_args(None) == ["--delta", "--type=default"]
    assert restore.restore_args(target) == [
        "--delta",
        "--type=time",
        "--target=2026-11-29 16:41:07.000000+00",
        "--target-action=promote",
    ]


def test_pgbackrest_environment_for_the_dev_store_and_aws() -> None:
    dev = env.Repository("b", "us-east-1", endpoint_host="objectstore-tls:9443", verify_ca=True)
    server = env.database_server(dev, "/var/lib/postgresql/data", "escalafin", 2048)
    assert server["PGBACKREST_REPO1_S3_ENDPOINT"] == "objectstore-tls"
    assert server["PGBACKREST_REPO1_STORAGE_PORT"] == "9443"
    assert server["PGBACKREST_REPO1_S3_URI_STYLE"] == "path"
    assert server["PGBACKREST_REPO1_STORAGE_CA_FILE"] == "/etc/pgbackrest/tls/ca.crt"
    assert server["PGBACKREST_ARCHIVE_ASYNC"] == "y"
    assert server["PGBACKREST_ARCHIVE_PUSH_QUEUE_MAX"] == "2048MiB"
    assert server["PGBACKREST_IO_TIMEOUT"] == "10"  # an unreachable bucket fails fast
    prod = env.agent(env.Repository("b", "eu-west-1"), "/var/lib/postgresql/data", "escalafin")
    assert prod["PGBACKREST_REPO1_S3_ENDPOINT"] == "s3.eu-west-1.amazonaws.com"
    assert "PGBACKREST_REPO1_STORAGE_CA_FILE" not in prod  # AWS: the system's CAs
    assert prod["PGBACKREST_PG1_HOST_TYPE"] == "tls"
    assert not [k for k in {**server, **prod} if "KEY" in k and not k.endswith("_FILE")]
    assert env.postgres_settings(15)[-1] == "archive_timeout=15"


def test_pgbackrest_errors_keep_their_detail_lines() -> None:
    stderr = (
        "WARN: option 'repo1-retention-full' is not set\n"
        "ERROR: [039]: raised from local-1 protocol: HTTP request failed with 404 (Not Found):\n"
        "       *** Path/Query ***:\n"
        "       PUT /b/pgbackrest/x?partNumber=2&uploadId=u\n"
        "INFO: backup command end: aborted with exception [039]\n"
    )
    assert error_summary(stderr) == (
        "ERROR: [039]: raised from local-1 protocol: HTTP request failed with 404 (Not Found): | "
        "*** Path/Query ***: | PUT /b/pgbackrest/x?partNumber=2&uploadId=u"
    )
    assert error_summary("just one line\n") == "just one line"


def test_every_failing_rule_is_named() -> None:
    both = state(archiving_lag_seconds=146.0, wal_gaps=[["0000000400000000000000" + "1A"] * 2])
    ok, why = agent.health(CONFIG, both, NOW)
    assert not ok and "exceeds the RPO" in why and "WAL missing" in why
