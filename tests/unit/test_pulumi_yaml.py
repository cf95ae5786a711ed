"""Pulumi.yaml declares exactly the keys settings.py reads, with the same types and defaults."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.config_schema import KEYS, Key
from scripts import sync_config
from tests.support.program import PROJECT_DIR

pytestmark = pytest.mark.unit


def declared() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]


def test_same_keys() -> None:
    assert list(declared()) == [k.name for k in KEYS]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.name)
def test_key_matches_schema(key: Key) -> None:
    spec = declared()[key.name]
    assert spec["type"] == key.kind
    assert spec["description"] == key.description
    assert spec.get("secret", False) is key.secret
    if key.default is not None and not key.by_env:
        assert spec["default"] == sync_config.typed_default(key)
    else:
        assert "default" not in spec  # env-specific or computed defaults live in settings.py


def test_project_runtime() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["name"] == "escalafin"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == "venv"


@pytest.mark.parametrize("stack", ["dev", "prod", "aws-prod"])
def test_stack_files_use_declared_keys(stack: str) -> None:
    config = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    names = {k.name for k in KEYS}
    for full in config:
        namespace, key = full.split(":", 1)
        if namespace == "escalafin":
            assert key in names, f"{full} in Pulumi.{stack}.yaml is not a known key"


def test_generated_files_are_current() -> None:
    """`python -m scripts.sync_config` regenerates both from components/config_schema.py."""
    assert declared() == sync_config.config_block()
    readme = (PROJECT_DIR / "README.md").read_text()
    assert sync_config.readme_table() in readme
