"""What the backup agent's healthcheck reads: the outcome of every backup run and restore
drill, in a small JSON file on the backups volume.

Every run records that it started (`last_attempt_at`) before doing anything, then its
success or failure, so a run killed midway (the agent out of memory, a SIGKILL) is seen
as interrupted by the next start, and a crash never hides as "no run due yet". Archives
whose off-site upload failed are listed in `upload_pending` until an upload succeeds.
Writes are atomic (temp file + rename) and never raise: a state file that cannot be
written (a full volume) is logged, and the healthcheck then still sees the older state,
which says the due run did not succeed.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

log = logging.getLogger("escalafin.backup")

STATE_FILE: Final = ".escalafin-backup-state.json"
Kind = Literal["backup", "drill"]


@dataclass(frozen=True)
class State:
    agent_started_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_success: str | None = None
    last_failure_at: datetime | None = None
    last_failure: str | None = None
    upload_pending: tuple[str, ...] = ()
    drill_success_at: datetime | None = None
    drill_success: str | None = None
    drill_failure_at: datetime | None = None
    drill_failure: str | None = None

    @property
    def failing(self) -> bool:
        """The newest backup outcome is a failure."""
        return self.last_failure_at is not None and (
            self.last_success_at is None or self.last_failure_at > self.last_success_at
        )

    @property
    def drill_failing(self) -> bool:
        return self.drill_failure_at is not None and (
            self.drill_success_at is None or self.drill_failure_at > self.drill_success_at
        )

    @property
    def interrupted(self) -> bool:
        """A run started after the last recorded outcome: it died without recording one."""
        outcomes = [t for t in (self.last_success_at, self.last_failure_at) if t is not None]
        return self.last_attempt_at is not None and (
            not outcomes or self.last_attempt_at > max(outcomes)
        )


_TIMES: Final = {k for k, v in State.__annotations__.items() if "datetime" in str(v)}


def read_state(backup_dir: Path) -> State:
    try:
        loaded: object = json.loads((backup_dir / STATE_FILE).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return State()
    raw: dict[str, object] = (
        {str(k): v for k, v in loaded.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        if isinstance(loaded, dict)
        else {}
    )
    values: dict[str, object] = {}
    for key in State.__dataclass_fields__:
        value = raw.get(key)
        if key in _TIMES:
            values[key] = datetime.fromisoformat(value) if isinstance(value, str) else None
        elif key == "upload_pending":
            items: list[object] = list(value) if isinstance(value, list) else []  # pyright: ignore[reportUnknownArgumentType]
            values[key] = tuple(str(v) for v in items)
        else:
            values[key] = None if value is None else str(value)
    return State(**values)  # pyright: ignore[reportArgumentType]


def update_state(backup_dir: Path, **fields: object) -> bool:
    """Atomically rewrite the state file with `fields` changed; False if it could not be."""
    if not backup_dir.is_dir():
        return False
    state = {**asdict(read_state(backup_dir)), **fields}
    temp = backup_dir / f"{STATE_FILE}.{os.getpid()}.partial"
    try:
        temp.write_text(json.dumps(state, default=_jsonable))
        temp.replace(backup_dir / STATE_FILE)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        log.error("cannot record the agent state in %s: %s", backup_dir, exc.strerror or exc)
        return False
    return True


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def record(backup_dir: Path, kind: Kind, *, ok: bool, detail: str, at: datetime) -> None:
    """Record the outcome of a backup run or a restore drill."""
    prefix = "last" if kind == "backup" else "drill"
    outcome = "success" if ok else "failure"
    update_state(backup_dir, **{f"{prefix}_{outcome}_at": at, f"{prefix}_{outcome}": detail})
