"""Every bad config value fails early with one error naming key, value and what is allowed."""

from __future__ import annotations

import pytest

from components.config_schema import BY_NAME, KEYS
from components.settings import ConfigError, Settings, load
from tests.support.program import run_program, stack_config

pytestmark = pytest.mark.unit


class DictConfig:
    """A ConfigSource over the same key/values the engine would hand the program."""

    def __init__(self, values: dict[str, str], secret_keys: list[str]) -> None:
        self.all_keys = list(values)
        self.values = {
            k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("escalafin:")
        }
        self.secret_keys = {k.split(":", 1)[1] for k in secret_keys}

    def raw(self, key: str) -> str | None:
        return self.values.get(key)

    def is_secret(self, key: str) -> bool:
        return key in self.secret_keys

    def keys(self) -> list[str]:
        return self.all_keys


def settings_for(stack: str = "dev", **overrides: str | None) -> Settings:
    values, secret_keys = stack_config(stack, {f"escalafin:{k}": v for k, v in overrides.items()})
    return load(DictConfig(values, secret_keys), stack=stack)


def error_for(stack: str = "dev", **overrides: str | None) -> str:
    with pytest.raises(ConfigError) as info:
        settings_for(stack, **overrides)
    return str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("appPort", "70000", "an integer from 1 to 65535"),
        ("ingressHttpPort", "http", "an integer from 1 to 65535"),
        ("ingressHttpsPort", "0", "an integer from 1 to 65535"),
        ("ingressBindAddress", "localhost", "an IPv4 address"),
        ("ingressImage", "Caddy:2", "an image reference"),
        ("ingressAcmeEmail", "ops at example", "an email address"),
        ("ingressAcmeCa", "http://acme.example.com/dir", "an absolute https:// URL"),
        ("ingressAcmeCaRoot", "not a certificate", "PEM certificates"),
        ("ingressMaxBodyMb", "0", "an integer from 1 to 10240"),
        ("appReplicas", "0", "an integer from 1 to 20"),
        ("appImage", "App Image", "an image id such as sha256:<64 hex>"),
        ("databaseAdminPort", "0", "an integer from 1 to 65535"),
        ("appMemoryMb", "12", "an integer from 64 to 65536"),
        ("databaseAdminPortEnabled", "maybe", "true or false"),
        ("postgresImage", "Postgres:17", "an image reference"),
        ("redisImage", "redis:7 alpine", "an image reference"),
        ("appBaseImage", "python::3.13", "an image reference"),
        ("appCacheFrom", '["ok:1", "NOT OK"]', "an image reference"),
        ("backupRetentionDays", "0", "an integer from 1 to 3650"),
        ("backupKeepMin", "-1", "an integer from 1 to 1000"),
        ("backupSchedule", "every day", "a 5-field cron expression"),
        ("backupSchedule", "0 2 * *", "a 5-field cron expression"),
        ("backupTimezone", "Mars/Olympus", "an IANA time zone"),
        ("healthInterval", "30", "a duration such as"),
        ("healthTimeout", "0s", "a duration greater than zero"),
        ("healthRetries", "0", "an integer from 1 to 100"),
        ("healthPath", "api/health", "an absolute URL path"),
        ("restartPolicy", "sometimes", "one of no, on-failure, always, unless-stopped"),
        ("lifecycleMode", "ssh", "one of direct, in-network"),
        ("backupStore", "gcs", "one of aws, embedded"),
        ("appPublicUrl", "ftp://x", "an absolute http:// or https:// URL"),
        ("appBuildArgs", '{"A": 1}', "a JSON array of strings"),
        ("appEnv", '["1BAD=x"]', '"NAME=value" strings'),
        ("appEnv", '["A=1", "A=2"]', "each NAME at most once (A repeats)"),
        ("backupBucketName", "Bad_Bucket", "an S3 bucket name"),
        ("databaseName", "escala-fin", "a lowercase PostgreSQL identifier"),
        ("namePrefix", "Escalafin", "2-42 lowercase letters"),
        ("appContext", "no/such/dir", "a directory"),
        ("appDockerfile", "Dockerfile.missing", "a Dockerfile in app inside appContext"),
        ("backupS3Region", "mars-1", "an AWS region name"),
        ("appTarget", "", "the name of a stage of the Dockerfile"),
        ("appTarget", "production", "a stage of the Dockerfile: "),
        ("appHealthcheckCommand", '["curl", "-f", "http://x"]', 'starting with "CMD"'),
        ("appHealthcheckCommand", '["CMD-SHELL", "a", "b"]', '["CMD-SHELL", "shell command"]'),
        ("appTemplate", "rails", "one of python, nextjs"),
    ],
)
def test_bad_value_names_key_value_and_allowed(key: str, value: str, allowed: str) -> None:
    message = error_for(**{key: value})
    assert f"escalafin:{key} = {value!r}: expected " in message
    assert allowed in message


