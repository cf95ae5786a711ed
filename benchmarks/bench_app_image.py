"""Size and build speed of both app images, side by side with the seed deployment.

The seed deployment (Next.js standalone image built by Coolify) publishes an
image of ~650 MB and a build of ~3.5 min. Measured here in one run, each on a
temporary copy of its context so the working tree is never touched:

- python: the reference service, app/ with its own Dockerfile;
- nextjs: the Next.js + Prisma example, examples/nextjs-app, built by the shipped
  templates/nextjs/Dockerfile (what `appTemplate: nextjs` builds).

For each: runner image size and the base image it starts from (measured in this
run); the layers above the base (sum of `docker history` sizes of the runner's
own layers: what a deploy actually ships); a cold build (`--no-cache`: every
layer rebuilt; the BuildKit cache mounts for pip/npm and the Next.js compiler
cache stay warm, as on a CI runner keeping its cache); a rebuild after a
source-only change (one source file edited: the dependency layer must come from
cache; the median of three edits, as builds on a shared machine vary); a rebuild
with nothing changed. The load average is printed before and after.

    venv/bin/python -m benchmarks.bench_app_image
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from components.app_templates import TEMPLATES
from tests.support import images

PROJECT = Path(__file__).resolve().parents[1]
MB = 1000 * 1000  # docker CLI's MB
SEED_IMAGE_MB = 650.0
SEED_BUILD_S = 210.0
SOURCE_REBUILDS = 3  # the median is reported: this machine is shared, single builds vary
# Never copied into the temporary context: installed or built output, caches.
NOT_SOURCES = shutil.ignore_patterns("__pycache__", "node_modules", ".next", "generated")


@dataclass(frozen=True)
class Case:
    name: str
    context: Path
    dockerfile: Path | None
    base_image: str
    source_file: str
    comment: str
    max_layers_mb: float
    max_source_rebuild_s: float

    @property
    def tag(self) -> str:
        return f"escalafin-bench/{self.name}:{os.getpid()}"


CASES = (
    Case("python", PROJECT / "app", None, images.PYTHON, "escalafin_app/report.py", "#", 40, 15),
    Case(
        "nextjs",
        PROJECT / "examples" / "nextjs-app",
        TEMPLATES["nextjs"].dockerfile,
        images.NODE,
        "app/page.tsx",
        "//",
        80,
        30,
    ),
)


@dataclass(frozen=True)
class Result:
    image_mb: float
    base_mb: float
    layers_mb: float
    cold_s: float
    source_s: float
    unchanged_s: float


def build(case: Case, context: Path, *, no_cache: bool = False) -> float:
    """Seconds for one BuildKit build of the runner stage."""
    cmd = [images.DOCKER_CLI, "build", "-q", "--target", "runner", "-t", case.tag]
    cmd += ["--build-arg", f"BASE_IMAGE={case.base_image}"]
    if case.dockerfile:
        cmd += ["-f", str(case.dockerfile)]
    if no_cache:
        cmd.append("--no-cache")
    started = time.perf_counter()
    subprocess.run(
        [*cmd, str(context)],
        check=True,
        capture_output=True,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    return time.perf_counter() - started


def layers_above_base(c: docker.DockerClient, case: Case) -> float:
    """Bytes in the runner's own layers: its history minus the base image's history."""
    runner = c.images.get(case.tag).history()
    base = c.images.get(case.base_image).history()
    own = runner[: len(runner) - len(base)]  # history is newest first
    return float(sum(int(layer["Size"]) for layer in own))


def measure(c: docker.DockerClient, case: Case) -> Result:
    with tempfile.TemporaryDirectory(prefix="escalafin-bench-") as tmp:
        context = Path(tmp) / case.name
        shutil.copytree(case.context, context, ignore=NOT_SOURCES)
        cold_s = build(case, context, no_cache=True)
        source_runs: list[float] = []
        for _ in range(SOURCE_REBUILDS):
            with (context / case.source_file).open("a") as source:
                source.write(f"\n{case.comment} benchmark edit {time.time_ns()}\n")
            source_runs.append(build(case, context))
        unchanged_s = build(case, context)
    return Result(
        image_mb=float(c.images.get(case.tag).attrs["Size"]) / MB,
        base_mb=float(c.images.get(case.base_image).attrs["Size"]) / MB,
        layers_mb=layers_above_base(c, case) / MB,
        cold_s=cold_s,
        source_s=statistics.median(source_runs),
        unchanged_s=unchanged_s,
    )


def verdict(value: float, limit: float, unit: str) -> str:
    return f"{value:.1f} {unit} (<= {limit:.0f}: {'ok' if value <= limit else 'NO'})"


def rows(results: dict[str, Result]) -> list[tuple[str, str, list[str]]]:
    """(metric, seed, one cell per case)."""
    by_case = [(case, results[case.name]) for case in CASES]
    return [
        (
            "runner image size",
            f"~{SEED_IMAGE_MB:.0f} MB",
            [f"{r.image_mb:.1f} MB" for _, r in by_case],
        ),
        ("  of which base image", "n/a", [f"{r.base_mb:.1f} MB" for _, r in by_case]),
        (
            "  layers above base",
            "n/a",
            [verdict(r.layers_mb, case.max_layers_mb, "MB") for case, r in by_case],
        ),
        (
            "cold build (--no-cache)",
            f"~{SEED_BUILD_S:.0f} s",
            [f"{r.cold_s:.1f} s" for _, r in by_case],
        ),
        (
            f"rebuild, source-only (median {SOURCE_REBUILDS})",
            "n/a",
            [verdict(r.source_s, case.max_source_rebuild_s, "s") for case, r in by_case],
        ),
        ("rebuild, nothing changed", "n/a", [f"{r.unchanged_s:.1f} s" for _, r in by_case]),
    ]


def main() -> int:
    c = docker.from_env()
    load_before = os.getloadavg()[0]
    results: dict[str, Result] = {}
    try:
        for case in CASES:
            results[case.name] = measure(c, case)
    finally:
        for case in CASES:
            subprocess.run(
                [images.DOCKER_CLI, "image", "rm", "-f", case.tag], capture_output=True, check=False
            )
    print("base images: " + ", ".join(f"{case.name}: {case.base_image}" for case in CASES))
    print(
        f"load average (1 min) on {os.cpu_count()} cores: "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    header = "".join(f"{case.name:>26}" for case in CASES)
    print(f"{'metric':<30} {'seed deployment':>16}{header}")
    for metric, seed, cells in rows(results):
        print(f"{metric:<30} {seed:>16}" + "".join(f"{cell:>26}" for cell in cells))
    ok = all(
        r.layers_mb <= case.max_layers_mb and r.source_s <= case.max_source_rebuild_s
        for case in CASES
        for r in (results[case.name],)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
