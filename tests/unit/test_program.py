"""The whole program under Pulumi mocks, for both stack files as written."""

from __future__ import annotations

import re

import pytest

from tests.support.program import SENTRY_SECRET, SMTP_CONFIG, ProgramRun, Resource, run_program
from tests.support.targets import plaintext_leaks, secret_values

pytestmark = pytest.mark.unit

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
PASSWORD = "random:index/randomPassword:RandomPassword"
ANY_IP = "0.0.0.0"  # noqa: S104 - what prod's ingress binds, and only it
HEALTH_GATE = "pulumi-python:dynamic/escalafin:HealthGate"
STORE_BUCKET = "pulumi-python:dynamic/escalafin:StoreBucket"


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_program(request.param)


def network_name(run: ProgramRun, logical: str) -> str:
    return run.one(NETWORK, logical).inputs["name"]


def networks_of(container: Resource) -> dict[str, list[str]]:
    return {n["name"]: n.get("aliases", []) for n in container.inputs.get("networksAdvanced", [])}


def env_of(container: Resource) -> dict[str, str]:
    return dict(e.split("=", 1) for e in container.inputs.get("envs", []))


def test_internal_network_is_internal_and_holds_data_services(run: ProgramRun) -> None:
    internal = run.one(NETWORK, "internal")
    assert internal.inputs["internal"] is True
    assert run.one(NETWORK, "public").inputs.get("internal") in (False, None)
    name = internal.inputs["name"]
    assert networks_of(run.one(CONTAINER, "postgres"))[name] == ["postgres"]
    assert networks_of(run.one(CONTAINER, "redis")) == {name: ["redis"]}
    app = networks_of(run.one(CONTAINER, "app"))
    assert set(app) == {name, network_name(run, "public")}


def test_no_database_or_cache_port_beyond_loopback(run: ProgramRun) -> None:
    redis = run.one(CONTAINER, "redis")
    assert not redis.inputs.get("ports")
    ports = run.one(CONTAINER, "postgres").inputs.get("ports", [])
    if run.stack == "prod":
        assert ports == []
        assert not [n for n in run.of_type(NETWORK) if n.name == "admin"]
    else:
        assert ports == [{"internal": 5432, "external": 5432, "ip": "127.0.0.1"}]
        admin = network_name(run, "admin")
        assert admin in networks_of(run.one(CONTAINER, "postgres"))
        assert run.outputs["databaseAdminEndpoint"] == "127.0.0.1:5432"


def test_only_the_ingress_publishes_beyond_loopback_and_the_app_nothing(run: ProgramRun) -> None:
    published = {c.name: c.inputs.get("ports") or [] for c in run.of_type(CONTAINER)}
    assert published["app"] == []
    beyond_loopback = {
        name for name, ports in published.items() for p in ports if p.get("ip") != "127.0.0.1"
    }
    if run.stack == "prod":
        assert beyond_loopback == {"ingress"}
        assert published["ingress"] == [
            {"internal": 80, "external": 80, "ip": ANY_IP},
            {"internal": 443, "external": 443, "ip": ANY_IP, "protocol": "tcp"},
            {"internal": 443, "external": 443, "ip": ANY_IP, "protocol": "udp"},
        ]
    else:
        assert beyond_loopback == set()
        assert published["ingress"] == [{"internal": 80, "external": 3000, "ip": "127.0.0.1"}]


def test_app_runs_as_non_root(run: ProgramRun) -> None:
    app = run.one(CONTAINER, "app")
    assert app.inputs["user"] == "1001:1001"


def test_app_env_is_wired(run: ProgramRun) -> None:
    env = env_of(run.one(CONTAINER, "app"))
    assert env["DATABASE_URL"].startswith("postgresql://escalafin:")
    assert env["DATABASE_URL"].endswith("@postgres:5432/escalafin")
    assert re.fullmatch(r"redis://:[^@]+@redis:6379/0", env["REDIS_URL"])
    assert env["NEXTAUTH_URL"] == run.outputs["appUrl"]
    assert len(env["NEXTAUTH_SECRET"]) >= 32
    assert env["APP_ENV"] == run.stack
    assert env["APP_VERSION"]
    # integrations are set only when configured: none are in the stack files
    assert not {"SMTP_HOST", "SENTRY_DSN", "OPENPAY_MERCHANT_ID"} & set(env)


