"""Shared by the backup and restore tests: a populated database, an S3 API, fingerprints."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import docker
import psycopg
from docker.models.containers import Container
from mypy_boto3_s3.client import S3Client
from psycopg import sql

from components import object_store
from tests.support import s3_store, services
from tests.support.docker_env import LABEL

S3_USER = "escalafin-test"
S3_SECRET = "escalafin-test-secret"


@dataclass(frozen=True)
class S3:
    container: Container
    endpoint: str

    def client(self) -> S3Client:
        return boto3.client(  # type: ignore[no-any-return]
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=S3_USER,
            aws_secret_access_key=S3_SECRET,
        )

    def new_bucket(self) -> str:
        name = f"escalafin-test-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name


# docker-py publishes on a random free port when the host port is None (its stubs say int).
LOOPBACK_ANY_PORT: dict[str, Any] = {"9000/tcp": ("127.0.0.1", None)}


@contextmanager
def s3_server(c: docker.DockerClient) -> Iterator[S3]:
    """The stack's S3-compatible store, run as the stack runs it, on 127.0.0.1."""
    container = c.containers.run(
        s3_store.image(c),
        object_store.COMMAND,
        name=f"escalafin-test-s3-{uuid.uuid4().hex[:8]}",
        detach=True,
        labels={LABEL: "1"},
        ports=LOOPBACK_ANY_PORT,
        environment={
            **object_store.SETTINGS_ENV,
            object_store.ACCESS_KEY_ENV: S3_USER,
            object_store.SECRET_KEY_ENV: S3_SECRET,
        },
        healthcheck={
            "test": object_store.HEALTH_TEST,
            "interval": 500_000_000,
            "timeout": 5_000_000_000,
            "retries": 60,
        },
    )
    try:
        services.wait_healthy(container)
        port = services._published_port(container, "9000/tcp")
        yield S3(container, f"http://127.0.0.1:{port}")
    finally:
        container.remove(force=True, v=True)


@dataclass(frozen=True)
class InNetwork:
    """PostgreSQL and the S3 store on one internal network, as a stack's ops jobs see them."""

    network: str
    postgres: services.Postgres
    s3: S3
    url: str
    """A fresh database on the server (reached from this process)."""


@contextmanager
def in_network(c: docker.DockerClient) -> Iterator[InNetwork]:
    """The store answers as `objectstore` on the network, like the stack's embedded one."""
    with (
        services.network(c, internal=True) as net,
        services.postgres(c, network=net) as pg,
        s3_server(c) as s3,
    ):
        c.networks.get(net).connect(s3.container, aliases=["objectstore"])
        yield InNetwork(net, pg, s3, new_database(pg))


def s3_env(s3: S3, bucket: str) -> dict[str, str]:
    return {
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3.endpoint,
        "S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": S3_USER,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
    }


def new_database(server: services.Postgres) -> str:
    """A fresh UTF-8 database on the server; returns its URL."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(sql.Identifier(name))
        )
    return server.url.rsplit("/", 1)[0] + "/" + name


SCHEMA = """
CREATE TABLE "User" (id text PRIMARY KEY, email text UNIQUE NOT NULL, name text,
                     "createdAt" timestamptz NOT NULL DEFAULT now());
CREATE TABLE "Loan" (id bigserial PRIMARY KEY, "userId" text NOT NULL REFERENCES "User"(id),
                     amount numeric(14,2) NOT NULL, rate numeric(6,4), terms jsonb,
                     contract bytea, status text NOT NULL DEFAULT 'ACTIVE');
CREATE INDEX loan_user ON "Loan"("userId");
CREATE TABLE "Payment" (id bigserial PRIMARY KEY, "loanId" bigint REFERENCES "Loan"(id),
                        paid numeric(14,2), "paidAt" timestamptz, note text);
"""


def populate(url: str, users: int = 200) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(
            """INSERT INTO "User" (id, email, name)
               SELECT 'u' || g, 'user' || g || '@example.mx', 'Nombre ñandú ' || g
               FROM generate_series(1, %s) g""",
            (users,),
        )
        conn.execute(
            """INSERT INTO "Loan" ("userId", amount, rate, terms, contract)
               SELECT 'u' || (g %% %s + 1), (g * 137.5)::numeric(14,2), 0.0425,
                      jsonb_build_object('weeks', g %% 52, 'tags', jsonb_build_array('a', g)),
                      decode(md5(g::text), 'hex')
               FROM generate_series(1, %s) g""",
            (users, users * 3),
        )
        conn.execute(
            """INSERT INTO "Payment" ("loanId", paid, "paidAt", note)
               SELECT (g %% %s) + 1, g * 10.01, '2025-01-01'::timestamptz + g * interval '1 hour',
                      repeat('pago ', g %% 7)
               FROM generate_series(1, %s) g""",
            (users * 3, users * 10),
        )


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of its full content, plus sequence positions."""
    out: dict[str, tuple[int, str]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema "
            "NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' "
            "ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            query = sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
                " FROM {} t"
            ).format(sql.Identifier(str(schema), str(table)))
            row = conn.execute(query).fetchone()
            assert row is not None
            out[f"{schema}.{table}"] = (int(row[0]), str(row[1]))
        sequences = conn.execute("SELECT schemaname, sequencename FROM pg_sequences").fetchall()
        for schema, seq in sequences:
            query = sql.SQL("SELECT last_value FROM {}").format(
                sql.Identifier(str(schema), str(seq))
            )
            row = conn.execute(query).fetchone()
            out[f"sequence {schema}.{seq}"] = (int(row[0]) if row else 0, "")
    return out
