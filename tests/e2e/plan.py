"""Pure bookkeeping for the e2e harness: order, mock→real substitution, input checks, diffs.

Kept free of Docker so the harness's decisions (what to realise first, which
recorded input keys it understands, what a mocked value really is, whether a
change is applied in place or by replacement) can be read and tested on their
own. The diff rules are the providers' own, cited in harness.py's docstring.
Test infrastructure, not the product path.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks

from tests.support.program import Resource, _mock_outputs  # pyright: ignore[reportPrivateUsage]

DYNAMIC_PREFIX = "pulumi-python:dynamic/"
MIN_SUBSTITUTED_LEN = 8  # shorter mock values (numbers, flags) are never rewritten

NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
IMAGE = "docker:index/image:Image"
CONTAINER = "docker:index/container:Container"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


class Apply(enum.Enum):
    """What a changed input costs, per the provider's schema."""

    REPLACE = "replace"  # ForceNew / RequiresReplace
    API = "api"  # applied by the provider's Update through the engine's API
    START = "start"  # must_run false -> true: the provider starts the container
    STATE = "state"  # recorded in state only; nothing reaches the engine


# kreuzwerker/terraform-provider-docker v4.5.0 (pulumi-docker 5.1-5.2),
# internal/provider/resource_docker_container.go schema (ForceNew flags) and
# resource_docker_container_funcs.go `resourceDockerContainerUpdate` (what reaches Docker).
CONTAINER_RULES: dict[str, Apply] = {
    "name": Apply.REPLACE, "image": Apply.REPLACE, "envs": Apply.REPLACE,
    "command": Apply.REPLACE, "entrypoints": Apply.REPLACE, "user": Apply.REPLACE,
    "labels": Apply.REPLACE, "networksAdvanced": Apply.REPLACE, "ports": Apply.REPLACE,
    "volumes": Apply.REPLACE, "stopSignal": Apply.REPLACE, "stopTimeout": Apply.REPLACE,
    "readOnly": Apply.REPLACE, "uploads": Apply.REPLACE,
    "restart": Apply.API, "memory": Apply.API, "memorySwap": Apply.API,
    "mustRun": Apply.START,
    # Not ForceNew and not in the Update function's list: a change is "applied" to state only.
    "healthcheck": Apply.STATE, "tmpfs": Apply.STATE, "wait": Apply.STATE,
    "waitTimeout": Apply.STATE, "destroyGraceSeconds": Apply.STATE,
}  # fmt: skip
# Schema defaults (`Default:`); an unset TypeMap (tmpfs) reads back as an empty map.
CONTAINER_DEFAULTS: dict[str, Any] = {
    "restart": "no", "mustRun": True, "wait": False, "waitTimeout": 60, "readOnly": False,
    "tmpfs": {},
}  # fmt: skip
# TypeSet attributes compare as sets (schema.HashString / labelSchema), lists keep their order.
CONTAINER_SETS = {"envs", "labels", "networksAdvanced", "volumes", "uploads"}
NETWORK_RULES = {"name": Apply.REPLACE, "internal": Apply.REPLACE, "labels": Apply.REPLACE}
VOLUME_RULES = {"name": Apply.REPLACE, "labels": Apply.REPLACE}
REMOTE_IMAGE_RULES = {"name": Apply.REPLACE, "keepLocally": Apply.STATE}
# hashicorp/terraform-provider-random internal/provider/resource_password.go: every
# attribute has a RequiresReplace plan modifier.
PASSWORD_RULES = {
    k: Apply.REPLACE
    for k in ("length", "special", "overrideSpecial", "upper", "lower", "numeric", "keepers")
}
# The provider's delete-before-replace answer on a replacement (pulumi-terraform-bridge
# pkg/tfbridge/provider.go, Diff: `len(replaces) > 0 && (res.Schema.DeleteBeforeReplace ||
# nameRequiresDeleteBeforeReplace(...))`): pulumi-docker provider/resources.go declares it for
# docker_container; an autonameable `name` the program set itself (networks, volumes) needs it too.
ALWAYS_DELETE_FIRST = {CONTAINER}
DELETE_FIRST_WHEN_NAMED = {NETWORK, VOLUME}
RULES: dict[str, dict[str, Apply]] = {
    CONTAINER: CONTAINER_RULES,
    NETWORK: NETWORK_RULES,
    VOLUME: VOLUME_RULES,
    REMOTE_IMAGE: REMOTE_IMAGE_RULES,
    RANDOM_PASSWORD: PASSWORD_RULES,
}


@dataclass(frozen=True)
class Diff:
    """A provider's answer for one resource: changed keys and how they apply."""

    changed: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    delete_before_replace: bool = False

    @property
    def replace(self) -> bool:
        return bool(self.replace_keys)


def _normalised(key: str, value: Any, sets: set[str], defaults: Mapping[str, Any]) -> Any:
    if value is None:
        value = defaults.get(key)
    if key in sets and isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True) for v in value)  # pyright: ignore[reportUnknownVariableType]
    return value


