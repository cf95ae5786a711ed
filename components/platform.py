"""The deployment targets behind one seam: `escalafin:target` picks a composition.

Every target's composition is a ComponentResource that takes `EscalaFinArgs` (the same
validated settings, read through the same typed parts for the concerns both targets have)
and exposes the same typed `ContractOutputs`, plus the outputs only it has. `__main__.py`
declares one and exports both; nothing else knows which target runs. Why the seam sits at
the composition and not at each concern (image, database, ...): docs/targets.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pulumi

from components.aws.escalafin_aws import EscalaFinAws
from components.escalafin import EscalaFin
from components.settings import Target
from components.specs import CONTRACT_OUTPUTS, ContractOutputs, EscalaFinArgs

__all__ = ["COMPOSITIONS", "Deployment", "EscalaFinArgs", "deploy", "export", "stack_outputs"]


class Deployment(Protocol):
    """What a target's composition exposes."""

    @property
    def contract(self) -> ContractOutputs: ...

    @property
    def extra_outputs(self) -> Mapping[str, Any]:
        """Outputs only this target has (containers to stop for a restore, the ECS service)."""
        ...


COMPOSITIONS: dict[Target, Callable[[str, EscalaFinArgs], Deployment]] = {
    "docker-host": EscalaFin,
    "aws-ecs": EscalaFinAws,
}


def deploy(name: str, args: EscalaFinArgs) -> Deployment:
    """Declare the whole deployment on the stack's target."""
    return COMPOSITIONS[args.settings.target](name, args)


def stack_outputs(deployment: Deployment) -> dict[str, Any]:
    """The contract outputs, the generated secrets (as secrets), then the target's extras;
    an extra may not shadow a contract output."""
    shadowed = sorted(set(deployment.extra_outputs) & {*CONTRACT_OUTPUTS})
    if shadowed:
        raise AssertionError(f"target outputs shadow the contract: {', '.join(shadowed)}")
    return deployment.contract.exports() | dict(deployment.extra_outputs)


def export(deployment: Deployment) -> None:
    for key, value in stack_outputs(deployment).items():
        pulumi.export(key, value)
