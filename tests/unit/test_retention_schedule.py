"""The backup agent's health rule: unhealthy once a scheduled run is missed by `grace`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lifecycle.agent_state import State
from lifecycle.backup import BackupError
from lifecycle.backup_agent import health
from lifecycle.schedule import Schedule

pytestmark = pytest.mark.unit

DAILY_2AM = Schedule("0 2 * * *", ZoneInfo("America/Mexico_City"), timedelta(hours=1))
# 02:00 in Mexico City (UTC-6, no DST since 2022) is 08:00 UTC.
FIRE = datetime(2025, 10, 16, 8, 0, tzinfo=UTC)
STARTED = FIRE - timedelta(days=3)


def state(success: datetime | None, started: datetime | None = STARTED) -> State:
    return State(
        last_success_at=success,
        last_success="b" if success else None,
        last_failure_at=None,
        last_failure=None,
        agent_started_at=started,
    )


def test_schedule_is_read_in_its_time_zone() -> None:
    assert DAILY_2AM.next_fire(FIRE - timedelta(minutes=1)) == FIRE
    assert DAILY_2AM.previous_fire(FIRE) == FIRE


def test_healthy_while_the_run_is_within_grace() -> None:
    ok, _ = health(DAILY_2AM, state(FIRE - timedelta(days=1)), FIRE + timedelta(minutes=59))
    assert ok


def test_unhealthy_when_the_due_run_did_not_succeed() -> None:
    ok, why = health(
        DAILY_2AM, state(FIRE - timedelta(days=1)), FIRE + timedelta(hours=1, seconds=1)
    )
    assert not ok and "did not happen" in why


def test_healthy_again_after_a_success() -> None:
    ok, _ = health(DAILY_2AM, state(FIRE + timedelta(minutes=5)), FIRE + timedelta(hours=5))
    assert ok


def test_fresh_agent_is_healthy_until_its_first_run_is_missed() -> None:
    started = FIRE - timedelta(hours=3)
    assert health(DAILY_2AM, state(None, started), FIRE + timedelta(minutes=30))[0]
    assert not health(DAILY_2AM, state(None, started), FIRE + timedelta(hours=2))[0]


def test_agent_started_after_the_fire_is_not_blamed_for_it() -> None:
    started = FIRE + timedelta(minutes=30)
    assert health(DAILY_2AM, state(None, started), FIRE + timedelta(hours=3))[0]


def test_not_started_is_unhealthy() -> None:
    assert not health(DAILY_2AM, state(FIRE, None), FIRE)[0]


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("BACKUP_SCHEDULE", "every day", "cron expression"),
        ("BACKUP_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("BACKUP_HEALTH_GRACE_S", "-5", "whole seconds"),
    ],
)
def test_bad_environment_is_named(key: str, value: str, allowed: str) -> None:
    with pytest.raises(BackupError, match=allowed) as bad:
        Schedule.from_env({key: value})
    assert key in str(bad.value) and value in str(bad.value)
