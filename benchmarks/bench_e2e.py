"""Time from an empty engine to a healthy dev stack, next to a no-change second `up`.

Uses the e2e harness (tests/e2e/harness.py: test infrastructure standing in for
`pulumi up`) with a fresh name prefix, so nothing of the stack exists at the
start; images are BuildKit-cached as they would be on a developer's machine.
The no-change `up` is the baseline measured in the same run: what every
further `pulumi up` costs when nothing changed. The slowest steps of the first
`up` say where the time goes.

    eval "$(../shared/lab/lab.sh env)"; venv/bin/python -m benchmarks.bench_e2e
"""

from __future__ import annotations

import time

from tests.e2e import checks, scenarios
from tests.e2e.conftest import deployment
from tests.e2e.harness import UpResult
from tests.support import docker_env

SLOWEST = 5


def row(label: str, program_s: float, result: UpResult, total_s: float) -> str:
    return (
        f"{label:<28} {program_s:>10.2f} {result.seconds:>10.2f} {total_s:>10.2f} "
        f"{len(result.changed()):>8} {len(result.unchanged):>9}"
    )


def main() -> None:
    client = docker_env.client()
    stack = deployment(client, "dev")
    d = next(stack)
    try:
        rows: list[str] = []
        first: UpResult | None = None
        for label in ("empty engine -> healthy", "no-change second up"):
            start = time.perf_counter()
            run = d.program()
            program_s = time.perf_counter() - start
            result = d.harness.up(run)
            status, body = scenarios.wait_health(d.app_port)
            total_s = time.perf_counter() - start
            if status != 200:
                raise SystemExit(f"stack not healthy after {label}: {status} {body}")
            rows.append(row(label, program_s, result, total_s))
            first = first or result
        print(
            f"{'up':<28} {'program s':>10} {'realise s':>10} {'total s':>10} "
            f"{'changed':>8} {'unchanged':>9}"
        )
        print("\n".join(rows))
        assert first is not None
        print(f"slowest steps of the first up (of {len(first.steps)}):")
        for name, action, seconds in sorted(first.steps, key=lambda s: -s[2])[:SLOWEST]:
            print(f"  {name:<40} {action:<8} {seconds:>7.2f} s")
        users = checks.health(d.app_port)[1].get("users")
        print(f"health: 200, users={users}")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
