"""The contract every deployment target keeps, checked on each target under mocks.

Each run evaluates the real __main__.py (components/platform.py picks the composition by
escalafin:target) for a real stack file.

Same outputs with the same meaning, secrets never in plaintext (state, task definitions,
outputs), the app only after migrations and the seed, backups scheduled into the exported
bucket, the monitored health URL being the one the target's own health checks use. Targets
come from tests/support/targets.py: docker-host (dev, prod stack files) and aws-ecs (the
example stack as prod and as dev).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from components import platform
from components.specs import CONTRACT_OUTPUTS, ContractOutputs
from tests.support.program import ProgramRun
from tests.support.targets import (
    CRON_DAILY_2AM,
    MIGRATIONS,
    PASSWORD,
    SEED,
    TARGETS,
    TargetView,
    depends_on,
    plaintext_leaks,
    secret_values,
)

pytestmark = pytest.mark.unit


def test_the_contract_names_the_outputs_monitors_and_tools_read() -> None:
    assert set(CONTRACT_OUTPUTS) == {
        "appUrl",
        "healthUrl",
        "monitoring",
        "imageDigest",
        "backupBucket",
    }


@pytest.fixture(scope="module", params=TARGETS, ids=lambda t: t.name)
def target(request: pytest.FixtureRequest) -> tuple[TargetView, ProgramRun]:
    view: TargetView = request.param
    return view, view.run()


def test_same_outputs_with_the_same_meaning(target: tuple[TargetView, ProgramRun]) -> None:
    _, run = target
    assert set(CONTRACT_OUTPUTS) <= set(run.outputs)
    app_url = run.outputs["appUrl"]
    assert run.outputs["healthUrl"] == app_url + "/api/health"
    monitoring = run.outputs["monitoring"]
    assert monitoring["url"] == run.outputs["healthUrl"]
    assert (monitoring["method"], monitoring["expectedStatus"]) == ("GET", 200)
    assert (monitoring["jsonField"], monitoring["expectedValue"]) == ("status", "healthy")
    assert run.outputs["imageDigest"]
    assert run.outputs["backupBucket"]


def test_exactly_the_contract_the_generated_secrets_and_the_targets_extras(
    target: tuple[TargetView, ProgramRun],
) -> None:
    """A target that drops (or renames) an output fails here, whatever its kind."""
    view, run = target
    generated = {r.name for r in run.of_type(PASSWORD)}
    assert generated and generated <= run.secret_outputs
    assert set(run.outputs) == {*CONTRACT_OUTPUTS, *generated, *view.extras}


def test_secrets_never_in_plaintext(target: tuple[TargetView, ProgramRun]) -> None:
    _, run = target
    assert len(secret_values(run)) >= 5
    assert plaintext_leaks(run) == []


def test_app_waits_for_migrations_and_seed(target: tuple[TargetView, ProgramRun]) -> None:
    view, run = target
    migrations, seed = run.one(MIGRATIONS, "migrations"), run.one(SEED, "seed")
    waits_for = depends_on(run, view.app(run))
    assert {migrations.urn, seed.urn} <= waits_for
    assert migrations.urn in seed.dependencies
    for lifecycle in (migrations, seed):
        assert lifecycle.is_secret("database_url")
        assert lifecycle.inputs["database_identity"]
    assert seed.is_secret("passwords")


def test_backups_scheduled_into_the_exported_bucket(target: tuple[TargetView, ProgramRun]) -> None:
    view, run = target
    backups = view.backups(run)
    assert CRON_DAILY_2AM.match(backups.schedule), backups.schedule
    assert backups.bucket_env == run.outputs["backupBucket"]


def test_monitored_health_url_is_what_the_target_checks(
    target: tuple[TargetView, ProgramRun],
) -> None:
    view, run = target
    path = run.outputs["healthUrl"].removeprefix(run.outputs["appUrl"])
    checks = view.health_paths(run)
    assert checks and all(path in check for check in checks), checks


def test_a_target_output_may_not_shadow_the_contract() -> None:
    @dataclass
    class Shadowing:
        contract: ContractOutputs
        extra_outputs: dict[str, Any]

    contract = ContractOutputs(
        "https://a.example", "https://a.example/h", cast(Any, "sha256:1"), cast(Any, "b")
    )
    assert platform.stack_outputs(Shadowing(contract, {"appService": "s"}))["appService"] == "s"
    with pytest.raises(AssertionError, match="target outputs shadow the contract: healthUrl"):
        platform.stack_outputs(Shadowing(contract, {"healthUrl": "elsewhere"}))
