"""The aws-ecs program under Pulumi mocks: the invariants of its AWS resources.

Runs Pulumi.aws-prod.yaml as written (prod) and as a dev stack. Nothing here
reaches AWS: the mocks return plausible ids, ARNs and endpoints (tests/support/program.py),
so these tests prove what the program *declares*, which is what `pulumi up` would send.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from components.aws.registry import content_tag
from components.aws.service import rolled_forward
from components.specs import ImageSource
from policy.containers import SECRET_NAME
from tests.support import program
from tests.support.program import SENTRY_SECRET, SMTP_CONFIG, ProgramRun
from tests.support.targets import (
    MIGRATIONS,
    SEED,
    SERVICE,
    TASK_DEFINITION,
    env_of_task,
    run_aws,
    secret_values,
    task_containers,
)

pytestmark = pytest.mark.unit

RDS = "aws:rds/instance:Instance"
VALKEY = "aws:elasticache/replicationGroup:ReplicationGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
LISTENER = "aws:lb/listener:Listener"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SUBNET = "aws:ec2/subnet:Subnet"


@pytest.fixture(scope="module", params=["prod", "dev"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_aws(request.param)


def is_prod(run: ProgramRun) -> bool:
    return run.config["escalafin:environment"] == "prod"


def subnet_ids(run: ProgramRun, tier: str) -> set[str]:
    """Mock ids of the subnets of a tier (the mocks give resources their logical-name ids)."""
    return {f"ec2-{s.name}-" for s in run.of_type(SUBNET) if s.name.startswith(tier)}


def in_tier(ids: list[str], run: ProgramRun, tier: str) -> bool:
    prefixes = subnet_ids(run, tier)
    return len(ids) == 2 and all(any(i.startswith(p) for p in prefixes) for i in ids)


# ------------------------------------------------------------------ database


def test_database_is_private_encrypted_and_backed_up(run: ProgramRun) -> None:
    db = run.one(RDS, "postgres")
    i = db.inputs
    assert i["publiclyAccessible"] is False
    assert i["storageEncrypted"] is True
    assert (i["engine"], i["engineVersion"]) == ("postgres", "17")
    assert i["backupRetentionPeriod"] == 14  # backupRetentionDays in the stack file
    assert db.is_secret("password")
    assert i["multiAz"] is is_prod(run)
    assert i["deletionProtection"] is is_prod(run)
    assert i["skipFinalSnapshot"] is not is_prod(run)
    assert db.protect is is_prod(run)
    if is_prod(run):
        assert i["finalSnapshotIdentifier"] == "escalafin-prod-postgres-final"
    subnets = run.one("aws:rds/subnetGroup:SubnetGroup", "subnets").inputs["subnetIds"]
    assert in_tier(subnets, run, "private")
    params = {
        p["name"]: p["value"]
        for p in run.one("aws:rds/parameterGroup:ParameterGroup", "parameters").inputs["parameters"]
    }
    assert params["rds.force_ssl"] == "1"
    assert params["log_min_duration_statement"] == "500"  # awsDbParameters from config
    assert run.one("aws:rds/parameterGroup:ParameterGroup", "parameters").inputs["family"] == (
        "postgres17"
    )


def test_backup_retention_comes_from_config() -> None:
    run = run_aws("prod", {"escalafin:backupRetentionDays": "21"})
    assert run.one(RDS, "postgres").inputs["backupRetentionPeriod"] == 21
    rules = run.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lifecycle"
    ).inputs["rules"]
    noncurrent = {r["id"]: r for r in rules}["expire-noncurrent-versions"]
    assert noncurrent["noncurrentVersionExpiration"]["noncurrentDays"] == 21
    [backup] = [c for f, c in task_containers(run).items() if f.endswith("-backup")]
    assert env_of_task(backup)["BACKUP_RETENTION_DAYS"] == "21"


# ------------------------------------------------------------------ cache


def test_cache_is_encrypted_and_authenticated(run: ProgramRun) -> None:
    cache = run.one(VALKEY, "valkey")
    i = cache.inputs
    assert i["engine"] == "valkey"
    assert i["transitEncryptionEnabled"] is True
    assert i["atRestEncryptionEnabled"] is True
    assert cache.is_secret("authToken") and len(i["authToken"]) >= 16
    nodes = 2 if is_prod(run) else 1
    assert i["numCacheClusters"] == nodes
    assert i["automaticFailoverEnabled"] is (nodes > 1)


# ------------------------------------------------------------------ secrets


def test_task_definitions_hold_secrets_only_as_ecs_secrets(run: ProgramRun) -> None:
    secrets = secret_values(run)
    versions = {v.outputs["secretArn"]: v for v in run.of_type(SECRET_VERSION)}
    assert versions and all(v.is_secret("secretString") for v in versions.values())
    for family, container in task_containers(run).items():
        text = json.dumps(container)
        assert not [s for s in secrets if s in text], f"{family} holds a secret value"
        for name in env_of_task(container):
            assert not SECRET_NAME.search(name) or "PUBLIC" in name, f"{family}: env {name}"
        for entry in container["secrets"]:
            assert entry["valueFrom"] in versions, f"{family}: {entry['name']}"
    expected = {
        "escalafin-prod-app": {"DATABASE_URL", "REDIS_URL", "NEXTAUTH_SECRET"},
        "escalafin-prod-migrate": {"DATABASE_URL"},
        "escalafin-prod-backup": {"DATABASE_URL"},
        "escalafin-prod-seed": {
            "DATABASE_URL",
            "SEED_PASSWORD_ADMIN",
            "SEED_PASSWORD_ADVISOR",
            "SEED_PASSWORD_CLIENT",
        },
    }
    prefix = "escalafin-prod" if is_prod(run) else "escalafin-dev"
    got = {
        family.replace(prefix, "escalafin-prod"): {e["name"] for e in c["secrets"]}
        for family, c in task_containers(run).items()
    }
    assert got == expected


def test_each_execution_role_reads_only_its_own_secrets(run: ProgramRun) -> None:
    by_parent = {r.urn: r for r in run.resources}
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy.name != "execution":
            continue
        task = by_parent[policy.parent]
        definition = next(r for r in run.of_type(TASK_DEFINITION) if r.parent == task.urn)
        container = json.loads(definition.inputs["containerDefinitions"])[0]
        wanted = sorted(e["valueFrom"] for e in container["secrets"])
        statements = json.loads(policy.inputs["policy"])["Statement"]
        readable = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
        assert [s["Resource"] for s in readable] == [wanted]
        scoped = [s for s in statements if s["Action"] != "ecr:GetAuthorizationToken"]
        assert all(s["Resource"] != "*" for s in scoped)  # only the token call is account-wide


def test_integration_secrets_reach_the_app_through_secrets_manager() -> None:
    run = run_aws("prod", SMTP_CONFIG, secrets=SENTRY_SECRET)
    app = task_containers(run)["escalafin-prod-app"]
    assert env_of_task(app)["SMTP_PORT"] == "587"
    assert "SENTRY_DSN" in {e["name"] for e in app["secrets"]}
    assert "sentry.example.com" not in json.dumps(app)
    ports = {r.inputs["fromPort"] for r in run.of_type(EGRESS) if r.name.startswith("app-egress")}
    assert ports == {443, 587}  # least privilege: the SMTP port opens only when configured


# ------------------------------------------------------------------ security groups


def rules(run: ProgramRun, type_: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in run.of_type(type_)}


def group_of(run: ProgramRun, resource_id: str) -> str:
    return next(g.name for g in run.of_type(GROUP) if resource_id.startswith(f"ec2-{g.name}-"))


def test_security_groups_are_least_privilege(run: ProgramRun) -> None:
    def peer(r: dict[str, Any]) -> str:
        ref = r.get("referencedSecurityGroupId")
        return group_of(run, ref) if ref else r["cidrIpv4"]

    ingress = {
        (group_of(run, r["securityGroupId"]), int(r["fromPort"]), int(r["toPort"]), peer(r))
        for r in rules(run, INGRESS).values()
    }
    assert ingress == {
        ("alb", 80, 80, "0.0.0.0/0"),
        ("alb", 443, 443, "0.0.0.0/0"),
        ("app", 3000, 3000, "alb"),
        ("database", 5432, 5432, "app"),
        ("database", 5432, 5432, "ops"),
        ("cache", 6379, 6379, "app"),
    }
    egress = {
        (group_of(run, r["securityGroupId"]), int(r["fromPort"]), peer(r))
        for r in rules(run, EGRESS).values()
    }
    assert egress == {
        ("alb", 3000, "app"),
        ("app", 5432, "database"),
        ("app", 6379, "cache"),
        ("app", 443, "0.0.0.0/0"),
        ("ops", 5432, "database"),
        ("ops", 443, "0.0.0.0/0"),
    }  # database and cache: no egress at all; only single TCP ports anywhere
    for r in [*rules(run, INGRESS).values(), *rules(run, EGRESS).values()]:
        assert r["ipProtocol"] == "tcp" and r["fromPort"] == r["toPort"]


# ------------------------------------------------------------------ service and ingress


def test_app_service_rolls_and_rolls_back(run: ProgramRun) -> None:
    service = run.one(SERVICE, "app")
    i = service.inputs
    assert i["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (i["deploymentMinimumHealthyPercent"], i["deploymentMaximumPercent"]) == (100, 200)
    assert i["desiredCount"] == (2 if is_prod(run) else 1)
    assert i["launchType"] == "FARGATE" and i["waitForSteadyState"] is True
    network = i["networkConfiguration"]
    assert network["assignPublicIp"] is False
    assert in_tier(network["subnets"], run, "private")
    assert i["loadBalancers"][0]["containerPort"] == 3000
    deps = set(service.dependencies)
    assert run.one(MIGRATIONS, "migrations").urn in deps and run.one(SEED, "seed").urn in deps
    assert i["healthCheckGracePeriodSeconds"] == 40  # healthStartPeriod


def test_a_rolled_back_deploy_fails_the_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider reads the service back after the wait: after a circuit-breaker rollback
    its task definition is the previous one (simulated here), and `up` must fail."""
    real = program._aws_outputs

    def rolled_back(t: str, name: str, inputs: dict[str, Any], digest: str) -> str | None:
        if t == SERVICE:
            inputs["taskDefinition"] = "arn:aws:ecs:us-east-1:123456789012:task-definition/x:0"
        return real(t, name, inputs, digest)

    monkeypatch.setattr(program, "_aws_outputs", rolled_back)
    with pytest.raises(Exception, match="rolled back by the circuit breaker") as failed:
        run_aws("prod")
    assert "task-definition/x:0" in str(failed.value)
    assert rolled_forward("arn:td:2", "arn:td:2") == "arn:td:2"


