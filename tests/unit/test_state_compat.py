"""What existing stacks' state depends on: pickled provider references and no local paths.

pulumi's dynamic provider host unpickles `__provider` from the *stored* state for
`refresh` and `destroy` (pulumi/pulumi sdk/python/lib/pulumi/dynamic/__main__.py,
`get_provider`), and dill stores a provider class by reference — module and class
name — not by value. Renaming or moving any of these classes breaks refresh and
destroy of every stack deployed before the rename. The rule: never rename or move
them; to change one, add a new class and keep the old one importable. This test
pins the references so a rename fails here first.

Paths in state must be relative to the project directory (the working directory of
the engine, the providers and the dynamic provider host): an absolute path of the
machine that last ran `pulumi` would break, or spuriously change, every other checkout.
"""

from __future__ import annotations

import base64
import pickletools
from typing import Any

import pytest

from tests.support.program import PROJECT_DIR, run_program

pytestmark = pytest.mark.unit

DYNAMIC = "pulumi-python:dynamic/escalafin:"
PINNED = {
    f"{DYNAMIC}DatabaseMigrations": ("lifecycle.providers", "MigrationsProvider"),
    f"{DYNAMIC}ConditionalSeed": ("lifecycle.providers", "SeedProvider"),
    f"{DYNAMIC}StoreBucket": ("lifecycle.providers", "StoreBucketProvider"),
    f"{DYNAMIC}HealthGate": ("lifecycle.health_gate", "HealthGateProvider"),
    f"{DYNAMIC}ImageHistory": ("lifecycle.image_history", "ImageHistoryProvider"),
    f"{DYNAMIC}IngressRoute": ("ingress.route", "IngressRouteProvider"),
}


def pickled_globals(encoded: str) -> list[tuple[str, str]]:
    """(module, name) of every global a pickle refers to, read without unpickling it."""
    found: list[tuple[str, str]] = []
    strings: list[str] = []
    for op, arg, _pos in pickletools.genops(base64.b64decode(encoded)):
        if op.name in {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE"}:
            strings.append(str(arg))
        elif op.name == "STACK_GLOBAL":
            found.append((strings[-2], strings[-1]))
        elif op.name == "GLOBAL":
            module, name = str(arg).split(" ", 1)
            found.append((module, name))
    return found


@pytest.mark.parametrize("stack", ["dev", "prod", "aws-prod"])
def test_dynamic_providers_are_pickled_by_pinned_reference(stack: str) -> None:
    dynamic = [r for r in run_program(stack).resources if r.type.startswith("pulumi-python:")]
    assert dynamic
    for r in dynamic:
        assert r.type in PINNED, f"new dynamic resource {r.type}: pin its provider here"
        # Only the class itself: a pickle by value would carry code objects and builtins.
        assert pickled_globals(r.inputs["__provider"]) == [PINNED[r.type]], r.type


def test_pinned_classes_are_importable() -> None:
    import importlib  # noqa: PLC0415

    for module, name in PINNED.values():
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]  # pyright: ignore[reportUnknownVariableType]
    return []


@pytest.mark.parametrize("stack", ["dev", "prod", "aws-prod"])
def test_no_path_of_this_machine_reaches_state(stack: str) -> None:
    for r in run_program(stack).resources:
        leaked = [s for s in strings_in(r.inputs) if str(PROJECT_DIR) in s]
        assert not leaked, f"{r.type} {r.name}: {leaked}"
