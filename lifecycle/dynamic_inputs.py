"""What every dynamic provider here needs from the engine's input conventions.

During preview an input not known yet arrives as pulumi's UNKNOWN sentinel (also
nested); `__provider` (the pickled provider) travels with every input and output and
is never an output of ours. Pure, shared by providers.py, health_gate.py and
image_history.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from pulumi.dynamic import CheckFailure

UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN


def is_unknown(value: object) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())  # pyright: ignore[reportUnknownVariableType,reportUnknownArgumentType]
    return False


def changed_inputs(
    olds: Mapping[str, Any], news: Mapping[str, Any], keys: Iterable[str]
) -> list[str]:
    """The `keys` whose new value differs from the old one, or is not known yet."""
    return [k for k in keys if is_unknown(news.get(k)) or olds.get(k) != news.get(k)]


def missing(news: Mapping[str, Any], required: Iterable[str]) -> list[CheckFailure]:
    """A check failure per required input that is empty (unknowns pass)."""
    return [
        CheckFailure(key, f"{key} is required")
        for key in required
        if not is_unknown(news.get(key)) and not news.get(key)
    ]


def without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "__provider"}
