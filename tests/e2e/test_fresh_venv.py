"""Story 8: a fresh clone plus `pulumi install` (requirements.txt only) can preview and deploy.

`pulumi install` makes ./venv from requirements.txt (Pulumi.yaml `virtualenv: venv`);
before every preview/up the language host then runs `python -m pyright <project dir>`
in the project directory (Pulumi.yaml `typechecker: pyright`; pulumi/pulumi
sdk/python/cmd/pulumi-language-python/main.go) and runs the program. The test makes
such a clone at another path, installs requirements.txt with the Pulumi SDKs pinned
to their floors, and does exactly that: the type check, then the program for every
stack file, both targets (under mocks: no engine here). So it proves both that
requirements.txt alone is enough and that no floor admits an SDK without what the program uses
(pulumi-aws 6.x fails both steps: no aws.s3.BucketVersioning). The latest SDKs are
the ones the dev venv runs every other test with. pip needs PyPI: without it the
test skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import day_two
from tests.support.docker_env import unavailable
from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.e2e

PROGRAM = (
    "from tests.support.program import run_program\n"
    "for stack in ('dev', 'prod', 'aws-prod'):\n"
    "    run = run_program(stack)\n"
    "    print(stack, len(run.resources), 'resources')\n"
)
FLOOR = re.compile(r"^(pulumi[a-z-]*)>=([0-9.]+)")


def requirement_lines() -> list[str]:
    """requirements.txt with every Pulumi SDK pinned to its floor."""
    lines: list[str] = []
    for raw in (PROJECT_DIR / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        floor = FLOOR.match(line)
        lines.append(f"{floor[1]}=={floor[2]}" if floor else line)
    return lines


def installed_clone(tmp: Path, lines: list[str]) -> Path:
    clone = day_two.checkout_copy(tmp)
    (clone / "requirements.txt").write_text("\n".join(lines) + "\n")
    subprocess.run([sys.executable, "-m", "venv", str(clone / "venv")], check=True)
    pip = subprocess.run(
        [str(clone / "venv/bin/python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=clone, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    if pip.returncode != 0:
        if "No matching distribution" in pip.stderr or "Could not find a version" in pip.stderr:
            pytest.fail(f"requirements cannot be installed:\n{pip.stderr[-3000:]}")
        unavailable(f"pip could not install requirements.txt: {pip.stderr[-500:]}")
    return clone


def preview_and_up_would_run(clone: Path) -> None:
    python = str(clone / "venv/bin/python")
    typecheck = subprocess.run(
        [python, "-m", "pyright", str(clone)],
        cwd=clone, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert typecheck.returncode == 0, typecheck.stdout[-4000:] + typecheck.stderr[-2000:]
    assert "0 errors" in typecheck.stdout
    program = subprocess.run(
        [python, "-c", PROGRAM], cwd=clone, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert program.returncode == 0, program.stderr[-4000:]
    assert all(f"\n{stack} " in f"\n{program.stdout}" for stack in ("dev", "prod", "aws-prod"))


def test_requirements_txt_alone_at_the_sdk_floors_type_checks_and_runs_the_program(
    tmp_path: Path,
) -> None:
    lines = requirement_lines()
    assert any(line.startswith("pulumi-aws==7.") for line in lines), lines
    preview_and_up_would_run(installed_clone(tmp_path, lines))
