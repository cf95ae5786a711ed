"""The policy pack's checks: each with compliant and violating props, then the real program.

The last tests run every policy over the resources `run_program` records for
dev and prod (secret values wrapped in `Secret` exactly where the program sent
them as secrets), proving the program as written complies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pulumi_policy.policy as pulumi_policy_module
import pytest
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, Secret
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policy import containers, secret_markers, storage
from policy.pack import POLICIES
from tests.support.program import Resource, run_program

pytestmark = pytest.mark.unit

ANY_IP = "0.0.0.0"  # noqa: S104 - a published-everywhere port is what these tests violate
HEALTHY = {"tests": ["CMD", "true"], "interval": "10s"}


def container(**props: Any) -> dict[str, Any]:
    return {"image": "sha256:abc", "healthcheck": HEALTHY, **props}


def labelled(component: str, **props: Any) -> dict[str, Any]:
    return container(labels=[{"label": "escalafin.component", "value": component}], **props)


# ------------------------------------------------------------------ healthcheck


def test_healthcheck_present_passes() -> None:
    assert containers.missing_healthcheck(container()) == []


@pytest.mark.parametrize("hc", [None, {}, {"tests": []}, {"tests": ["NONE"]}])
def test_healthcheck_missing_or_disabled_fails(hc: Any) -> None:
    [message] = containers.missing_healthcheck(container(healthcheck=hc))
    assert "no healthcheck" in message


# ------------------------------------------------------------------ data ports


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1"])
def test_db_port_on_loopback_passes(ip: str) -> None:
    props = container(ports=[{"internal": 5432.0, "external": 5432.0, "ip": ip}])
    assert containers.data_port_beyond_loopback(props) == []


@pytest.mark.parametrize(
    "port",
    [
        {"internal": 5432.0, "external": 5432.0},  # ip unset = 0.0.0.0
        {"internal": 6379, "external": 16379, "ip": ANY_IP},
        {"internal": 5432, "ip": "10.0.0.5"},
    ],
)
def test_db_or_cache_port_beyond_loopback_fails(port: dict[str, Any]) -> None:
    [message] = containers.data_port_beyond_loopback(container(ports=[port]))
    assert f"port {int(port['internal'])} published on" in message


@pytest.mark.parametrize(
    "props",
    [
        container(image="postgres:17-alpine", ports=[{"internal": 15432, "ip": ANY_IP}]),
        container(image="docker.io/library/redis:7", ports=[{"internal": 7000}]),
        labelled("postgres", ports=[{"internal": 6000, "ip": ANY_IP}]),
    ],
)
def test_any_port_of_a_database_image_or_label_counts(props: dict[str, Any]) -> None:
    assert len(containers.data_port_beyond_loopback(props)) == 1


def test_app_port_on_all_interfaces_is_not_a_data_port() -> None:
    props = labelled("app", ports=[{"internal": 3000, "ip": ANY_IP}])
    assert containers.data_port_beyond_loopback(props) == []


# ------------------------------------------------------------------ only the ingress is public


@pytest.mark.parametrize(
    "props",
    [
        labelled("ingress", ports=[{"internal": 80, "external": 80, "ip": ANY_IP}]),
        labelled("ingress", ports=[{"internal": 443, "external": 443}]),  # unset ip = 0.0.0.0
        labelled("objectstore", ports=[{"internal": 9000, "ip": "127.0.0.1"}]),
        labelled("postgres", ports=[{"internal": 5432, "ip": "::1"}]),
        container(),
    ],
)
def test_ingress_anywhere_and_others_on_loopback_pass(props: dict[str, Any]) -> None:
    assert containers.port_beyond_loopback_outside_ingress(props) == []


@pytest.mark.parametrize(
    "props",
    [
        labelled("app", ports=[{"internal": 3000, "external": 3000, "ip": ANY_IP}]),
        labelled("objectstore", ports=[{"internal": 9000, "external": 9000}]),
        container(ports=[{"internal": 8080, "ip": "10.0.0.5"}]),  # unlabelled
    ],
)
def test_anything_but_the_ingress_beyond_loopback_fails(props: dict[str, Any]) -> None:
    [message] = containers.port_beyond_loopback_outside_ingress(props)
    assert "only the ingress" in message


def test_app_publishing_any_port_fails_even_on_loopback() -> None:
    props = labelled("app", ports=[{"internal": 3000, "external": 3000, "ip": "127.0.0.1"}])
    [message] = containers.app_publishes_ports(props)
    assert "publishes port(s) 3000" in message
    assert containers.app_publishes_ports(labelled("app")) == []
    assert containers.app_publishes_ports(labelled("ingress", ports=[{"internal": 80}])) == []


# ------------------------------------------------------------------ app user


@pytest.mark.parametrize("user", ["1001:1001", "1001", "nextjs"])
def test_app_non_root_passes(user: str) -> None:
    assert containers.app_runs_as_root(labelled("app", user=user)) == []


@pytest.mark.parametrize("user", [None, "", "root", "0", "0:0", "root:root"])
def test_app_as_root_fails(user: str | None) -> None:
    [message] = containers.app_runs_as_root(labelled("app", user=user))
    assert "non-root" in message


def test_root_is_fine_for_non_app_containers() -> None:
    assert containers.app_runs_as_root(labelled("postgres")) == []


# ------------------------------------------------------------------ secrets


def test_secret_env_and_args_as_secrets_pass() -> None:
    props = container(
        envs=[
            "NODE_ENV=production",
            Secret("DATABASE_URL=postgresql://u:pw@postgres:5432/db"),
            Secret("NEXTAUTH_SECRET=s3cr3t"),
            "OPENPAY_PUBLIC_KEY=pk_live",
            "EMPTY_TOKEN=",
        ],
        command=["redis-server", "--requirepass", Secret("pw")],
    )
    assert containers.plaintext_secrets(props) == []


def test_whole_env_list_secret_passes() -> None:
    assert containers.plaintext_secrets(container(envs=Secret(["DB_PASSWORD=x"]))) == []


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ("POSTGRES_PASSWORD=hunter2", "POSTGRES_PASSWORD"),
        ("NEXTAUTH_SECRET=abc", "NEXTAUTH_SECRET"),
        ("GITHUB_TOKEN=ghp_x", "GITHUB_TOKEN"),
        ("OPENPAY_PRIVATE_KEY=sk_x", "OPENPAY_PRIVATE_KEY"),
        ("SENTRY_DSN=https://k@o.ingest.sentry.io/1", "SENTRY_DSN"),
        ("DATABASE_URL=postgresql://user:pw@db:5432/app", "DATABASE_URL"),
    ],
)
def test_plaintext_secret_env_fails_naming_it_not_its_value(env: str, named: str) -> None:
    [message] = containers.plaintext_secrets(container(envs=["A=b", env]))
    assert named in message
    assert env.split("=", 1)[1] not in message


def test_plaintext_secret_command_argument_fails() -> None:
    props = container(command=["redis-server", "--requirepass", "hunter2"])
    [message] = containers.plaintext_secrets(props)
    assert "--requirepass" in message and "hunter2" not in message


# ------------------------------------------------------------------ unknowns (preview)


def test_unknown_values_are_not_judged_during_preview() -> None:
    props = unknown_checking_proxy(
        {
            "healthcheck": UNKNOWN_STRING_VALUE,
            "user": UNKNOWN_STRING_VALUE,
            "labels": [{"label": "escalafin.component", "value": "app"}],
            "envs": ["A=b", UNKNOWN_STRING_VALUE],
            "ports": [{"internal": 5432, "ip": UNKNOWN_STRING_VALUE}],
        }
    )
    for check in (
        containers.missing_healthcheck,
        containers.app_runs_as_root,
        containers.plaintext_secrets,
        containers.data_port_beyond_loopback,
        containers.port_beyond_loopback_outside_ingress,
    ):
        assert check(props) == []


def test_shim_keeps_secret_markers_through_the_analyzer_deserialiser() -> None:
    sig = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
    wire = {"envs": ["A=b", {**sig, "value": "X_PASSWORD=pw"}], "user": "1001"}
    props = unknown_checking_proxy(secret_markers.deserialize_keeping_secrets(wire))
    assert containers.plaintext_secrets(props) == []
    plain = unknown_checking_proxy(
        secret_markers.deserialize_keeping_secrets({"envs": ["X_PASSWORD=pw"]})
    )
    assert len(containers.plaintext_secrets(plain)) == 1


# ------------------------------------------------------------------ volumes


def vol(name: str, *, protect: bool = False) -> storage.Res:
    return storage.Res(storage.VOLUME, f"urn:vol:{name}", {"name": name}, protect=protect)


def ctr(name: str, props: dict[str, Any]) -> storage.Res:
    return storage.Res(storage.CONTAINER, f"urn:ctr:{name}", props)


def pg_with(volume: dict[str, Any]) -> storage.Res:
    return ctr("pg", labelled("postgres", volumes=[volume]))


def test_declared_protected_data_volume_passes() -> None:
    stack = [vol("pgdata", protect=True), pg_with({"volumeName": "pgdata", "containerPath": "/d"})]
    assert storage.unretained_data(stack, require_protect=True) == []


def test_unprotected_data_volume_fails_only_when_required() -> None:
    stack = [vol("pgdata"), pg_with({"volumeName": "pgdata", "containerPath": "/d"})]
    assert storage.unretained_data(stack, require_protect=False) == []
    [(urn, message)] = storage.unretained_data(stack, require_protect=True)
    assert urn == "urn:vol:pgdata" and "not protected" in message


@pytest.mark.parametrize(
    ("mount", "says"),
    [
        ({"containerPath": "/var/lib/postgresql/data"}, "anonymous volume"),
        ({"volumeName": "elsewhere", "containerPath": "/d"}, "does not declare"),
    ],
)
def test_anonymous_or_undeclared_data_volume_fails(mount: dict[str, Any], says: str) -> None:
    [(urn, message)] = storage.unretained_data(
        [vol("pgdata"), pg_with(mount)], require_protect=False
    )
    assert urn == "urn:ctr:pg" and says in message


# ------------------------------------------------------------------ buckets

BUCKET_URN = "urn:bucket"
TLS_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
)


def hardened_bucket() -> dict[str, storage.Res]:
    def part(type_: str, props: dict[str, Any]) -> storage.Res:
        return storage.Res(type_, f"urn:{type_}", {"bucket": "b-id", **props}, [BUCKET_URN])

    return {
        "bucket": storage.Res("aws:s3/bucket:Bucket", BUCKET_URN, {"bucket": "b"}),
        "versioning": part(
            next(iter(storage.VERSIONING)), {"versioningConfiguration": {"status": "Enabled"}}
        ),
        "encryption": part(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
        ),
        "block": part(storage.ACCESS_BLOCK, dict.fromkeys(storage.ACCESS_BLOCK_FLAGS, True)),
        "policy": part(storage.BUCKET_POLICY, {"policy": TLS_POLICY}),
    }


def test_hardened_bucket_passes() -> None:
    assert storage.unhardened_buckets(list(hardened_bucket().values())) == []


def test_parts_found_by_bucket_name_without_dependencies() -> None:
    parts = hardened_bucket()
    stack = [parts.pop("bucket")] + [
        storage.Res(r.type, r.urn, {**r.props, "bucket": "b"}) for r in parts.values()
    ]
    assert storage.unhardened_buckets(stack) == []


@pytest.mark.parametrize(
    ("drop", "change", "says"),
    [
        ("versioning", None, "versioning"),
        (None, ("versioning", {"versioningConfiguration": {"status": "Suspended"}}), "versioning"),
        ("encryption", None, "encryption"),
        ("block", None, "BucketPublicAccessBlock"),
        (None, ("block", {"blockPublicAcls": True}), "BucketPublicAccessBlock"),
        ("policy", None, "SecureTransport"),
        (None, ("policy", {"policy": json.dumps({"Statement": []})}), "SecureTransport"),
    ],
)
def test_bucket_missing_a_control_fails_naming_it(
    drop: str | None, change: tuple[str, dict[str, Any]] | None, says: str
) -> None:
    parts = hardened_bucket()
    if drop:
        del parts[drop]
    if change:
        key, props = change
        old = parts[key]
        parts[key] = storage.Res(old.type, old.urn, props, old.dependencies)
    [(urn, message)] = storage.unhardened_buckets(list(parts.values()))
    assert urn == BUCKET_URN and says in message


def test_controls_of_another_bucket_do_not_count() -> None:
    other = hardened_bucket()
    lone = storage.Res("aws:s3/bucket:Bucket", "urn:lone", {"bucket": "lone"})
    stack = [*other.values(), lone]
    assert [urn for urn, _ in storage.unhardened_buckets(stack)] == ["urn:lone"]


def test_s3_compatible_store_bucket_is_exempt() -> None:
    lone = storage.Res(
        "aws:s3/bucket:Bucket",
        "urn:lone",
        {"bucket": "x"},
        provider_props={"endpoints": '[{"s3":"http://s3:9000"}]'},
    )
    assert storage.unhardened_buckets([lone]) == []


# ------------------------------------------------------------------ the real program


def as_props(resource: Resource) -> Any:
    """Recorded inputs with Secret markers where the program sent secrets."""

    def wrap(value: Any, path: str) -> Any:
        if path in resource.secret_paths:
            return Secret(value)
        if isinstance(value, dict):
            return {k: wrap(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, list):
            return [wrap(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    return unknown_checking_proxy(wrap(resource.inputs, ""))


def provider_inputs(r: Resource, providers: dict[str, Resource]) -> dict[str, Any] | None:
    """A provider reference is "<urn>::<id>"; default providers are not recorded."""
    provider = providers.get(r.provider.rsplit("::", 1)[0]) if r.provider else None
    return provider.inputs if provider else None


@cache
def stack_resources(stack: str) -> tuple[list[storage.Res], list[Resource]]:
    run = run_program(stack)
    by_urn = {r.urn: r for r in run.resources}
    providers = {r.urn: r for r in run.resources if r.type.startswith("pulumi:providers:")}
    res = [
        storage.Res(
            r.type,
            r.urn,
            as_props(r),
            r.dependencies,
            r.protect,
            provider_inputs(r, providers),
        )
        for r in run.resources
        if r.custom
    ]
    return res, list(by_urn.values())


CONTAINER_CHECKS: list[Callable[[Any], list[str]]] = [
    containers.missing_healthcheck,
    containers.data_port_beyond_loopback,
    containers.port_beyond_loopback_outside_ingress,
    containers.app_publishes_ports,
    containers.app_runs_as_root,
    containers.plaintext_secrets,
]


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("check", CONTAINER_CHECKS, ids=lambda c: c.__name__)
def test_program_containers_comply(stack: str, check: Callable[[Any], list[str]]) -> None:
    resources, _ = stack_resources(stack)
    found = {r.urn: check(r.props) for r in resources if r.type == storage.CONTAINER}
    assert len(found) >= 3
    assert {urn: msgs for urn, msgs in found.items() if msgs} == {}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_program_data_is_retained(stack: str) -> None:
    resources, recorded = stack_resources(stack)
    assert storage.unretained_data(resources, require_protect=stack == "prod") == []
    # what the engine hides from policy packs, checked on the registrations themselves
    volumes = [r for r in recorded if r.type == storage.VOLUME]
    assert volumes and all(r.retain_on_delete for r in volumes)


def test_program_prod_bucket_is_hardened() -> None:
    resources, _ = stack_resources("prod")
    assert [r for r in resources if r.type in storage.BUCKET_TYPES]
    assert storage.unhardened_buckets(resources) == []


def test_program_dev_bucket_is_hardened_or_on_an_s3_compatible_store() -> None:
    resources, _ = stack_resources("dev")
    assert storage.unhardened_buckets(resources) == []


def test_pack_declares_every_policy_once() -> None:
    names = [p.name for p in POLICIES]
    assert sorted(names) == sorted(set(names))
    assert set(names) == {
        "container-healthcheck",
        "data-ports-loopback-only",
        "only-ingress-beyond-loopback",
        "app-publishes-no-port",
        "app-not-root",
        "no-plaintext-secrets",
        "data-volumes-retained",
        "backup-bucket-hardened",
        "rds-private-encrypted",
        "rds-protected",
        "cache-encrypted-authenticated",
        "task-secrets-not-plaintext",
        "tasks-without-public-ip",
        "ingress-web-ports-only",
        "log-retention",
    }


# ------------------------------------------------------------------ through the analyzer itself


def analyze(props: dict[str, Any]) -> dict[str, list[str]]:
    """The pack's resource policies run as `pulumi preview` runs them (an AnalyzeRequest)."""
    servicer = pulumi_policy_module._PolicyAnalyzerServicer(  # pyright: ignore[reportPrivateUsage]
        "escalafin", "0.0.1", POLICIES, EnforcementLevel.MANDATORY
    )
    request = analyzer_pb2.AnalyzeRequest(
        type=storage.CONTAINER, urn="urn:pulumi:dev::escalafin::app", name="app"
    )
    request.properties.update(props)
    response = servicer.Analyze(request, None)
    found: dict[str, list[str]] = {}
    for d in response.diagnostics:
        found.setdefault(d.policyName, []).append(d.message)
    return found


