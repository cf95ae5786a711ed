"""How long one full evaluation of the program takes under mocks, per stack.

This is the program's share of a `pulumi preview` before any provider runs:
settings validation, component construction, output wiring. Printed side by
side with the floor (the same harness evaluating an empty program), so what
is measured is the program's own cost.

    venv/bin/python -m benchmarks.bench_program [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

from tests.support import program


def timed(stack: str, runs: int, *, preview: bool) -> list[float]:
    samples: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        program.run_program(stack, preview=preview)
        samples.append(time.perf_counter() - start)
    return samples


def floor(runs: int) -> list[float]:
    """The harness itself: an empty __main__.py with the dev config."""
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp)
        (empty / "__main__.py").write_text("")
        for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
            (empty / name).write_text((program.PROJECT_DIR / name).read_text())
        with mock.patch.object(program, "PROJECT_DIR", empty):
            return timed("dev", runs, preview=True)


def row(label: str, samples: list[float], resources: int | str) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"{label:<22} {statistics.median(ms):>9.1f} {min(ms):>9.1f} {max(ms):>9.1f} "
        f"{resources!s:>10}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Program evaluation time under mocks.")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    program.run_program("dev")  # warm imports so the first sample is not an outlier
    print(f"{'evaluation':<22} {'median ms':>9} {'min ms':>9} {'max ms':>9} {'resources':>10}")
    print(row("floor (empty program)", floor(args.runs), 0))
    for stack in ("dev", "prod", "aws-prod"):
        count = len(program.run_program(stack).resources)
        print(row(f"{stack} preview", timed(stack, args.runs, preview=True), count))
        print(row(f"{stack} up (mocks)", timed(stack, args.runs, preview=False), count))


if __name__ == "__main__":
    main()
