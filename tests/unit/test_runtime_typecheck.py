"""The type check `pulumi preview/up` runs needs only requirements.txt and sees only the program.

Pulumi.yaml sets `typechecker: pyright`, so the Python language host runs
`python -m pyright <project dir>` in ./venv before every preview and up and refuses to
run the program when it fails (pulumi/pulumi sdk/python/cmd/pulumi-language-python/
main.go, `Run`: "The typechecker option is set to pyright, but pyright is not
installed"). ./venv is what `pulumi install` makes from requirements.txt. The decision:
that check covers the program and what it imports (components/, lifecycle/, ingress/,
__main__.py) and nothing else, so a test, a tool or a benchmark can never block a
deploy; `make typecheck` checks everything (pyright.dev.json).
tests/e2e/test_fresh_venv.py runs that exact command in a venv made from requirements.txt.
"""

from __future__ import annotations

import json
import tomllib

import pytest
import yaml

from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.unit

RUNTIME = {"__main__.py", "components", "lifecycle", "ingress"}


def test_pulumi_runs_pyright_from_the_project_venv() -> None:
    options = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["runtime"]["options"]
    assert options["typechecker"] == "pyright"
    assert options["virtualenv"] == "venv"


def test_pyright_and_the_stubs_it_needs_are_runtime_requirements() -> None:
    names = {
        line.split(">")[0].split("[")[0].split("=")[0].strip().lower()
        for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"pyright", "types-docker", "types-croniter", "boto3-stubs"} <= names


def test_the_runtime_check_excludes_everything_but_the_program() -> None:
    config = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["pyright"]
    excluded = set(config["exclude"])
    top_level = {
        p.name
        for p in PROJECT_DIR.iterdir()
        if not p.name.startswith(".")
        and p.name not in {"venv", "__pycache__"}
        and (p.is_dir() or p.suffix == ".py")
    }
    assert top_level - excluded == RUNTIME, "a new top-level folder: runtime or excluded?"
    assert set(config["include"]) == RUNTIME
    assert set(config["strict"]) == {"components", "lifecycle", "ingress"}


def test_make_typecheck_covers_everything() -> None:
    dev = json.loads((PROJECT_DIR / "pyright.dev.json").read_text())
    assert dev["extends"] == "./pyproject.toml"
    assert {"tests", "app", "policy", "tools", "benchmarks", *RUNTIME} <= set(dev["include"])
    assert "pyright -p pyright.dev.json" in (PROJECT_DIR / "Makefile").read_text()