WIRE_SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
APP_WIRE = labelled("app", user="1001:1001", envs=[{**WIRE_SECRET, "value": "DB_PASSWORD=pw"}])


def test_analyzer_without_the_shim_loses_secretness() -> None:
    """Why secret_markers exists: stock pulumi-policy unwraps secrets before validate()."""
    assert "no-plaintext-secrets" in analyze(APP_WIRE)


def test_analyzer_with_the_shim_sees_secrets_and_still_flags_plaintext(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = getattr(pulumi_policy_module, "deserialize_properties")  # noqa: B009
    monkeypatch.setattr(pulumi_policy_module, "deserialize_properties", original)  # restored after
    secret_markers.install()
    assert analyze(APP_WIRE) == {}
    plaintext = labelled("app", user="0", envs=["DB_PASSWORD=pw"])
    found = analyze(plaintext)
    assert set(found) == {"no-plaintext-secrets", "app-not-root"}
    assert "pw" not in found["no-plaintext-secrets"][0].replace("PASSWORD", "")


def test_analyzer_refuses_a_published_app_as_the_old_program_declared_it() -> None:
    """The app as it was before the ingress: port 3000 on every address in prod."""
    old_app = labelled(
        "app", user="1001:1001", ports=[{"internal": 3000, "external": 3000, "ip": ANY_IP}]
    )
    assert set(analyze(old_app)) == {"only-ingress-beyond-loopback", "app-publishes-no-port"}
