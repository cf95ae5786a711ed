"""Run the real Pulumi program under mocks and record what it declares.

Used by the unit tier (assert invariants), the e2e harness (realise the
recorded resources on Docker) and the evaluation benchmark. Config comes from
Pulumi.yaml defaults plus Pulumi.<stack>.yaml, exactly as written; `secure:`
values become placeholders. The mock monitor keeps, per resource, the raw
wire inputs so we can tell which values travelled as Pulumi secrets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import runpy
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROJECT = "escalafin"
_SECRET_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
_run_lock = threading.Lock()


@dataclass
class Resource:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    secret_paths: set[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    replace_on_changes: list[str]
    dependencies: list[str]
    provider: str
    outputs: dict[str, Any] = field(default_factory=dict[str, Any])
    property_dependencies: dict[str, list[str]] = field(default_factory=dict[str, list[str]])
    """Input key -> URNs its value came from (what the engine's dependent-replace walk reads)."""
    delete_before_replace_defined: bool = False
    """True when the program set delete_before_replace (either way), overriding the provider."""

    def is_secret(self, path: str) -> bool:
        """True when the value at `path` (or a container of it) went over the wire as a secret."""
        return any(
            path == p or path.startswith(p + ".") or path.startswith(p + "[")
            for p in self.secret_paths
        )


@dataclass
class ProgramRun:
    stack: str
    config: dict[str, str]
    resources: list[Resource]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Resource:
        matches = [r for r in self.resources if r.type == type_ and r.name == name]
        assert len(matches) == 1, f"expected one {type_} named {name}, got {len(matches)}"
        return matches[0]


# ------------------------------------------------------------------ config


def stack_config(
    stack: str,
    overrides: Mapping[str, str | None] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Pulumi.yaml defaults + Pulumi.<stack>.yaml as the engine would hand them to the program.

    `overrides` use full keys ("escalafin:appPort"); None removes a key; `secrets`
    are set as `pulumi config set --secret` would. A value
    given as {"secure": ...} in the stack file becomes a placeholder secret.
    """
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "default" in spec:
            config[f"{PROJECT}:{key}"] = _as_config_string(spec["default"])
    stack_file = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    if stack_file.exists():
        for key, value in (yaml.safe_load(stack_file.read_text()).get("config") or {}).items():
            full = key if ":" in key else f"{PROJECT}:{key}"
            if isinstance(value, dict) and "secure" in value:
                config[full] = f"placeholder-{full.split(':')[1]}"
                secret_keys.append(full)
            else:
                config[full] = _as_config_string(value)
    for key, value in (overrides or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    for key, value in (secrets or {}).items():
        config[key] = value
        secret_keys.append(key)
    return config, secret_keys


def _as_config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


# ------------------------------------------------------------------ mocks


def _mock_outputs(args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
    """Plausible provider outputs: enough for the program's applies to run."""
    inputs = dict(args.inputs)
    digest = hashlib.sha256(f"{args.typ}/{args.name}".encode()).hexdigest()
    rid = f"{args.name}-{digest[:12]}"
    t = args.typ
    if t == "docker:index/image:Image":
        inputs.update(repoDigest=f"sha256:{digest}", baseImageName=inputs.get("imageName"))
    elif t == "docker:index/container:Container" and not inputs.get("name"):
        # The provider autonames containers: <resource name>-<7 hex> (SetAutonaming(255, "-")).
        inputs["name"] = f"{args.name}-{digest[:7]}"
    elif t == "docker:index/remoteImage:RemoteImage":
        inputs.update(
            imageId=f"sha256:{digest}", repoDigest=f"{inputs.get('name')}@sha256:{digest}"
        )
    elif t == "random:index/randomPassword:RandomPassword":
        length = int(inputs.get("length", 32))
        inputs["result"] = secrets.token_urlsafe(length)[:length]
        inputs["bcryptHash"] = "$2a$10$" + digest[:53]
    elif t == "aws:s3/bucket:Bucket":
        rid = str(inputs.get("bucket") or rid)
        inputs.update(bucket=rid, arn=f"arn:aws:s3:::{rid}")
    elif t == "aws:iam/accessKey:AccessKey":
        rid = "AKIA" + digest[:16].upper()
        inputs["secret"] = secrets.token_urlsafe(30)
    elif t.startswith("tls:index/"):
        # Distinct, long fake PEMs so the e2e harness can substitute the real ones.
        for key in ("privateKeyPem", "certPem", "certRequestPem"):
            inputs.setdefault(key, f"mock-{key}-{digest}")
    elif t == "aws:iam/user:User":
        inputs["arn"] = f"arn:aws:iam::123456789012:user/{inputs.get('name')}"
    elif t.startswith("aws:"):
        rid = _aws_outputs(t, args.name, inputs, digest) or rid
    if t == "docker:index/image:Image" and inputs.get("skipPush") is False:
        repository = str(inputs.get("imageName", "")).rsplit(":", 1)[0]
        inputs["repoDigest"] = f"{repository}@sha256:{digest}"
    return rid, inputs


SMTP_CONFIG: dict[str, str | None] = {
    "escalafin:smtpHost": "smtp.example.com",
    "escalafin:smtpPort": "587",
    "escalafin:smtpFrom": "noreply@escalafin.example.com",
}
"""A complete integration (SMTP), as a stack file would set it."""
SENTRY_SECRET = {"escalafin:sentryDsn": "https://key@sentry.example.com/1"}
"""A secret integration value, as `pulumi config set --secret` would set it."""


AWS_ACCOUNT = "123456789012"
AWS_REGION = "us-east-1"


def _aws_outputs(t: str, name: str, inputs: dict[str, Any], digest: str) -> str | None:
    """What pulumi-aws would return for the aws-ecs target's resources (ids, ARNs, endpoints)."""
    service = t.split(":")[1].split("/", maxsplit=1)[0]
    named = str(inputs.get("name") or inputs.get("namePrefix") or name)
    inputs.setdefault("arn", f"arn:aws:{service}:{AWS_REGION}:{AWS_ACCOUNT}:{name}/{digest[:8]}")
    if t == "aws:ecr/repository:Repository":
        inputs.update(
            registryId=AWS_ACCOUNT,
            repositoryUrl=f"{AWS_ACCOUNT}.dkr.ecr.{AWS_REGION}.amazonaws.com/{named}",
        )
    elif t == "aws:rds/instance:Instance":
        inputs.update(
            address=f"{named}.abc123.{AWS_REGION}.rds.amazonaws.com", resourceId=f"db-{digest[:20]}"
        )
    elif t == "aws:elasticache/replicationGroup:ReplicationGroup":
        inputs["primaryEndpointAddress"] = f"master.{named}.abc123.use1.cache.amazonaws.com"
    elif t == "aws:lb/loadBalancer:LoadBalancer":
        inputs.update(
            dnsName=f"{named}-123.{AWS_REGION}.elb.amazonaws.com", zoneId="Z35SXDOTRQ7X7K"
        )
    elif t == "aws:ecs/taskDefinition:TaskDefinition":
        family = inputs.get("family")
        inputs.update(
            arn=f"arn:aws:ecs:{AWS_REGION}:{AWS_ACCOUNT}:task-definition/{family}:1",
            arnWithoutRevision=f"arn:aws:ecs:{AWS_REGION}:{AWS_ACCOUNT}:task-definition/{family}",
        )
    elif t == "aws:secretsmanager/secret:Secret":  # the id is the ARN (terraform-provider-aws)
        inputs["arn"] = (
            f"arn:aws:secretsmanager:{AWS_REGION}:{AWS_ACCOUNT}:secret:{named}{digest[:6]}"
        )
        return str(inputs["arn"])
    elif t == "aws:secretsmanager/secretVersion:SecretVersion":  # id: "<secret ARN>|<version>"
        inputs.update(arn=inputs.get("secretId"), secretArn=inputs.get("secretId"))
        return f"{inputs.get('secretId')}|{digest[:8]}"
    elif t == "aws:acm/certificate:Certificate":
        inputs["domainValidationOptions"] = [
            {
                "domainName": inputs.get("domainName"),
                "resourceRecordName": f"_x.{inputs.get('domainName')}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": "_y.acm-validations.aws.",
            }
        ]
    elif t == "aws:acm/certificateValidation:CertificateValidation":
        pass  # certificateArn is its input
    elif t == "aws:route53/record:Record":
        inputs["fqdn"] = str(inputs.get("name"))
    elif t in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup"):
        return f"{service}-{name}-{digest[:8]}"
    return None


_CALLS: dict[str, dict[str, Any]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": {
        "names": [f"{AWS_REGION}a", f"{AWS_REGION}b", f"{AWS_REGION}c"],
        "zoneIds": ["use1-az1", "use1-az2", "use1-az4"],
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
        "userName": "AWS",
        "password": "ecr-token-placeholder-0123456789",
        "proxyEndpoint": f"https://{AWS_ACCOUNT}.dkr.ecr.{AWS_REGION}.amazonaws.com",
        "authorizationToken": "QVdTOnRva2Vu",
        "expiresAt": "2026-01-01T00:00:00Z",
        "id": AWS_REGION,
    },
}


class _Mocks(pulumi_mocks.Mocks):
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return _mock_outputs(args)

    def call(
        self, args: pulumi_mocks.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return dict(_CALLS.get(args.token, {})), []


def _secret_paths(value: struct_pb2.Value, path: str, found: set[str]) -> None:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        fields = value.struct_value.fields
        if (
            fields.get(_SECRET_SIG) is not None
            and fields[_SECRET_SIG].string_value == _SECRET_VALUE
        ):
            found.add(path)
            return
        for key, item in fields.items():
            _secret_paths(item, f"{path}.{key}" if path else key, found)
    elif kind == "list_value":
        for i, item in enumerate(value.list_value.values):
            _secret_paths(item, f"{path}[{i}]", found)


def _strip_secrets(value: Any) -> Any:
    """deserialize_properties leaves secrets wrapped; tests want the plain values."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == _SECRET_VALUE:
            return _strip_secrets(value.get("value"))
        return {k: _strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v) for v in value]
    return value


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        found: set[str] = set()
        for key, item in request.object.fields.items():
            _secret_paths(item, key, found)
        from pulumi.runtime import rpc  # noqa: PLC0415 - heavy import, only once mocks run

        inputs = _strip_secrets(rpc.deserialize_properties(request.object, keep_internal=True))
        registration = self.resources.get(response.urn)
        self.recorded.append(
            Resource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                custom=request.custom,
                inputs=inputs,
                secret_paths=found,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                replace_on_changes=list(request.replaceOnChanges),
                dependencies=list(request.dependencies),
                provider=request.provider,
                outputs=_strip_secrets(dict(registration.state)) if registration else {},
                property_dependencies={
                    key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                },
                delete_before_replace_defined=bool(request.deleteBeforeReplaceDefined),
            )
        )
        return response


# ------------------------------------------------------------------ running


def run_program(
    stack: str,
    overrides: Mapping[str, str | None] | None = None,
    *,
    secrets: Mapping[str, str] | None = None,
    preview: bool = False,
) -> ProgramRun:
    """Evaluate __main__.py for `stack` under mocks; raise whatever the program raises."""
    config, secret_keys = stack_config(stack, overrides, secrets)
    with _run_lock:
        pulumi_settings.ROOT.set(None)
        monitor = _RecordingMonitor(_Mocks())
        pulumi_mocks.set_mocks(
            _Mocks(), project=PROJECT, stack=stack, preview=preview, monitor=monitor
        )
        pulumi.runtime.set_all_config(config, secret_keys)
        runtime_state: Any = pulumi_settings.SETTINGS
        runtime_state.rpc_manager.clear()
        runtime_state.outputs.clear()

        def program() -> None:
            # pulumi runs the program in the project directory; relative paths mean that.
            with contextlib.chdir(PROJECT_DIR):
                runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")

        _sync_await(run_pulumi_func(program))
        root = pulumi_settings.get_root_resource()
        assert isinstance(root, pulumi.runtime.stack.Stack)
        outputs, secret_outputs = _resolve_outputs(root.outputs)
    return ProgramRun(stack, config, monitor.recorded, outputs, secret_outputs)


def _resolve_outputs(exports: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in exports.items():
        output = pulumi.Output.from_input(value)
        values[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret.add(name)
    return values, secret
