"""Size and build speed of the app image, side by side with the seed deployment.

The seed deployment (Next.js standalone image built by Coolify) publishes an
image of ~650 MB and a build of ~3.5 min. Measured here, on a temporary copy of
app/ so the working tree is never touched:

- runner image size, and the base image it starts from (measured in this run);
- size of the layers above the base image (sum of `docker history` sizes of the
  runner's own layers): what a deploy actually ships;
- cold build time: `--no-cache`, so every layer is rebuilt. The BuildKit pip
  cache mount stays warm (it is meant to, as on a CI runner keeping its cache);
- rebuild after a source-only change (one .py file edited): the deps layer
  must come from cache.

    venv/bin/python -m benchmarks.bench_app_image
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from tests.support import images

APP_CONTEXT = Path(__file__).resolve().parents[1] / "app"
TAG = "escalafin-bench/app:latest"
MB = 1000 * 1000  # docker CLI's MB
SEED_IMAGE_MB = 650.0
SEED_BUILD_S = 210.0
TARGET_APP_LAYERS_MB = 40.0
TARGET_SOURCE_REBUILD_S = 15.0


@dataclass(frozen=True)
class Row:
    metric: str
    seed: str
    measured: str
    target: str = ""
    ok: bool | None = None


def build(context: Path, *, no_cache: bool = False) -> float:
    """Seconds for one BuildKit build of the runner stage."""
    cmd = [
        images.DOCKER_CLI,
        "build",
        "-q",
        "--target",
        "runner",
        "-t",
        TAG,
        "--build-arg",
        f"BASE_IMAGE={images.PYTHON}",
    ]
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


def layers_above_base(c: docker.DockerClient) -> float:
    """Bytes in the runner's own layers: its history minus the base image's history."""
    runner = c.images.get(TAG).history()
    base = c.images.get(images.PYTHON).history()
    own = runner[: len(runner) - len(base)]  # history is newest first
    return float(sum(int(layer["Size"]) for layer in own))


def measure(c: docker.DockerClient) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="escalafin-bench-") as tmp:
        context = Path(tmp) / "app"
        shutil.copytree(APP_CONTEXT, context, ignore=shutil.ignore_patterns("__pycache__"))
        cold_s = build(context, no_cache=True)
        with (context / "escalafin_app" / "report.py").open("a") as source:
            source.write(f"\n# benchmark edit {time.time_ns()}\n")
        source_s = build(context)
        unchanged_s = build(context)
    image_mb = float(c.images.get(TAG).attrs["Size"]) / MB
    base_mb = float(c.images.get(images.PYTHON).attrs["Size"]) / MB
    app_mb = layers_above_base(c) / MB
    return [
        Row("runner image size", f"~{SEED_IMAGE_MB:.0f} MB", f"{image_mb:.1f} MB"),
        Row("  of which base image", "n/a", f"{base_mb:.1f} MB"),
        Row(
            "  layers above base",
            "n/a",
            f"{app_mb:.1f} MB",
            f"<= {TARGET_APP_LAYERS_MB:.0f} MB",
            app_mb <= TARGET_APP_LAYERS_MB,
        ),
        Row("cold build (--no-cache)", f"~{SEED_BUILD_S:.0f} s", f"{cold_s:.1f} s"),
        Row(
            "rebuild, source-only change",
            "n/a",
            f"{source_s:.1f} s",
            f"<= {TARGET_SOURCE_REBUILD_S:.0f} s",
            source_s <= TARGET_SOURCE_REBUILD_S,
        ),
        Row("rebuild, nothing changed", "n/a", f"{unchanged_s:.1f} s"),
    ]


def main() -> int:
    c = docker.from_env()
    try:
        rows = measure(c)
    finally:
        subprocess.run(
            [images.DOCKER_CLI, "image", "rm", "-f", TAG], capture_output=True, check=False
        )
    print(f"base image: {images.PYTHON}")
    print(f"{'metric':<30} {'seed deployment':>16} {'this image':>12} {'target':>10} {'ok':>4}")
    for row in rows:
        verdict = "" if row.ok is None else ("yes" if row.ok else "NO")
        print(f"{row.metric:<30} {row.seed:>16} {row.measured:>12} {row.target:>10} {verdict:>4}")
    return 0 if all(row.ok is not False for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