def test_every_secret_is_a_pulumi_secret_in_state(run: ProgramRun) -> None:
    assert len(secret_values(run)) >= 5
    assert plaintext_leaks(run) == []
    # and they are used at all: the app and the database see them as secrets
    assert run.one(CONTAINER, "app").secret_paths
    assert run.one(CONTAINER, "postgres").secret_paths


def test_outputs_present(run: ProgramRun) -> None:
    for key in (
        "appUrl",
        "healthUrl",
        "imageDigest",
        "backupBucket",
        "databaseAdminEndpoint",
        "monitoring",
    ):
        assert key in run.outputs
    assert run.outputs["healthUrl"] == run.outputs["appUrl"] + "/api/health"
    assert run.outputs["monitoring"]["url"] == run.outputs["healthUrl"]
    if run.stack == "prod":
        assert run.outputs["databaseAdminEndpoint"] is None
        assert run.outputs["appUrl"].startswith("https://")


def test_healthchecks_present_with_right_commands(run: ProgramRun) -> None:
    for container in run.of_type(CONTAINER):
        hc = container.inputs.get("healthcheck")
        assert hc and hc["tests"], f"{container.name} has no healthcheck"
        assert container.replace_on_changes == ["healthcheck", "tmpfs"]
        for key in ("interval", "timeout", "startPeriod"):
            assert re.fullmatch(r"(\d+h)?(\d+m)?\d+(\.\d+)?s|\d+ms", hc[key]), hc[key]
    pg = run.one(CONTAINER, "postgres").inputs["healthcheck"]["tests"]
    assert "pg_isready" in pg[-1]
    redis = run.one(CONTAINER, "redis").inputs["healthcheck"]["tests"]
    assert "redis-cli ping" in redis[-1]
    app = run.one(CONTAINER, "app").inputs["healthcheck"]
    assert app["tests"][:2] == ["CMD", "python"]
    assert "http://127.0.0.1:3000/api/health" in app["tests"][-1]
    assert (app["interval"], app["timeout"], app["retries"], app["startPeriod"]) == (
        "30s",
        "10s",
        3,
        "40s",
    )


def test_redis_is_persistent_and_authenticated(run: ProgramRun) -> None:
    redis = run.one(CONTAINER, "redis")
    command = redis.inputs["command"]
    assert command[:5] == ["redis-server", "--appendonly", "yes", "--appendfsync", "everysec"]
    assert command[5] == "--requirepass"
    assert redis.is_secret("command[6]")
    assert redis.is_secret("envs[0]") and env_of(redis)["REDISCLI_AUTH"] == command[6]


def test_containers_are_gated_and_replace_safely(run: ProgramRun) -> None:
    gates = {g.inputs["container_name"]: g for g in run.of_type(HEALTH_GATE)}
    for container in run.of_type(CONTAINER):
        if container.name == "app":
            # Create before delete: no fixed name (autonamed), the option set explicitly
            # because the docker provider asks for delete-first when it is unset.
            assert container.delete_before_replace is False
            assert "name" not in container.inputs
            assert container.inputs["destroyGraceSeconds"] == container.inputs["stopTimeout"]
        else:
            assert container.delete_before_replace is True, container.name
            assert container.inputs["name"].startswith(f"escalafin-{run.stack}-")
        assert container.inputs.get("restart") == "unless-stopped"
        memory = container.inputs.get("memory")  # MB; the wire carries numbers as floats
        assert memory is not None and float(memory).is_integer() and memory >= 64
        # A swap limit equal to the memory limit lets the provider change memory in place.
        assert container.inputs.get("memorySwap") == memory, container.name
        # The provider's wait neither stops early nor shows logs: the gate does both.
        assert not container.inputs.get("wait"), container.name
        gate = gates[container.outputs["name"]]  # the app's is generated (autonaming)
        assert container.urn in gate.dependencies
        assert gate.property_dependencies["container_id"] == [container.urn]


def test_app_uses_built_image_and_starts_after_data_services(run: ProgramRun) -> None:
    image = run.one("docker:index/image:Image", "app")
    assert image.inputs["skipPush"] is True
    assert image.inputs.get("buildOnPreview") in (False, None)
    assert image.inputs["build"]["target"] == "runner"
    assert image.inputs["build"]["context"] == "app"
    app = run.one(CONTAINER, "app")
    assert app.inputs["image"] == image.outputs["repoDigest"]
    deps = set(app.dependencies)
    assert run.one(HEALTH_GATE, "postgres-health").urn in deps
    assert run.one(HEALTH_GATE, "redis-health").urn in deps


