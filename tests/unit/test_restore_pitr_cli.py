"""Which restore `python -m lifecycle.restore` runs: point-in-time or a logical dump."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle import restore
from lifecycle.archiving import restore as pitr

pytestmark = pytest.mark.unit

ARCHIVING_OUTPUTS = {
    "backupAgentContainer": "escalafin-prod-backup-agent",
    "appContainer": "app-1a2b3c4",
    "appContainers": ["app-1a2b3c4", "app-2-5d6e7f8"],
    "databaseContainer": "escalafin-prod-postgres",
    "backupMonitoring": {"rpoSeconds": 60},
}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def fake_pitr(args: Any, docker: Any, **kw: Any) -> tuple[dict[str, Any], str]:
        seen.append({"action": args.action, "to_time": args.to_time, **kw})
        if args.to_time == "boom":
            raise pitr.PitrError("refusing to restore: damaged", 3)
        return {"ok": True}, "done"

    monkeypatch.setattr(pitr, "run_cli", fake_pitr)
    monkeypatch.setattr(restore, "_docker", lambda host: object())
    monkeypatch.setattr(restore, "App", lambda docker, names, timeout: names)
    monkeypatch.setattr(restore, "existing_app_containers", lambda docker, names: list(names))
    return seen


def run(monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any], *argv: str) -> int:
    monkeypatch.setattr(restore, "_stack_outputs", lambda stack: (outputs, None))
    return restore.main(["--stack", "prod", "--yes", *argv])


def test_to_time_and_latest_and_list_go_to_pitr_on_an_archiving_stack(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    assert (
        run(monkeypatch, ARCHIVING_OUTPUTS, "restore", "--to-time", "2026-11-29 10:41:07-06:00")
        == 0
    )
    assert run(monkeypatch, ARCHIVING_OUTPUTS, "restore", "--latest") == 0
    assert run(monkeypatch, ARCHIVING_OUTPUTS, "list") == 0
    assert [c["action"] for c in calls] == ["restore", "restore", "list"]
    assert calls[0]["database_name"] == "escalafin-prod-postgres"
    # Every replica (the `appContainers` output), stopped and started by the logical
    # restore's own App.
    assert calls[0]["app"] == ["app-1a2b3c4", "app-2-5d6e7f8"] and calls[0]["confirm"] is None


def test_pitr_errors_keep_their_exit_code(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    assert run(monkeypatch, ARCHIVING_OUTPUTS, "restore", "--to-time", "boom") == 3
    assert calls


def test_to_time_without_archiving_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    outputs = {**ARCHIVING_OUTPUTS, "backupMonitoring": {"rpoSeconds": None}}
    assert run(monkeypatch, outputs, "restore", "--to-time", "2026-11-29 10:41:07-06:00") == 2
    assert calls == []
