"""aws-ecs settings: what AWS would refuse is refused first, with one message naming the key."""

from __future__ import annotations

import pytest

from components.aws import rules
from components.settings import ConfigError, Settings, load
from components.validation import InvalidValue
from tests.support.program import stack_config
from tests.support.targets import AWS_STACK_FILE
from tests.unit.test_settings import DictConfig

pytestmark = pytest.mark.unit


def aws_settings(region: str | None = "us-east-1", **overrides: str | None) -> Settings:
    values, secret_keys = stack_config(
        "aws-prod",
        {f"escalafin:{k}": v for k, v in overrides.items()},
        stack_file=AWS_STACK_FILE,
    )
    return load(DictConfig(values, secret_keys), stack="aws-prod", aws_region=region)


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


def test_docker_host_stacks_read_no_aws_keys() -> None:
    values, secret_keys = stack_config("dev", {"escalafin:awsAppCpu": "7"})
    s = load(DictConfig(values, secret_keys), stack="dev")
    assert s.target == "docker-host" and s.aws is None


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
        ({"appPlatform": "linux/s390x"}, "us-east-1", "linux/amd64 or linux/arm64 on aws-ecs"),
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
