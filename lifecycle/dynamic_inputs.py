"""The engine's wire conventions every dynamic provider of the stack shares.

During preview an input not known yet arrives as the UNKNOWN sentinel (also
inside maps and lists), so check/diff must treat it as "changed, cannot judge"
and never do I/O with it; the pickled provider travels in `__provider`, which
no output should repeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN


def is_unknown(value: object) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())  # pyright: ignore[reportUnknownVariableType,reportUnknownArgumentType]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return any(is_unknown(v) for v in value)  # pyright: ignore[reportUnknownVariableType,reportUnknownArgumentType]
    return False


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """The trigger keys whose new value differs from the old one or is not known yet."""
    return [k for k in keys if is_unknown(news.get(k)) or olds.get(k) != news.get(k)]


def without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "__provider"}
