"""Reading resource props the way the policy engine hands them over.

Props arrive as plain dicts in unit tests and behind pulumi-policy's
unknown-checking proxy in a real preview, where touching a value that is not
known yet raises UnknownValueError. Secret values arrive as `Secret` markers
(see secret_markers.py). Every check reads props through these helpers so it
treats unknowns as "cannot judge yet" (checked again at `pulumi up`, when the
values are known) instead of crashing or guessing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import Secret
from pulumi_policy.proxy import UnknownValueError
from pulumi_policy.proxy import _is_unknown as _is_unknown_sentinel  # pyright: ignore[reportPrivateUsage]

UNKNOWN: Any = object()
"""Stands for a value the engine does not know yet (preview of a new resource)."""

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def get(props: Any, key: str, default: Any = None) -> Any:
    """props[key], UNKNOWN if not known yet, `default` if absent or not a mapping."""
    if props is UNKNOWN or not isinstance(props, Mapping):
        return default
    try:
        value = props.get(key, default)  # pyright: ignore[reportUnknownMemberType]
    except UnknownValueError:
        return UNKNOWN
    if _is_unknown_sentinel(value):
        return UNKNOWN
    return default if value is None else value


def items(seq: Any) -> Iterator[Any]:
    """Elements of a list prop; an element not known yet comes out as UNKNOWN."""
    if seq is UNKNOWN or isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
        return
    for i in range(len(seq)):
        try:
            item = seq[i]
        except UnknownValueError:
            yield UNKNOWN
            continue
        yield UNKNOWN if _is_unknown_sentinel(item) else item


def is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def reveal(value: Any) -> Any:
    """The value inside a Secret marker (policies inspect it; they never print it)."""
    while isinstance(value, Secret):
        value = value.value
    return value


def label(props: Any, name: str) -> str | None:
    """Value of a docker label given as [{label, value}, ...]."""
    for entry in items(get(props, "labels")):
        if reveal(get(entry, "label")) == name:
            value = reveal(get(entry, "value"))
            return value if isinstance(value, str) else None
    return None


def as_int(value: Any) -> int | None:
    """Ports come over the wire as floats (5432.0)."""
    value = reveal(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)