@pytest.mark.parametrize(
    ("key", "successor"),
    [("appHostPort", "ingressHttpPort"), ("appBindAddress", "ingressBindAddress")],
)
def test_retired_key_is_an_error_naming_its_successor(key: str, successor: str) -> None:
    message = error_for(**{key: "3000"})
    assert f"escalafin:{key} is no longer read: use escalafin:{successor}" in message
    assert "is not a setting" not in message  # one answer, not also a spelling suggestion


def test_the_https_port_counts_as_published_only_with_https() -> None:
    clash = {"ingressHttpsPort": "5432", "appPublicUrl": "https://app.example.com"}
    assert "(escalafin:ingressHttpsPort is 5432)" in error_for(**clash)
    assert settings_for("dev", ingressHttpsPort="5432").ingress.https_port == 5432  # http only


def test_ingress_defaults_per_stack() -> None:
    dev = settings_for("dev").ingress
    assert (dev.bind_address, dev.http_port, dev.tls) == ("127.0.0.1", 3000, False)
    assert settings_for("dev").app.public_url == "http://localhost:3000"
    assert settings_for("dev", ingressHttpPort="8080").app.public_url == "http://localhost:8080"
    prod = settings_for("prod").ingress
    everywhere = "0.0.0.0"  # noqa: S104 - prod's ingress is what the internet reaches
    assert (prod.bind_address, prod.http_port, prod.https_port) == (everywhere, 80, 443)
    assert prod.tls and prod.host == "app.escalafin.example.com"
    assert settings_for("prod").app.replicas == 1


def test_unknown_environment() -> None:
    message = error_for(environment="staging")
    assert "escalafin:environment = 'staging': expected one of dev, prod" in message


def test_environment_defaults_to_stack_name() -> None:
    values, _ = stack_config("prod", {"escalafin:environment": None})
    assert load(DictConfig(values, []), stack="prod").environment == "prod"
    with pytest.raises(ConfigError, match="'qa': expected one of dev, prod"):
        load(DictConfig(values, []), stack="qa")


def test_all_problems_reported_at_once() -> None:
    message = error_for(appPort="0", backupRetentionDays="0", backupSchedule="x")
    assert message.count("\n  - ") == 3


def test_postgres_major_must_match_image() -> None:
    message = error_for(postgresImage="postgres:16-alpine")
    assert "a PostgreSQL 17 image" in message and "pg_dump must match the server" in message


def test_direct_lifecycle_needs_admin_port() -> None:
    message = error_for(databaseAdminPortEnabled="false", lifecycleMode="direct")
    assert "lifecycleMode = 'direct': expected in-network" in message


def test_prod_backups_must_leave_the_host() -> None:
    assert "aws in prod" in error_for("prod", backupStore="embedded")


def test_half_configured_integration_is_an_error() -> None:
    message = error_for(smtpHost="smtp.example.com")
    assert "smtp integration is half configured" in message
    assert "smtpPort, smtpFrom missing" in message


def test_secret_in_plaintext_is_refused_without_echoing_it() -> None:
    message = error_for(databasePassword="hunter2-plaintext")
    assert "escalafin:databasePassword is stored in plaintext" in message
    assert "hunter2" not in message


def test_bad_secret_value_is_not_echoed() -> None:
    values, _ = stack_config("dev")
    values["escalafin:backupS3AccessKeyId"] = "AKIASECRET"
    with pytest.raises(ConfigError) as info:
        load(DictConfig(values, ["escalafin:backupS3AccessKeyId"]), stack="dev")
    message = str(info.value)
    assert "go together" in message and "AKIASECRET" not in message


def test_program_fails_before_declaring_anything() -> None:
    with pytest.raises(ConfigError, match="escalafin:appPort = '99999'"):
        run_program("dev", {"escalafin:appPort": "99999"})


def test_defaults_without_stack_file_values() -> None:
    s = settings_for("dev")
    assert (s.app.port, s.app.health.interval, s.backup.retention_days) == (3000, "30s", 7)
    assert (
        s.database.admin_endpoint is not None and str(s.database.admin_endpoint) == "127.0.0.1:5432"
    )
    p = settings_for("prod")
    assert p.database.admin_endpoint is None and p.lifecycle.mode == "in-network"
    assert p.backup.store == "aws" and p.is_prod


def test_durations_are_canonicalised() -> None:
    s = settings_for(healthInterval="90s", healthTimeout="1m", healthStartPeriod="1h")
    assert (s.app.health.interval, s.app.health.timeout, s.app.health.start_period) == (
        "1m30s",
        "1m0s",
        "1h0m0s",
    )


