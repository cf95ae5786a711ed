"""Regenerate Pulumi.yaml's config block and README's config table from config_schema.

components/config_schema.py is the source of truth; run this after editing it:

    venv/bin/python -m scripts.sync_config

tests/unit/test_pulumi_yaml.py fails when either file is out of date.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from components.config_schema import KEYS, Key

ROOT = Path(__file__).resolve().parent.parent
TABLE_START = "<!-- config-table:start -->"
TABLE_END = "<!-- config-table:end -->"


def typed_default(key: Key) -> Any:
    assert key.default is not None
    if key.kind == "integer":
        return int(key.default)
    if key.kind == "boolean":
        return key.default == "true"
    if key.kind == "array":
        return json.loads(key.default)
    return key.default


def config_block() -> dict[str, dict[str, Any]]:
    block: dict[str, dict[str, Any]] = {}
    for key in KEYS:
        spec: dict[str, Any] = {"type": key.kind, "description": key.description}
        if key.kind == "array":
            spec["items"] = {"type": "string"}
        if key.secret:
            spec["secret"] = True
        if key.default is not None and not key.by_env:
            spec["default"] = typed_default(key)
        block[key.name] = spec
    return block


def readme_table() -> str:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key in KEYS:
        if key.by_env:
            default = ", ".join(f"{env}: `{value}`" for env, value in key.by_env)
        elif key.default is not None:
            default = f"`{key.default}`" if key.default else "(empty)"
        else:
            default = "—"
        kind = key.kind + (" (secret)" if key.secret else "")
        rows.append(f"| `{key.name}` | {kind} | {default} | {key.description.replace('|', '/')} |")
    return "\n".join(rows)


def main() -> None:
    pulumi_yaml = ROOT / "Pulumi.yaml"
    head = pulumi_yaml.read_text().split("\nconfig:\n")[0]
    body = yaml.safe_dump({"config": config_block()}, sort_keys=False, width=100)
    pulumi_yaml.write_text(head + "\n" + body)
    readme = ROOT / "README.md"
    text = readme.read_text()
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    readme.write_text(pattern.sub(f"{TABLE_START}\n{readme_table()}\n{TABLE_END}", text))


if __name__ == "__main__":
    main()
