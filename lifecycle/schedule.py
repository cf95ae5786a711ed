"""Cron schedules in a time zone, with the grace a run may take before it counts as missed.

The backup agent's logical dumps, restore drills and (issue 13) base backups each run on
one; the agent's health judges a schedule missed by `previous_fire` + grace. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from lifecycle import cli
from lifecycle.backup import BackupError

DEFAULT_SCHEDULE: Final = "0 2 * * *"
DEFAULT_GRACE_S: Final = 3600
DEFAULT_DRILL_SCHEDULE: Final = "30 3 * * 0"


@dataclass(frozen=True)
class Schedule:
    cron: str
    zone: ZoneInfo
    grace: timedelta

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Schedule:
        cron = _cron(env, "BACKUP_SCHEDULE", DEFAULT_SCHEDULE)
        zone_name = env.get("BACKUP_TIMEZONE") or env.get("TZ") or "UTC"
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise BackupError(
                f"BACKUP_TIMEZONE={zone_name!r}: expected an IANA time zone "
                "such as 'America/Mexico_City'",
                cli.EXIT_USAGE,
            ) from None
        raw_grace = env.get("BACKUP_HEALTH_GRACE_S") or str(DEFAULT_GRACE_S)
        if not raw_grace.isdigit() or int(raw_grace) < 1:
            raise BackupError(
                f"BACKUP_HEALTH_GRACE_S={raw_grace!r}: expected whole seconds >= 1", cli.EXIT_USAGE
            )
        return cls(cron, zone, timedelta(seconds=int(raw_grace)))

    @staticmethod
    def drill_from_env(env: Mapping[str, str], backups: Schedule) -> Schedule | None:
        """BACKUP_DRILL_SCHEDULE in the backups' zone and grace; None when "off"."""
        if (env.get("BACKUP_DRILL_SCHEDULE") or "").strip().lower() == "off":
            return None
        cron = _cron(env, "BACKUP_DRILL_SCHEDULE", DEFAULT_DRILL_SCHEDULE)
        return Schedule(cron, backups.zone, backups.grace)

    def next_fire(self, after: datetime) -> datetime:
        return croniter(self.cron, after.astimezone(self.zone)).get_next(datetime)

    def previous_fire(self, at_or_before: datetime) -> datetime:
        # croniter's get_prev is strictly before; nudge so a fire exactly at the bound counts.
        bound = at_or_before.astimezone(self.zone) + timedelta(microseconds=1)
        return croniter(self.cron, bound).get_prev(datetime)


def _cron(env: Mapping[str, str], key: str, default: str) -> str:
    cron = env.get(key) or default
    if not croniter.is_valid(cron):
        raise BackupError(
            f"{key}={cron!r}: expected a 5-field cron expression such as '0 2 * * *'",
            cli.EXIT_USAGE,
        )
    return cron