def test_every_schema_key_is_documented() -> None:
    assert len(BY_NAME) == len(KEYS)
    for key in KEYS:
        assert key.description.endswith("."), key.name


# ---------------------------------------------------------------- issue 10, item 8


def only_problem(message: str) -> str:
    """The single problem line of a ConfigError message (asserting there is one)."""
    lines = [ln for ln in message.splitlines() if ln.startswith("  - ")]
    assert len(lines) == 1, message
    return lines[0][4:]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # 1-2: typos in key names were ignored, leaving the default in place
        (
            "escalafin:appPrt",
            "8080",
            "escalafin:appPrt is not a setting of this program; did you mean escalafin:appPort?",
        ),
        (
            "escalafn:appPort",
            "8080",
            "escalafn:appPort: unknown namespace 'escalafn'; did you mean escalafin:appPort?",
        ),
        ("escalafin:backupretentiondays", "3", "did you mean escalafin:backupRetentionDays?"),
        # 3-5: paths must stay inside appContext (migrationsDir=/etc was a traceback)
        (
            "escalafin:migrationsDir",
            "/etc",
            "escalafin:migrationsDir = '/etc': expected a folder of Prisma migrations inside "
            "appContext (a relative path",
        ),
        (
            "escalafin:migrationsDir",
            "../../etc",
            "escalafin:migrationsDir = '../../etc': expected a folder",
        ),
        (
            "escalafin:seedFile",
            "/etc/passwd",
            "escalafin:seedFile = '/etc/passwd': expected the seed data file inside appContext",
        ),
        (
            "escalafin:appDockerfile",
            "/etc/hostname",
            "escalafin:appDockerfile = '/etc/hostname': expected a Dockerfile in app inside "
            "appContext",
        ),
        # 6: two published ports on one host port fail to bind mid-deploy
        (
            "escalafin:ingressHttpPort",
            "5432",
            "escalafin:databaseAdminPort = '5432': expected a host port no other published "
            "port uses (escalafin:ingressHttpPort is 5432)",
        ),
        # 7: a healthcheck Docker would not run as meant
        (
            "escalafin:appHealthcheckCommand",
            '["node", "-e", "x"]',
            "escalafin:appHealthcheckCommand = ",
        ),
        # 8: appEnv overriding what the program derives (the healthcheck would probe the old port)
        (
            "escalafin:appEnv",
            '["PORT=8080"]',
            "escalafin:appEnv sets PORT, which the program sets itself (from appPort)",
        ),
        (
            "escalafin:appEnv",
            '["DATABASE_URL=postgresql://x"]',
            "escalafin:appEnv sets DATABASE_URL",
        ),
        (
            "escalafin:appEnv",
            '["SENTRY_DSN=https://k@x/1"]',
            "escalafin:appEnv sets SENTRY_DSN, which the program sets itself (from sentryDsn)",
        ),
        # 9-10
        (
            "escalafin:backupS3Region",
            "mars-1",
            "escalafin:backupS3Region = 'mars-1': expected an AWS region name",
        ),
        ("escalafin:appTarget", "", "escalafin:appTarget = '': expected the name of a stage"),
        # 11: a wrong context is one problem, on appContext, not three on the files in it
        (
            "escalafin:appContext",
            "/etc",
            "escalafin:appContext = '/etc': expected a directory (relative to the project) "
            "holding the app",
        ),
    ],
)
def test_each_config_mistake_is_one_clear_error_naming_the_key(
    key: str, value: str, expected: str
) -> None:
    values, secret_keys = stack_config("dev", {key: value})
    with pytest.raises(ConfigError) as info:
        load(DictConfig(values, secret_keys), stack="dev")
    problem = only_problem(str(info.value))
    assert problem.startswith(expected) or expected in problem, problem


def test_other_namespaces_are_left_alone() -> None:
    values, secret_keys = stack_config("dev", {"docker:host": "ssh://x", "aws:region": "us-east-1"})
    assert load(DictConfig(values, secret_keys), stack="dev").app.port == 3000


def test_program_fails_on_a_typo_before_declaring_anything() -> None:
    """Through the real Pulumi config path (set_all_config), before any resource."""
    with pytest.raises(ConfigError, match="did you mean escalafin:appPort"):
        run_program("dev", {"escalafin:appPrt": "8080"})


def test_program_owned_env_covers_everything_the_app_container_gets() -> None:
    from components.settings import INTEGRATION_ENV, PROGRAM_OWNED_ENV  # noqa: PLC0415

    run = run_program("dev")
    app = run.one("docker:index/container:Container", "app")
    names = {e.split("=", 1)[0] for e in app.inputs.get("envs", [])}
    assert names <= {*PROGRAM_OWNED_ENV, *INTEGRATION_ENV}
