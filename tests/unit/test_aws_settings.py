"""aws-ecs settings: what AWS would refuse is refused first, with one message naming the key."""

from __future__ import annotations

import pytest

from components.aws import rules
from components.settings import ConfigError, Settings, load
from components.validation import InvalidValue
from tests.support.program import stack_config
from tests.support.targets import AWS_STACK
from tests.unit.test_settings import DictConfig

pytestmark = pytest.mark.unit


def aws_settings(region: str | None = "us-east-1", **overrides: str | None) -> Settings:
    values, secret_keys = stack_config(
        AWS_STACK, {f"escalafin:{k}": v for k, v in overrides.items()}
    )
    return load(DictConfig(values, secret_keys), stack=AWS_STACK, aws_region=region)


def aws_error(region: str | None = "us-east-1", **overrides: str | None) -> str:
    with pytest.raises(ConfigError) as info:
        aws_settings(region, **overrides)
    return str(info.value)


def test_example_stack_loads_with_shared_keys_reused() -> None:
    s = aws_settings()
    a = s.aws
    assert s.target == "aws-ecs" and a is not None
    assert a.public_host == "app.escalafin.example.com"
    assert a.db_backup_retention_days == s.backup.retention_days == 14
    assert (a.app_cpu, s.app.memory_mb, a.ops_cpu) == (1024, 2048, 256)
    assert a.backup_schedule_expression == "cron(0 2 * * ? *)"
    assert a.deletion_protection and a.db_multi_az
    assert a.db_parameters["log_min_duration_statement"] == "500"
    assert s.backup.store == "aws"


def test_docker_host_stacks_read_no_aws_settings() -> None:
    values, secret_keys = stack_config("dev")
    s = load(DictConfig(values, secret_keys), stack="dev")
    assert s.target == "docker-host" and s.aws is None


def test_an_aws_key_on_a_docker_host_stack_is_refused_naming_key_and_target() -> None:
    values, secret_keys = stack_config("dev", {"escalafin:awsAppCpu": "1024"})
    with pytest.raises(ConfigError) as info:
        load(DictConfig(values, secret_keys), stack="dev")
    assert (
        "escalafin:awsAppCpu applies to target aws-ecs only; this stack's target is docker-host"
    ) in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "instead"),
    [
        ("ingressHttpPort", "8080", "the load balancer is the ingress"),
        ("ingressAcmeEmail", "ops@example.com", "the load balancer is the ingress"),
        ("databaseMemoryMb", "2048", "awsDbInstanceClass"),
        ("redisMemoryMb", "512", "awsCacheNodeType"),
        ("lifecycleMode", "direct", "migrations and the seed run as ECS tasks"),
        ("restartPolicy", "always", "ECS replaces failed tasks itself"),
        ("backupDrillSchedule", "off", "verifies each dump"),
    ],
)
def test_a_docker_host_key_on_an_aws_stack_is_refused_naming_key_and_target(
    key: str, value: str, instead: str
) -> None:
    message = aws_error(**{key: value})
    assert (
        f"escalafin:{key} applies to target docker-host only; this stack's target is aws-ecs ("
        in message
    )
    assert instead in message


def test_pulumi_yaml_defaults_of_the_other_target_are_not_settings() -> None:
    """The engine hands Pulumi.yaml's defaults (restartPolicy, ingressImage, ...) to every stack."""
    s = aws_settings()
    assert s.target == "aws-ecs" and s.restart_policy == "unless-stopped"


def test_app_replicas_is_the_ecs_desired_count() -> None:
    assert aws_settings().app.replicas == 2  # the example stack file
    assert aws_settings(appReplicas="3").app.replicas == 3
    assert "awsAppDesiredCount is not a setting of this program" in aws_error(
        awsAppDesiredCount="2"
    )