def test_https_with_redirect_and_health_check(run: ProgramRun) -> None:
    listeners = {r.name: r.inputs for r in run.of_type(LISTENER)}
    redirect = listeners["http"]["defaultActions"][0]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
    https = listeners["https"]
    assert https["protocol"] == "HTTPS" and https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    validation = run.one("aws:acm/certificateValidation:CertificateValidation", "certificate")
    assert https["certificateArn"] == validation.inputs["certificateArn"]
    cert = run.one("aws:acm/certificate:Certificate", "certificate")
    assert cert.inputs["domainName"] == "app.escalafin.example.com"
    health = run.one("aws:lb/targetGroup:TargetGroup", "app").inputs["healthCheck"]
    assert (health["path"], health["matcher"]) == ("/api/health", "200")
    alias = run.one("aws:route53/record:Record", "app").inputs
    assert alias["name"] == "app.escalafin.example.com" and alias["type"] == "A"
    alb = run.one("aws:lb/loadBalancer:LoadBalancer", "alb").inputs
    assert in_tier(alb["subnets"], run, "public")


def test_given_certificate_is_used_and_dns_left_to_the_user() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    run = run_aws("prod", {"escalafin:awsHostedZoneId": None, "escalafin:awsCertificateArn": arn})
    assert {r.name: r.inputs for r in run.of_type(LISTENER)}["https"]["certificateArn"] == arn
    assert not run.of_type("aws:acm/certificate:Certificate")
    assert not run.of_type("aws:route53/record:Record")
    assert run.outputs["loadBalancerDnsName"].endswith(".elb.amazonaws.com")


