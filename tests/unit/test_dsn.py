"""Connection URLs with any password (issue 10, item 3): built percent-encoded, read back
exactly by libpq and redis-py, refused with a clear message when written raw, and never
shown in a log line or an error."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from psycopg import conninfo
from redis.connection import parse_url

from components.dsn import postgres_url, redis_url
from lifecycle import db
from tests.support.program import ProgramRun, run_program

pytestmark = pytest.mark.unit

NASTY = "p#/?%@:'x y\"ñ"


def test_postgres_url_reads_back_exactly_through_libpq() -> None:
    url = postgres_url("escala fin", NASTY, "postgres", 5432, "escalafin")
    params = conninfo.conninfo_to_dict(db.to_conninfo(url))
    assert (params["user"], params["password"], params["host"], params["dbname"]) == (
        "escala fin",
        NASTY,
        "postgres",
        "escalafin",
    )
    assert params["port"] == "5432"


def test_redis_url_reads_back_exactly_through_redis_py() -> None:
    kwargs = parse_url(redis_url(NASTY, "redis", 6379))
    assert (kwargs["password"], kwargs["host"], kwargs["port"], kwargs["db"]) == (
        NASTY,
        "redis",
        6379,
        0,
    )


@pytest.mark.parametrize("char", ["#", "/", "?", "@", "%zz"])
def test_raw_url_characters_are_refused_without_echoing_the_password(char: str) -> None:
    secret = f"s3cr{char}et-value"
    url = f"postgresql://escalafin:{secret}@postgres:5432/escalafin"
    with pytest.raises(db.DatabaseUrlError) as refused:
        db.to_conninfo(url)
    message = str(refused.value)
    assert "percent-encoded" in message
    assert "s3cr" not in message and "et-value" not in message
    assert "s3cr" not in db.redact(url) and "et-value" not in db.redact(url)


def test_redact_and_scrub_hide_the_encoded_and_decoded_password() -> None:
    url = postgres_url("u", NASTY, "h", 5432, "d")
    assert db.redact(url) == "postgresql://u:***@h:5432/d"
    text = f"failed for {NASTY} / {quote(NASTY, safe='')} / {url}"
    scrubbed = db.scrub(text, url)
    assert NASTY not in scrubbed and quote(NASTY, safe="") not in scrubbed


def test_keepalives_bound_a_dead_server_and_the_url_can_override_them() -> None:
    params = conninfo.conninfo_to_dict(db.to_conninfo("postgresql://u@h/d"))
    assert params["keepalives"] == "1" and params["tcp_user_timeout"] == "30000"
    idle, interval, count = (
        int(str(params[k])) for k in ("keepalives_idle", "keepalives_interval", "keepalives_count")
    )
    assert idle + interval * count <= 30  # a dead server is noticed within half a minute
    overridden = conninfo.conninfo_to_dict(db.to_conninfo("postgresql://u@h/d?keepalives_idle=60"))
    assert overridden["keepalives_idle"] == "60"


@pytest.fixture(scope="module")
def nasty_run() -> ProgramRun:
    return run_program(
        "dev",
        secrets={"escalafin:databasePassword": NASTY, "escalafin:redisPassword": NASTY},
    )


def test_the_stack_wires_encoded_urls_into_the_app_and_the_agent(nasty_run: ProgramRun) -> None:
    for name in ("app", "backup-agent"):
        container = nasty_run.one("docker:index/container:Container", name)
        env = dict(e.split("=", 1) for e in container.inputs.get("envs", []))
        params = conninfo.conninfo_to_dict(db.to_conninfo(env["DATABASE_URL"]))
        assert (params["password"], params["host"]) == (NASTY, "postgres"), name
    app = nasty_run.one("docker:index/container:Container", "app")
    env = dict(e.split("=", 1) for e in app.inputs.get("envs", []))
    assert parse_url(env["REDIS_URL"])["password"] == NASTY