def test_data_volumes_retained_and_protected_in_prod(run: ProgramRun) -> None:
    volumes = {v.name: v for v in run.of_type(VOLUME)}
    for name in ("postgres-data", "postgres-backups", "redis-data"):
        assert volumes[name].retain_on_delete, name
        assert volumes[name].protect is (run.stack == "prod"), name
    pg = run.one(CONTAINER, "postgres")
    mounts = {m["containerPath"]: m["volumeName"] for m in pg.inputs["volumes"]}
    assert mounts["/var/lib/postgresql/data"] == volumes["postgres-data"].inputs["name"]
    assert mounts["/backup-escalafin"] == volumes["postgres-backups"].inputs["name"]
    app = run.one(CONTAINER, "app")
    assert app.inputs["volumes"][0]["containerPath"] == "/app/.next/cache"


def test_backup_bucket_hardening() -> None:
    prod = run_program("prod")
    bucket = prod.one("aws:s3/bucket:Bucket", "bucket")
    assert bucket.inputs["forceDestroy"] is False and bucket.protect
    assert (
        prod.one("aws:s3/bucketVersioning:BucketVersioning", "versioning").inputs[
            "versioningConfiguration"
        ]["status"]
        == "Enabled"
    )
    sse = prod.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "encryption",
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    block = prod.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public-access-block"
    )
    assert all(
        block.inputs[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    policy = prod.one("aws:s3/bucketPolicy:BucketPolicy", "tls-only").inputs["policy"]
    assert '"aws:SecureTransport": "false"' in policy and '"Effect": "Deny"' in policy
    dumps, versions = prod.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lifecycle"
    ).inputs["rules"]
    assert dumps["status"] == versions["status"] == "Enabled"
    assert versions["noncurrentVersionExpiration"]["noncurrentDays"] == 14
    assert dumps["expiration"]["days"] >= 14
    # Expiry by age reaches only the logical dumps, never pgBackRest's repository (its
    # archive.info is written once and needed for as long as any backup).
    assert dumps["filter"]["prefix"] == "escalafin-"
    assert "expiration" not in versions
    key = prod.one("aws:iam/accessKey:AccessKey", "agent-key")
    assert key.inputs["user"]
    assert prod.outputs["backupBucket"] == "escalafin-prod-backups"


def test_dev_needs_no_cloud_provider() -> None:
    """Every dev resource can be realised on a Docker host: no aws resource, no provider."""
    dev = run_program("dev")
    assert not [r.type for r in dev.resources if r.type.startswith(("aws:", "pulumi:providers:"))]


def test_configured_integration_reaches_app_only_when_complete() -> None:
    run = run_program("dev", SMTP_CONFIG, secrets=SENTRY_SECRET)
    app = run.one(CONTAINER, "app")
    env = env_of(app)
    assert env["SMTP_HOST"] == "smtp.example.com" and env["SMTP_PORT"] == "587"
    index = app.inputs["envs"].index("SENTRY_DSN=https://key@sentry.example.com/1")
    assert app.is_secret(f"envs[{index}]")


def test_config_secrets_stay_secret_everywhere() -> None:
    given = {
        f"escalafin:{key}": f"placeholder-{key}-0123456789"
        for key in (
            "databasePassword",
            "redisPassword",
            "nextauthSecret",
            "seedAdminPassword",
            "seedAdvisorPassword",
            "seedClientPassword",
            "backupS3AccessKeyId",
            "backupS3SecretAccessKey",
            "openpayPrivateKey",
            "whatsappApiKey",
        )
    }
    run = run_program(
        "prod",
        {
            "escalafin:openpayMerchantId": "m123",
            "escalafin:whatsappApiUrl": "https://wa.example.com",
            "escalafin:whatsappInstance": "escalafin",
        },
        secrets=given,
    )
    assert not run.of_type(PASSWORD)  # nothing generated when everything is given
    assert not [r for r in run.resources if r.type == "aws:iam/accessKey:AccessKey"]
    test_every_secret_is_a_pulumi_secret_in_state(run)
    env = env_of(run.one(CONTAINER, "app"))
    assert env["OPENPAY_PRIVATE_KEY"] == "placeholder-openpayPrivateKey-0123456789"


MIGRATIONS = "pulumi-python:dynamic/escalafin:DatabaseMigrations"
SEED = "pulumi-python:dynamic/escalafin:ConditionalSeed"


def test_lifecycle_runs_between_database_and_app(run: ProgramRun) -> None:
    migrations = run.one(MIGRATIONS, "migrations")
    seed = run.one(SEED, "seed")
    postgres = run.one(CONTAINER, "postgres")
    assert postgres.urn in migrations.dependencies
    assert migrations.urn in seed.dependencies
    assert seed.urn in run.one(CONTAINER, "app").dependencies
    data_volume = run.one(VOLUME, "postgres-data").inputs["name"]
    for resource in (migrations, seed):
        assert resource.is_secret("database_url")
        # a new container or a new data volume is a new database: the seed is checked again
        assert resource.inputs["database_identity"].endswith("/" + data_volume)
        assert postgres.urn in resource.dependencies
    assert seed.is_secret("passwords")
    assert set(seed.inputs["passwords"]) == {"admin", "advisor", "client"}
    assert len(migrations.inputs["migrations_hash"]) == 64


def test_lifecycle_mode_per_stack(run: ProgramRun) -> None:
    runner = run.one(MIGRATIONS, "migrations").inputs["runner"]
    url = run.one(MIGRATIONS, "migrations").inputs["database_url"]
    if run.stack == "dev":
        assert runner["mode"] == "direct"
        assert "@127.0.0.1:5432/" in url
    else:
        assert runner["mode"] == "in-network"
        assert runner["docker_host"] == "ssh://deploy@escalafin-prod.example.com"
        assert runner["network"] == network_name(run, "internal")
        assert runner["ops_image"] == run.one("docker:index/image:Image", "ops").inputs["imageName"]
        assert "@postgres:5432/" in url


def test_ops_image_matches_server_major(run: ProgramRun) -> None:
    ops = run.one("docker:index/image:Image", "ops")
    assert ops.inputs["build"]["args"]["PG_MAJOR"] == "17"
    assert ops.inputs["build"]["dockerfile"].endswith("ops/Dockerfile")
    assert ops.inputs["skipPush"] is True


def test_backup_agent_wiring(run: ProgramRun) -> None:
    agent = run.one(CONTAINER, "backup-agent")
    # prod archives to AWS S3: the agent (and PostgreSQL) also join the egress network.
    egress = {network_name(run, "egress")} if run.stack == "prod" else set()
    assert set(networks_of(agent)) == {network_name(run, "internal"), *egress}
    assert not agent.inputs.get("ports")
    env = env_of(agent)
    assert env["S3_BUCKET"] == run.outputs["backupBucket"]
    assert env["BACKUP_SCHEDULE"] == "0 2 * * *"
    mounts = {m["containerPath"]: m["volumeName"] for m in agent.inputs["volumes"]}
    assert mounts["/backup-escalafin"] == run.one(VOLUME, "postgres-backups").inputs["name"]
    assert agent.inputs["image"] == run.one("docker:index/image:Image", "ops").outputs["repoDigest"]
    for i, entry in enumerate(agent.inputs["envs"]):
        name = entry.split("=", 1)[0]
        if name in {"DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD"}:
            assert agent.is_secret(f"envs[{i}]"), name
    if run.stack == "dev":
        store = run.one(CONTAINER, "objectstore")
        assert not store.inputs.get("ports"), "the store publishes nothing"
        assert set(networks_of(store)) == {network_name(run, "internal")}
        assert env["S3_ENDPOINT_URL"] == "http://objectstore:9000"
        bucket = run.one(STORE_BUCKET, "bucket")
        assert bucket.inputs["bucket"] == env["S3_BUCKET"]
        assert bucket.inputs["runner"]["mode"] == "in-network"
        assert bucket.urn in agent.dependencies
    else:
        assert "S3_ENDPOINT_URL" not in env
        assert not [c for c in run.of_type(CONTAINER) if c.name == "objectstore"]


ROUTE = "pulumi-python:dynamic/escalafin:IngressRoute"


def test_ingress_routes_to_the_app_by_name_on_the_public_network(run: ProgramRun) -> None:
    ingress = run.one(CONTAINER, "ingress")
    app = run.one(CONTAINER, "app")
    assert set(networks_of(ingress)) == {network_name(run, "public")}  # never the internal one
    route = run.one(ROUTE, "route")
    assert route.inputs["upstream_containers"] == [app.outputs["name"]]
    assert f"reverse_proxy {app.outputs['name']}:3000 {{" in route.inputs["caddyfile"]
    assert route.inputs["ingress_container"].startswith("ingress-")  # the mocked container id
    # The route switches only after Caddy's and every replica's gate saw them healthy.
    gates = {run.one(HEALTH_GATE, n).urn for n in ("ingress-health", "app-health")}
    assert gates <= set(route.dependencies)
    assert [u["file"] for u in ingress.inputs["uploads"]] == ["/etc/caddy/Caddyfile"]
    assert "respond" in ingress.inputs["uploads"][0]["content"]  # bootstrap: 503 until routed
    data = run.one(VOLUME, "ingress-data")
    assert data.retain_on_delete and data.protect is (run.stack == "prod")
    mounts = {m["containerPath"]: m["volumeName"] for m in ingress.inputs["volumes"]}
    assert mounts["/data"] == data.inputs["name"]
    caddyfile = route.inputs["caddyfile"]
    if run.stack == "prod":
        assert "\napp.escalafin.example.com {" in caddyfile
        assert "Strict-Transport-Security" in caddyfile
        assert "email ops@escalafin.example.com" in caddyfile
        assert route.inputs["docker_host"] == "ssh://deploy@escalafin-prod.example.com"
    else:
        assert "\n:80 {" in caddyfile and "Strict-Transport-Security" not in caddyfile
    assert run.outputs["appContainers"] == [app.outputs["name"]]
    assert run.outputs["appContainer"] == app.outputs["name"]


def test_replicas_start_one_after_another_and_all_are_routed() -> None:
    run = run_program("dev", {"escalafin:appReplicas": "3"})
    apps = [run.one(CONTAINER, n) for n in ("app", "app-2", "app-3")]
    gates = [run.one(HEALTH_GATE, f"{n}-health") for n in ("app", "app-2", "app-3")]
    # Replica k+1 starts once replica k's gate saw it healthy.
    assert gates[0].urn in apps[1].dependencies and gates[1].urn in apps[2].dependencies
    names = [a.outputs["name"] for a in apps]
    assert [g.inputs["container_name"] for g in gates] == names
    route = run.one(ROUTE, "route")
    assert route.inputs["upstream_containers"] == names
    assert f"reverse_proxy {' '.join(n + ':3000' for n in names)} {{" in route.inputs["caddyfile"]
    assert {g.urn for g in gates} <= set(route.dependencies)
    assert run.outputs["appContainers"] == names
    for app in apps:
        assert app.delete_before_replace is False
        assert not app.inputs.get("ports")


def test_https_settings_reach_the_caddyfile() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----"
    run = run_program(
        "dev",
        {
            "escalafin:appPublicUrl": "https://escalafin.test:8443",
            "escalafin:ingressHttpsPort": "8443",
            "escalafin:ingressAcmeCa": "https://pebble:14000/dir",
            "escalafin:ingressAcmeCaRoot": pem,
            "escalafin:ingressMaxBodyMb": "2",
        },
    )
    route = run.one(ROUTE, "route")
    caddyfile = route.inputs["caddyfile"]
    assert "\nescalafin.test {" in caddyfile  # the host only: Caddy listens on 443 inside
    assert "acme_ca https://pebble:14000/dir" in caddyfile
    assert "acme_ca_root /etc/caddy/acme-ca-root.pem" in caddyfile
    assert "max_size 2MB" in caddyfile and f"> {2 * 1024 * 1024}" in caddyfile
    assert route.inputs["acme_ca_root"].startswith("-----BEGIN CERTIFICATE-----")
    ports = run.one(CONTAINER, "ingress").inputs["ports"]
    assert {(p["internal"], p["external"], p.get("protocol", "tcp")) for p in ports} == {
        (80, 3000, "tcp"),
        (443, 8443, "tcp"),
        (443, 8443, "udp"),
    }
    assert all(p["ip"] == "127.0.0.1" for p in ports)


def test_pinned_image_skips_the_build_and_runs_as_given() -> None:
    """Rollback: appImage = a previous imageDigest output."""
    previous = "sha256:" + "ab" * 32
    run = run_program("dev", {"escalafin:appImage": previous})
    built = [i.name for i in run.of_type("docker:index/image:Image")]
    assert sorted(built) == ["ops", "postgres-pitr"]  # no app build
    assert run.one(CONTAINER, "app").inputs["image"] == previous
    assert run.outputs["imageDigest"] == previous
    # The pinned image is recorded as the build deployed last, so it stays kept.
    history = run.one("pulumi-python:dynamic/escalafin:ImageHistory", "app-builds")
    assert history.inputs["image_id"] == previous
