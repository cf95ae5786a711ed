"""Keep secretness visible to validation policies.

pulumi-policy (Python, 1.x) unwraps secret values while deserialising the
props it hands to `validate`, so a policy cannot tell `pulumi config set
--secret` values from plaintext ones. The engine does send the secret marker
on the wire; this shim turns it into a `pulumi_policy.Secret` instead of
dropping it. Checks then read values through props.reveal()/is_secret().
Installed by __main__.py only (never at import), so importing the checks in
tests has no side effects.
"""

from __future__ import annotations

from typing import Any

import pulumi_policy.deserialize as _deserialize
import pulumi_policy.policy as _policy
from pulumi_policy import Secret

_SIG_KEY = _deserialize.SPECIAL_SIG_KEY
_SECRET_SIG = _deserialize.SPECIAL_SECRET_SIG
_original = _deserialize.deserialize_properties


def mark_secrets(value: Any) -> Any:
    """Replace wire-format secrets ({sig: secret, value: v}) with Secret(v), recursively."""
    if isinstance(value, list):
        return [mark_secrets(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:  # pyright: ignore[reportUnknownMemberType]
            return Secret(mark_secrets(value.get("value")))  # pyright: ignore[reportUnknownMemberType]
        return {k: mark_secrets(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    return value


def deserialize_keeping_secrets(props: dict[str, Any], proxy_secrets: bool = False) -> Any:
    return _original(mark_secrets(props), proxy_secrets)


def install() -> None:
    """Make the analyzer's validate() calls see Secret markers."""
    setattr(_policy, "deserialize_properties", deserialize_keeping_secrets)  # noqa: B010
