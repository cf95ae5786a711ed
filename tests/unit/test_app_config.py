"""Pure logic of the reference app: env validation, Prisma URL translation, health body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.escalafin_app import config, dburl, report

pytestmark = pytest.mark.unit

DB = "postgresql://escalafin:s3cret-pw@postgres:5432/escalafin"
REDIS = "redis://:r3dis-pw@redis:6379/0"


def test_defaults_apply_when_only_required_env_is_set() -> None:
    settings = config.load({"DATABASE_URL": DB, "REDIS_URL": REDIS})
    assert (settings.port, settings.version, settings.environment) == (3000, "0.0.0", "production")
    assert "s3cret-pw" not in repr(settings) and "r3dis-pw" not in repr(settings)


def test_environment_prefers_app_env_then_node_env() -> None:
    base = {"DATABASE_URL": DB, "REDIS_URL": REDIS, "NODE_ENV": "development"}
    assert config.load(base).environment == "development"
    assert config.load({**base, "APP_ENV": "dev"}).environment == "dev"


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL"])
def test_missing_required_variable_is_named(missing: str) -> None:
    env = {"DATABASE_URL": DB, "REDIS_URL": REDIS}
    env[missing] = "  "
    with pytest.raises(config.ConfigError, match=f"^{missing} is required"):
        config.load(env)


def test_wrong_scheme_is_rejected_without_echoing_the_value() -> None:
    with pytest.raises(config.ConfigError) as error:
        config.load({"DATABASE_URL": "mysql://u:s3cret-pw@h/db", "REDIS_URL": REDIS})
    assert "DATABASE_URL" in str(error.value) and "s3cret-pw" not in str(error.value)


@pytest.mark.parametrize("port", ["0", "70000", "abc", "-1"])
def test_bad_port_is_rejected(port: str) -> None:
    with pytest.raises(config.ConfigError, match="PORT must be an integer between 1 and 65535"):
        config.load({"DATABASE_URL": DB, "REDIS_URL": REDIS, "PORT": port})


def test_prisma_only_parameters_are_dropped_and_schema_becomes_search_path() -> None:
    target = dburl.parse(f"{DB}?schema=tenant_a&connection_limit=5&sslmode=require&pgbouncer=true")
    assert target.conninfo == f"{DB}?sslmode=require"
    assert target.schema == "tenant_a"
    assert target.options(2000) == "-c statement_timeout=2000 -c search_path=tenant_a"


def test_public_schema_keeps_server_default_search_path() -> None:
    target = dburl.parse(f"{DB}?schema=public")
    assert (target.conninfo, target.schema) == (DB, None)
    assert target.options(1500) == "-c statement_timeout=1500"


def test_schema_that_is_not_an_identifier_is_rejected() -> None:
    with pytest.raises(config.ConfigError, match="DATABASE_URL parameter schema="):
        dburl.parse(f"{DB}?schema=a;drop")


def test_healthy_report() -> None:
    now = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    status, body = report.health(
        report.Probe(database=True, redis=True, users=3),
        version="1.0.0",
        environment="prod",
        now=now,
    )
    assert status == 200
    assert body == {
        "status": "healthy",
        "timestamp": "2024-05-01T12:30:15.123Z",
        "database": "connected",
        "redis": "connected",
        "users": 3,
        "version": "1.0.0",
        "environment": "prod",
    }


@pytest.mark.parametrize(
    ("probe", "database", "redis"),
    [
        (report.Probe(database=False, redis=True, users=None), "disconnected", "connected"),
        (report.Probe(database=True, redis=False, users=1), "connected", "disconnected"),
        (report.Probe(database=True, redis=True, users=None), "connected", "connected"),
    ],
)
def test_any_failed_dependency_is_503(probe: report.Probe, database: str, redis: str) -> None:
    status, body = report.health(probe, version="v", environment="e", now=datetime.now(UTC))
    assert (status, body["status"], body["database"], body["redis"]) == (
        503,
        "unhealthy",
        database,
        redis,
    )


def test_timestamp_is_utc_whatever_the_input_zone() -> None:
    local = datetime(2024, 1, 1, 8, 0, 0, tzinfo=timezone(timedelta(hours=-6)))
    assert report.iso_timestamp(local) == "2024-01-01T14:00:00.000Z"