# ------------------------------------------------------------------ images


def test_tasks_run_pushed_images_by_digest(run: ProgramRun) -> None:
    images = run.of_type("docker:index/image:Image")
    assert len(images) == 2  # app and ops, both pushed
    assert all(i.inputs["skipPush"] is False for i in images)
    app_image = next(r for r in images if "-app:" in r.inputs["imageName"])
    assert app_image.inputs["skipPush"] is False
    assert re.search(r":src-[0-9a-f]{24}$", app_image.inputs["imageName"])
    assert app_image.is_secret("registry.password")
    app = task_containers(run)[f"escalafin-{'prod' if is_prod(run) else 'dev'}-app"]
    assert app["image"] == app_image.outputs["repoDigest"] == run.outputs["imageDigest"]
    assert "@sha256:" in app["image"]
    for repo in run.of_type("aws:ecr/repository:Repository"):
        assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True


def test_content_tag_follows_what_the_build_sees(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("notes.txt\n")
    (tmp_path / "src.py").write_text("a = 1\n")
    source = ImageSource(tmp_path, tmp_path / "Dockerfile", "linux/amd64", "runner")
    first = content_tag(source)
    (tmp_path / "notes.txt").write_text("ignored by the build")
    assert content_tag(source) == first
    (tmp_path / "src.py").write_text("a = 2\n")
    changed = content_tag(source)
    assert changed != first
    assert (
        content_tag(ImageSource(tmp_path, tmp_path / "Dockerfile", "linux/arm64", "runner"))
        != changed
    )


# ------------------------------------------------------------------ lifecycle and backups


def test_migrations_and_seed_run_as_ecs_tasks(run: ProgramRun) -> None:
    families = {td.inputs["family"]: td for td in run.of_type(TASK_DEFINITION)}
    for resource, role in (
        (run.one(MIGRATIONS, "migrations"), "migrate"),
        (run.one(SEED, "seed"), "seed"),
    ):
        runner = resource.inputs["runner"]
        assert runner["mode"] == "ecs"
        ecs = runner["ecs"]
        family = ecs["task_definition"].rsplit("/", 1)[-1].split(":")[0]
        assert family.endswith(f"-{role}") and family in families
        assert in_tier(ecs["subnets"], run, "private")
        assert [group_of(run, g) for g in ecs["security_groups"]] == ["ops"]
        assert ecs["bundle_bucket"] == run.outputs["backupBucket"]
        assert ecs["log_stream_prefix"] == role
        assert resource.inputs["database_identity"].startswith("db-")  # RDS resource id
    assert run.one(RDS, "postgres").urn in run.one(MIGRATIONS, "migrations").dependencies


def test_nightly_logical_backup_is_a_scheduled_task(run: ProgramRun) -> None:
    schedule = run.one("aws:scheduler/schedule:Schedule", "nightly").inputs
    assert schedule["scheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["scheduleExpressionTimezone"] == "America/Mexico_City"
    ecs = schedule["target"]["ecsParameters"]
    assert ecs["launchType"] == "FARGATE"
    assert ecs["networkConfiguration"]["assignPublicIp"] is False
    assert in_tier(ecs["networkConfiguration"]["subnets"], run, "private")
    [backup] = [c for f, c in task_containers(run).items() if f.endswith("-backup")]
    assert backup["command"] == ["lifecycle.backup", "now", "--json"]
    assert env_of_task(backup)["S3_BUCKET"] == run.outputs["backupBucket"]


def test_logs_kept_for_the_configured_days(run: ProgramRun) -> None:
    groups = run.of_type(LOG_GROUP)
    assert len(groups) == 4  # app, migrate, seed, backup
    assert {g.inputs["retentionInDays"] for g in groups} == {30}
    for container in task_containers(run).values():
        assert container["logConfiguration"]["logDriver"] == "awslogs"


# ------------------------------------------------------------------ network


def test_network_spans_two_zones_with_nat_and_s3_endpoint(run: ProgramRun) -> None:
    subnets = {s.name: s.inputs for s in run.of_type(SUBNET)}
    assert sorted(subnets) == ["private-0", "private-1", "public-0", "public-1"]
    assert subnets["private-0"]["availabilityZone"] != subnets["private-1"]["availabilityZone"]
    assert all(s["mapPublicIpOnLaunch"] is False for s in subnets.values())
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 1  # awsNatGateways
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "s3").inputs
    assert endpoint["vpcEndpointType"] == "Gateway"
    assert endpoint["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert len(endpoint["routeTableIds"]) == 2
    for table in (
        r for r in run.of_type("aws:ec2/routeTable:RouteTable") if r.name.startswith("private")
    ):
        assert [r.get("natGatewayId") for r in table.inputs["routes"]] != [None]


def test_names_fit_aws_limits_for_the_longest_prefix() -> None:
    prefix = "e" + "-x" * 15 + "-abcdefghi"  # 40 characters, hyphens where cuts land
    run = run_aws("prod", {"escalafin:namePrefix": prefix})
    alb = run.one("aws:lb/loadBalancer:LoadBalancer", "alb").inputs["name"]
    cache = run.one(VALKEY, "valkey").inputs["replicationGroupId"]
    assert len(alb) <= 32 and not alb.endswith("-")
    assert len(cache) <= 40 and not cache.endswith("-")
    for role in run.of_type("aws:iam/role:Role"):
        assert len(role.inputs["namePrefix"]) <= 38, role.inputs["namePrefix"]
    assert len(run.one(RDS, "postgres").inputs["identifier"]) <= 63