def schema_diff(
    resource: Resource,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    unknown: Iterable[str] = (),
) -> Diff:
    """Diff `old` state inputs against `new` inputs by the provider's schema for this type.

    `unknown` keys are treated as changed (the engine's dependent-replace walk asks
    "would this resource be replaced if these inputs changed?"). ReplaceOnChanges of
    the resource turns a change of a listed key into a replacement (pulumi/pulumi
    pkg/resource/deploy/step_generator.go, `applyReplaceOnChanges`).
    """
    rules = RULES.get(resource.type)
    if rules is None:
        raise UnmappedInput(resource, "<resource type>", RULES)
    sets = CONTAINER_SETS if resource.type == CONTAINER else set[str]()
    defaults = CONTAINER_DEFAULTS if resource.type == CONTAINER else {}
    unknown_keys = set(unknown)
    changed: list[str] = []
    for key in sorted({*old, *new}):
        if key not in rules:
            raise UnmappedInput(resource, key, rules)
        if key in unknown_keys or _normalised(key, old.get(key), sets, defaults) != _normalised(
            key, new.get(key), sets, defaults
        ):
            changed.append(key)
    listed = resource.replace_on_changes
    replace = [
        k
        for k in changed
        if rules[k] is Apply.REPLACE
        or any(p in (k, "*") or p.startswith((k + ".", k + "[")) for p in listed)
    ]
    delete_first = bool(replace) and (
        resource.type in ALWAYS_DELETE_FIRST
        or (resource.type in DELETE_FIRST_WHEN_NAMED and bool(resource.inputs.get("name")))
    )
    return Diff(tuple(changed), tuple(replace), delete_first)


class UnmappedInput(AssertionError):
    """A recorded input the harness does not know how to realise: fail, never ignore."""

    def __init__(self, resource: Resource, key: str, allowed: Iterable[str]) -> None:
        super().__init__(
            f"{resource.type} {resource.name!r}: input {key!r} is not mapped by the e2e harness; "
            f"mapped: {', '.join(sorted(allowed))}"
        )


def check_keys(
    resource: Resource, values: Mapping[str, Any], allowed: Iterable[str], path: str = ""
) -> None:
    """Raise UnmappedInput for any key of `values` outside `allowed` (None values count too)."""
    allowed_set = set(allowed)
    for key in values:
        if key not in allowed_set:
            raise UnmappedInput(resource, f"{path}{key}", allowed_set)


def mock_id(resource: Resource) -> str:
    """The id the mock monitor gave `resource` (deterministic: type and name)."""
    args = pulumi_mocks.MockResourceArgs(
        typ=resource.type,
        name=resource.name,
        inputs=dict(resource.inputs),
        provider=resource.provider,
        resource_id="",
        custom=resource.custom,
    )
    rid, _ = _mock_outputs(args)
    return rid


def creation_order(resources: list[Resource]) -> list[Resource]:
    """Custom resources, each after its dependencies (a component dependency = its subtree)."""
    custom = [r for r in resources if r.custom]
    children: dict[str, list[Resource]] = {}
    for r in resources:
        children.setdefault(r.parent, []).append(r)

    def customs_under(urn: str) -> set[str]:
        found: set[str] = set()
        for child in children.get(urn, []):
            if child.custom:
                found.add(child.urn)
            found |= customs_under(child.urn)
        return found

    by_urn = {r.urn: r for r in resources}
    needs: dict[str, set[str]] = {}
    for r in custom:
        deps: set[str] = set()
        provider = provider_urn(r)
        for d in [*r.dependencies, *([provider] if provider in by_urn else [])]:
            dep = by_urn.get(d)
            deps |= {d} if dep is not None and dep.custom else customs_under(d)
        needs[r.urn] = deps - {r.urn}
    ordered: list[Resource] = []
    done: set[str] = set()
    pending = list(custom)
    while pending:
        ready = [r for r in pending if needs[r.urn] <= done]
        if not ready:
            names = ", ".join(r.name for r in pending)
            raise AssertionError(f"dependency cycle among recorded resources: {names}")
        for r in ready:
            ordered.append(r)
            done.add(r.urn)
        pending = [r for r in pending if r.urn not in done]
    return ordered


def provider_urn(r: Resource) -> str:
    """URN of the explicit provider a resource was registered with ("" for the default)."""
    return r.provider.rsplit("::", 1)[0] if r.provider else ""


def mock_values(resource: Resource) -> dict[str, str]:
    """Output name → mocked string value for outputs a real provider would compute."""
    values = {"id": mock_id(resource)}
    for key, value in resource.outputs.items():
        if isinstance(value, str) and resource.inputs.get(key) != value:
            values[key] = value
    return values


class Substitutions:
    """Mock value → real value pairs, applied to every string of later inputs."""

    def __init__(self) -> None:
        self._pairs: dict[str, str] = {}

    def learn(self, mocked: Mapping[str, str], real: Mapping[str, Any]) -> None:
        for key, fake in mocked.items():
            actual = real.get(key)
            if len(fake) >= MIN_SUBSTITUTED_LEN and isinstance(actual, str) and fake != actual:
                self._pairs[fake] = actual

    def apply(self, value: Any) -> Any:
        if isinstance(value, str):
            for fake, actual in self._pairs.items():
                if fake in value:
                    value = value.replace(fake, actual)
            return value
        if isinstance(value, list):
            return [self.apply(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
        return value


def go_duration_ns(text: str) -> int:
    """'1m30s' → nanoseconds, as the provider converts healthcheck durations."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    total = 0.0
    number = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = text[i : i + 2] if text[i : i + 2] in units else ch
        if unit not in units or not number:
            raise ValueError(f"{text!r} is not a Go duration (e.g. 10s, 1m30s)")
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    if number:
        raise ValueError(f"{text!r} is not a Go duration: {number!r} has no unit")
    return round(total * 1e9)
