"""The agent's loop and health rule with a fake clock: failures of any kind are recorded and
turn it unhealthy, nothing crashes it, a run that killed it is not retried in a loop, drills
and off-site retries run on their own schedules (issue 10, items 2 and 4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lifecycle import agent_state
from lifecycle.backup import BackupConfig, BackupError
from lifecycle.backup_agent import Agent, health
from lifecycle.schedule import Schedule

pytestmark = pytest.mark.unit

DAILY = Schedule("0 2 * * *", ZoneInfo("UTC"), timedelta(hours=1))
WEEKLY_DRILL = Schedule("30 3 * * 0", ZoneInfo("UTC"), timedelta(hours=1))
START = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)  # a Wednesday


@dataclass
class FakeTime:
    """A clock and a stop event in one: waiting moves the clock; stops at `until`."""

    now: datetime
    until: datetime

    def clock(self) -> datetime:
        return self.now

    def is_set(self) -> bool:
        return self.now >= self.until

    def wait(self, timeout: float | None = None) -> bool:
        self.now += timedelta(seconds=timeout or 0)
        return self.is_set()


@dataclass
class Jobs:
    time: FakeTime
    calls: list[tuple[str, datetime]] = field(default_factory=list[tuple[str, datetime]])
    fail_with: BaseException | None = None

    def job(self, name: str) -> Callable[[BackupConfig], None]:
        def run(config: BackupConfig) -> None:
            self.calls.append((name, self.time.now))
            if self.fail_with is not None and name == "backup":
                detail = str(self.fail_with)
                if isinstance(self.fail_with, BackupError):
                    agent_state.record(
                        config.backup_dir, "backup", ok=False, detail=detail, at=self.time.now
                    )
                raise self.fail_with
            if name == "backup":
                agent_state.record(
                    config.backup_dir, "backup", ok=True, detail="b", at=self.time.now
                )

        return run


def agent(tmp_path: Path, time: FakeTime, jobs: Jobs, **kw: object) -> Agent:
    config = BackupConfig(
        database_url="postgresql://u@db.invalid/x", backup_dir=tmp_path, clock=time.clock
    )
    return Agent(
        config,
        DAILY,
        drill=kw.get("drill", WEEKLY_DRILL),  # type: ignore[arg-type]
        catch_up=bool(kw.get("catch_up", False)),
        retry_uploads_s=60,
        poll_s=3600,  # a fake clock: no need to look at the plan more often
        backup_job=jobs.job("backup"),
        drill_job=jobs.job("drill"),
        retry_job=jobs.job("retry"),
        tidy_job=lambda _c: None,
    )


def test_backups_and_drills_run_on_their_own_schedules(tmp_path: Path) -> None:
    time = FakeTime(START, START + timedelta(days=5))
    jobs = Jobs(time)
    a = agent(tmp_path, time, jobs)
    a.start()
    a.loop(time)
    backups = [at for name, at in jobs.calls if name == "backup"]
    drills = [at for name, at in jobs.calls if name == "drill"]
    assert [b.day for b in backups] == [16, 17, 18, 19, 20] and all(b.hour == 2 for b in backups)
    assert (
        len(drills) == 1
        and drills[0].weekday() == 6
        and (drills[0].hour, drills[0].minute) == (3, 30)
    )


@pytest.mark.parametrize(
    "failure",
    [
        OSError(28, "No space left on device"),
        MemoryError(),
        RuntimeError("pg_dump killed"),
        BackupError("upload to s3://b/x failed: could not connect", 5),
    ],
)
def test_any_failure_is_recorded_turns_unhealthy_and_the_loop_goes_on(
    tmp_path: Path, failure: BaseException
) -> None:
    time = FakeTime(START, START + timedelta(days=2))
    jobs = Jobs(time, fail_with=failure)
    a = agent(tmp_path, time, jobs)
    a.start()
    a.loop(time)  # does not raise
    assert [name for name, _ in jobs.calls].count("backup") == 2  # both scheduled runs tried
    state = agent_state.read_state(tmp_path)
    assert state.failing
    ok, why = health(DAILY, state, time.now, WEEKLY_DRILL)
    assert not ok and "the last backup run failed" in why
    assert type(failure).__name__ in why or str(failure) in why


def test_a_run_that_killed_the_agent_is_recorded_and_not_rerun_at_once(tmp_path: Path) -> None:
    """Restart after an OOM kill mid-run: no immediate catch-up, so no crash loop."""
    fire = datetime(2025, 10, 15, 2, 0, tzinfo=UTC)
    agent_state.update_state(tmp_path, agent_started_at=fire - timedelta(days=1))
    agent_state.update_state(tmp_path, last_attempt_at=fire + timedelta(seconds=1))
    time = FakeTime(fire + timedelta(minutes=5), fire + timedelta(minutes=6))
    jobs = Jobs(time)
    agent(tmp_path, time, jobs, catch_up=True).start()
    assert jobs.calls == []
    state = agent_state.read_state(tmp_path)
    assert state.failing and "interrupted" in str(state.last_failure)
    assert not health(DAILY, state, time.now)[0]


def test_catch_up_runs_a_missed_backup_once(tmp_path: Path) -> None:
    time = FakeTime(START, START)
    jobs = Jobs(time)
    agent(tmp_path, time, jobs, catch_up=True).start()
    assert [name for name, _ in jobs.calls] == ["backup"]


def test_pending_uploads_are_retried_until_they_go_through(tmp_path: Path) -> None:
    agent_state.update_state(tmp_path, upload_pending=["escalafin-x.dump"])
    time = FakeTime(START, START + timedelta(minutes=3, seconds=30))
    jobs = Jobs(time)
    a = agent(tmp_path, time, jobs, drill=None)
    a.start()
    a.loop(time)
    assert [name for name, _ in jobs.calls] == ["retry", "retry", "retry"]


def test_drill_failure_turns_unhealthy_until_a_drill_succeeds(tmp_path: Path) -> None:
    started = START - timedelta(days=1)
    agent_state.update_state(tmp_path, agent_started_at=started)
    agent_state.record(tmp_path, "backup", ok=True, detail="b", at=START - timedelta(hours=9))
    agent_state.record(tmp_path, "drill", ok=False, detail="tables missing", at=START)
    ok, why = health(DAILY, agent_state.read_state(tmp_path), START, WEEKLY_DRILL)
    assert not ok and "restore drill failed" in why and "tables missing" in why
    agent_state.record(tmp_path, "drill", ok=True, detail="ok", at=START + timedelta(hours=1))
    assert health(DAILY, agent_state.read_state(tmp_path), START + timedelta(hours=1))[0]


def test_state_survives_a_round_trip_and_garbage(tmp_path: Path) -> None:
    agent_state.update_state(tmp_path, upload_pending=["a", "b"], last_attempt_at=START)
    state = agent_state.read_state(tmp_path)
    assert state.upload_pending == ("a", "b") and state.last_attempt_at == START
    (tmp_path / agent_state.STATE_FILE).write_text("[1, 2]")
    assert agent_state.read_state(tmp_path) == agent_state.State()