def test_the_backup_bucket_is_in_the_stacks_region() -> None:
    assert aws_settings("eu-west-1").backup.region == "eu-west-1"
    assert "backupS3Region = 'us-west-2': expected aws:region (eu-west-1)" in aws_error(
        "eu-west-1", backupS3Region="us-west-2"
    )


@pytest.mark.parametrize(
    ("overrides", "region", "says"),
    [
        ({}, None, "aws:region is required when escalafin:target is aws-ecs"),
        ({"target": "kubernetes"}, "us-east-1", "expected one of docker-host, aws-ecs"),
        ({"appPublicUrl": "http://app.example.com"}, "us-east-1", "an https:// URL"),
        ({"appPublicUrl": None}, "us-east-1", "appPublicUrl is required on aws-ecs"),
        ({"awsHostedZoneId": None}, "us-east-1", "awsHostedZoneId or escalafin:awsCertificateArn"),
        ({"awsAppCpu": "300"}, "us-east-1", "Fargate CPU units, one of 256, 512"),
        ({"appMemoryMb": "1536"}, "us-east-1", "for 1024 CPU units one of 2048, 3072"),
        ({"backupMemoryMb": "700"}, "us-east-1", "a Fargate memory size on aws-ecs"),
        ({"backupRetentionDays": "60"}, "us-east-1", "1 to 35 on aws-ecs"),
        ({"backupSchedule": "0 2 1 * 1"}, "us-east-1", "not both, on aws-ecs"),
        ({"backupStore": "embedded"}, "us-east-1", "backupStore = 'embedded': expected aws"),
        ({"awsLogRetentionDays": "10"}, "us-east-1", "a CloudWatch Logs retention in days"),
        ({"awsVpcCidr": "10.40.0.0/24"}, "us-east-1", "a private IPv4 /16"),
        ({"awsDbParameters": '["bad name=1"]'}, "us-east-1", "PostgreSQL parameters as"),
        ({"awsDbInstanceClass": "t4g.micro"}, "us-east-1", "such as db.t4g.micro"),
        ({"healthInterval": "10m"}, "us-east-1", "healthInterval = '10m0s': expected 5s to 300s"),
        ({"appPlatform": "linux/arm/v7"}, "us-east-1", "linux/amd64 or linux/arm64 on aws-ecs"),
        ({"awsNatGateways": "3"}, "us-east-1", "awsNatGateways = '3': expected an integer from 1"),
    ],
)
def test_bad_aws_values_are_refused_naming_the_key(
    overrides: dict[str, str | None], region: str | None, says: str
) -> None:
    assert says in aws_error(region, **overrides)


def test_every_problem_is_reported_at_once() -> None:
    message = aws_error(None, awsAppCpu="300", backupRetentionDays="60")
    assert message.count("\n  - ") >= 3


@pytest.mark.parametrize(
    ("cron", "expression"),
    [
        ("0 2 * * *", "cron(0 2 * * ? *)"),
        ("30 1 * * 1-5", "cron(30 1 ? * MON-FRI *)"),
        ("0 3 * * 0,6", "cron(0 3 ? * SUN,SAT *)"),
        ("0 4 * * 7", "cron(0 4 ? * SUN *)"),
        ("15 */6 1 * *", "cron(15 */6 1 * ? *)"),
    ],
)
def test_cron_becomes_a_scheduler_expression(cron: str, expression: str) -> None:
    assert rules.scheduler_cron(cron) == expression


def test_subnets_are_carved_from_the_vpc() -> None:
    assert rules.subnet_cidrs("10.40.0.0/16") == (
        ("10.40.0.0/20", "10.40.16.0/20"),
        ("10.40.128.0/20", "10.40.144.0/20"),
    )


def test_fargate_sizes() -> None:
    assert rules.smallest_fargate_cpu(512) == 256
    assert rules.smallest_fargate_cpu(3072) == 512
    assert rules.smallest_fargate_cpu(700) is None
    assert rules.fargate_memory_problem(512, 1024) is None
    with pytest.raises(InvalidValue):
        rules.parse_fargate_cpu("abc")
