"""Run a lifecycle command inside the backup agent container and read its JSON result.

The operator side of `lifecycle.restore --stack` reaches the database only through the
agent (`docker exec`: it has the tools, the network and the volume). The command's log
lines are relayed to stderr, prefixed with the container's name; its result is the last
line of stdout (`--json`), also on failure (lifecycle.cli.fail).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def run_json(docker: Any, container: str, *argv: str) -> tuple[int, dict[str, Any]]:
    """`python -m <argv> --json` in `container`: (exit code, the JSON result)."""
    target = docker.containers.get(container)
    code, (out, err) = target.exec_run(["python", "-m", *argv, "--json"], demux=True)
    for line in (err or b"").decode(errors="replace").splitlines():
        print(f"[{container}] {line}", file=sys.stderr)
    lines = (out or b"").decode(errors="replace").strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return int(code or 0), result
