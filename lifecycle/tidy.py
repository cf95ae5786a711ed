"""Repair and remove what interrupted restores, drills and backup runs left behind.

Run under the run lock (no restore, drill or backup is running then) by every restore,
revert and drill, by the agent before each backup and at start, by `backup now`, and on
demand with `python -m lifecycle.restore tidy`. See lifecycle.restore_plan for the rules.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from lifecycle import backup, databases, restore_plan
from lifecycle.backup import BackupConfig, BackupError

log = logging.getLogger("escalafin.restore")


def tidy(config: BackupConfig) -> dict[str, Any]:
    """Repair and remove what interrupted runs left; the caller holds the run lock.

    A restore killed between cutting writers off and swapping in gets its database renamed
    back (restore_plan.recovery); temp files, the pg_restore workers it left running and
    staging or drill databases are removed; retired databases beyond BACKUP_KEEP_RETIRED
    are dropped (the newest always stays: it is what `revert` goes back to).
    """
    removed = backup.remove_partials(config.backup_dir)
    killed = databases.kill_orphans(config.backup_dir)
    target = databases.database_name(config.database_url)
    keep = restore_plan.keep_retired()
    with databases.admin(config.database_url) as conn:
        family = databases.family(conn, target)
        plan = restore_plan.recovery(target, {n: i.comment for n, i in family.items()})
        if plan.rename_back is not None:
            databases.rename(conn, plan.rename_back, target)
            log.warning(
                "an interrupted restore left %s moved aside as %s: renamed back",
                target,
                plan.rename_back,
            )
            family[target] = family.pop(plan.rename_back)
        if target in family and (
            not family[target].allow_connections or family[target].comment is not None
        ):
            databases.reopen(conn, target)
        for name in plan.mark_retired:
            marker = restore_plan.Marker.parse(family[name].comment)
            if marker is not None:
                databases.mark(conn, name, replace(marker, state=restore_plan.RETIRED))
        dropped = restore_plan.to_drop(target, set(family) - {target}, keep)
        for name in dropped:
            databases.drop(conn, name)
    if dropped:
        log.info("dropped %s (debris or retired beyond %d kept)", ", ".join(dropped), keep)
    return {"removed_files": removed, "killed": killed, "dropped": dropped}


def tidy_locked(config: BackupConfig) -> None:
    """tidy under the run lock, for callers about to back up: a failure (the database
    down) is logged, not raised: the run that follows reports it properly."""
    try:
        with backup.run_lock(config.backup_dir):
            tidy(config)
    except (BackupError, restore_plan.PlanError, OSError) as exc:
        log.warning("tidy skipped: %s", exc)
