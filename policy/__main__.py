"""EscalaFin policy pack: `pulumi preview --policy-pack policy` (all policies mandatory)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `policy.*` from the project root

from pulumi_policy import EnforcementLevel, PolicyPack

from policy import secret_markers
from policy.pack import POLICIES

secret_markers.install()
PolicyPack("escalafin", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
