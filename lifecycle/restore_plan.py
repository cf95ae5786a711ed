"""Pure decisions of a restore: database names, what an interrupted run left, what to prune.

A logical restore never edits the live database in place. It works with *sibling*
databases next to the target (same server, names derived from the target's):

    <target>_restore_<stamp>   staging: the archive is restored here first
    <target>_retired_<stamp>   the database a restore (or a revert) replaced, kept as it was
                               at the moment writers were cut off, so the operator can go back
    <target>_drill_<stamp>     scratch database of a restore drill (lifecycle.drill)

Each retired database carries a marker (its `COMMENT ON DATABASE`) saying whether the
restore that retired it finished. From the names, the markers and whether the target exists,
`recovery` says what an interrupted restore left and how to repair it, and `to_drop` which
databases are debris (staging, drill) or retired beyond the number to keep. Nothing here
touches a server: lifecycle.databases does the I/O, lifecycle.restore the sequencing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from lifecycle import cli
from lifecycle.backup import last_line

Kind = Literal["restore", "retired", "drill"]
KINDS: Final[tuple[Kind, ...]] = ("restore", "retired", "drill")
MAX_IDENTIFIER: Final = 63  # PostgreSQL's NAMEDATALEN - 1
_STAMP: Final = "%Y%m%d%H%M%S"
_STAMP_RE: Final = re.compile(r"^\d{14}$")
MARKER_PREFIX: Final = "escalafin-restore "
IN_PROGRESS: Final = "in-progress"
RETIRED: Final = "retired"
DEFAULT_KEEP_RETIRED: Final = 1


class PlanError(ValueError):
    """A setting outside what is allowed; the message names it."""

    exit_code = cli.EXIT_USAGE


def sibling_prefix(target: str, kind: Kind) -> str:
    """`<target>_<kind>_`, the target cut so that prefix + stamp fit in 63 bytes."""
    tail = f"_{kind}_"
    room = MAX_IDENTIFIER - len(tail) - 14
    return target.encode()[:room].decode(errors="ignore") + tail


def sibling(target: str, kind: Kind, at: datetime) -> str:
    return sibling_prefix(target, kind) + at.astimezone(UTC).strftime(_STAMP)


def new_sibling(target: str, kind: Kind, at: datetime, existing: set[str]) -> str:
    """A sibling name not in `existing` (one second later per collision)."""
    while (name := sibling(target, kind, at)) in existing:
        at += timedelta(seconds=1)
    return name


def kind_of(target: str, name: str) -> Kind | None:
    """Which sibling of `target` a database name is, or None for any other database."""
    for kind in KINDS:
        prefix = sibling_prefix(target, kind)
        if name.startswith(prefix) and _STAMP_RE.match(name[len(prefix) :]):
            return kind
    return None


@dataclass(frozen=True)
class Marker:
    """What a retired database records about the restore that retired it."""

    state: str  # IN_PROGRESS until the restored database is in place, then RETIRED
    archive: str
    safety: str | None = None
    at: str = ""

    def comment(self) -> str:
        return MARKER_PREFIX + json.dumps(
            {"state": self.state, "archive": self.archive, "safety": self.safety, "at": self.at},
            sort_keys=True,
        )

    @staticmethod
    def parse(comment: str | None) -> Marker | None:
        if not comment or not comment.startswith(MARKER_PREFIX):
            return None
        try:
            raw: object = json.loads(comment[len(MARKER_PREFIX) :])
        except json.JSONDecodeError:
            return None
        if not isinstance(raw, dict):
            return None
        data: dict[str, object] = {str(k): v for k, v in raw.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        safety = data.get("safety")
        return Marker(
            state=str(data.get("state", "")),
            archive=str(data.get("archive", "")),
            safety=str(safety) if safety else None,
            at=str(data.get("at", "")),
        )


@dataclass(frozen=True)
class Recovery:
    """How to repair what an interrupted restore left (all fields empty: nothing to do)."""

    rename_back: str | None = None
    """A retired database to rename back to the target (the target is missing)."""
    mark_retired: tuple[str, ...] = ()
    """Retired databases whose restore did finish (the target exists): mark them done."""


def recovery(target: str, databases: Mapping[str, str | None]) -> Recovery:
    """Decide from the server's databases (name → comment) what an interrupted restore left.

    A restore is interrupted between cutting writers off (target renamed to a retired
    name, marked in progress) and putting the restored database in its place. If the
    target is missing, the newest in-progress retired database (else the newest retired
    one: the run died between marking it and renaming the restored one in) is the live
    data: rename it back. If the target exists, the swap did happen: only the markers
    need updating.
    """
    retired = sorted(n for n in databases if kind_of(target, n) == "retired")
    in_progress = [
        name
        for name in retired
        if (marker := Marker.parse(databases[name])) is not None and marker.state == IN_PROGRESS
    ]
    if target not in databases and retired:
        # The target is never meant to be missing: the newest database moved aside (in
        # progress, else the newest retired one) holds its data.
        back = (in_progress or retired)[-1]
        return Recovery(rename_back=back, mark_retired=tuple(n for n in in_progress if n != back))
    return Recovery(mark_retired=tuple(in_progress))


def to_drop(target: str, names: set[str], keep_retired: int) -> list[str]:
    """Staging and drill databases (debris of interrupted runs: call this only while holding
    the run lock, when no restore or drill is running) and retired databases beyond the
    newest `keep_retired`; in the order to drop them."""
    debris = sorted(n for n in names if kind_of(target, n) in ("restore", "drill"))
    retired = sorted((n for n in names if kind_of(target, n) == "retired"), reverse=True)
    return debris + sorted(retired[keep_retired:])


def keep_retired(env: Mapping[str, str] | None = None) -> int:
    """BACKUP_KEEP_RETIRED: retired databases kept, newest first (default 1; at least 1,
    the one `revert` goes back to; drop it by hand when disk is short)."""
    raw = (os.environ if env is None else env).get("BACKUP_KEEP_RETIRED", "").strip()
    if not raw:
        return DEFAULT_KEEP_RETIRED
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise PlanError(f"BACKUP_KEEP_RETIRED={raw!r}: expected a whole number from 1 to 100")
    return int(raw)


def restore_jobs(env: Mapping[str, str] | None = None) -> int:
    """Parallel pg_restore workers: BACKUP_RESTORE_JOBS, else one per core (at most 4)."""
    raw = (os.environ if env is None else env).get("BACKUP_RESTORE_JOBS", "").strip()
    if not raw:
        return max(1, min(4, os.cpu_count() or 1))
    if not raw.isdigit() or not 1 <= int(raw) <= 32:
        raise PlanError(f"BACKUP_RESTORE_JOBS={raw!r}: expected an integer from 1 to 32")
    return int(raw)


def first_error(stderr: bytes) -> str:
    """The error that stopped a parallel pg_restore, not the workers' echo of it.

    With --jobs, the last line is the leader's "a worker process died unexpectedly"; the
    cause is the first `error:` line a worker printed.
    """
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    causes = [ln for ln in lines if "error:" in ln and "worker process died" not in ln]
    return causes[0] if causes else last_line(stderr)
