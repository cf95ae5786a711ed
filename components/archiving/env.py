"""pgBackRest's options as the environment each container gets (pure, unit-tested).

pgBackRest reads every option from `PGBACKREST_<OPTION>` variables, so the stack needs no
configuration file and secrets never reach argv. The TLS material travels as
`ESCALAFIN_PEM_*` variables; the containers write them to the files pgBackRest reads
(archiving/postgres/pem-files.sh, lifecycle.archiving.pgbackrest.ensure_tls_files).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.archiving import REPO_PATH, STANZA

TLS_DIR = "/etc/pgbackrest/tls"
SERVER_PORT = 8432
SERVER_ALIAS = "pgbackrest-server"
CLIENT_CN = "escalafin-backup-agent"
AGENT_TLS_DIR = "/home/ops/.pgbackrest-tls"
SOCKET_DIR = "/var/run/postgresql"


@dataclass(frozen=True)
class Repository:
    """Where the repository lives: AWS S3 (endpoint None) or an S3-compatible store."""

    bucket: str
    region: str
    endpoint_host: str | None = None
    """host[:port] of a TLS front before an S3-compatible store; None = AWS S3."""
    verify_ca: bool = False
    """Trust the stack's CA (file ca.crt) instead of the system's."""


def repository(repo: Repository, tls_dir: str) -> dict[str, str]:
    """Options every pgBackRest process sharing the repository needs (not the keys)."""
    env = {
        "PGBACKREST_STANZA": STANZA,
        "PGBACKREST_REPO1_TYPE": "s3",
        "PGBACKREST_REPO1_PATH": REPO_PATH,
        "PGBACKREST_REPO1_S3_BUCKET": repo.bucket,
        "PGBACKREST_REPO1_S3_REGION": repo.region,
        "PGBACKREST_COMPRESS_TYPE": "zst",
        # Retention is decided by the agent (age with a floor) and applied with an explicit
        # count at expire time; this only silences pgBackRest's "not set" warning.
        "PGBACKREST_REPO1_RETENTION_FULL": "9999999",
        "PGBACKREST_LOG_LEVEL_FILE": "off",
        "PGBACKREST_LOG_LEVEL_CONSOLE": "off",
        "PGBACKREST_LOG_LEVEL_STDERR": "warn",
    }
    if repo.endpoint_host is None:
        env["PGBACKREST_REPO1_S3_ENDPOINT"] = f"s3.{repo.region}.amazonaws.com"
    else:
        host, _, port = repo.endpoint_host.partition(":")
        env["PGBACKREST_REPO1_S3_ENDPOINT"] = host
        env["PGBACKREST_REPO1_S3_URI_STYLE"] = "path"
        if port:
            env["PGBACKREST_REPO1_STORAGE_PORT"] = port
    if repo.verify_ca:
        env["PGBACKREST_REPO1_STORAGE_CA_FILE"] = f"{tls_dir}/ca.crt"
    return env


def database_server(repo: Repository, pgdata: str, user: str, queue_max_mb: int) -> dict[str, str]:
    """The PostgreSQL container: archive-push (async, bounded queue) and archive-get.

    The queue limit is checked only when archive-push starts its asynchronous process,
    and one async run against an unreachable bucket lasts as long as its repository
    requests retry (pgBackRest's src/command/archive/push/push.c, cmdArchivePushAsync:
    the drop test precedes the repository check). With the 60 s default io-timeout that
    is minutes per attempt while pg_wal grows; 10 s makes an unreachable bucket fail
    fast, so the limit holds within about a minute (measured on the lab engine). The
    foreground waits at most 30 s for the async result, unblocking PostgreSQL's archiver
    sooner. Neither limits a healthy transfer: io-timeout bounds each socket operation.
    """
    return {
        **repository(repo, TLS_DIR),
        "PGBACKREST_PG1_PATH": pgdata,
        "PGBACKREST_PG1_USER": user,
        "PGBACKREST_ARCHIVE_ASYNC": "y",
        "PGBACKREST_SPOOL_PATH": "/var/spool/pgbackrest",
        "PGBACKREST_ARCHIVE_PUSH_QUEUE_MAX": f"{queue_max_mb}MiB",
        "PGBACKREST_ARCHIVE_TIMEOUT": "30",
        "PGBACKREST_IO_TIMEOUT": "10",
        "PGBACKREST_PROCESS_MAX": "2",
    }


def postgres_settings(archive_timeout_s: int) -> list[str]:
    """Server settings (command-line -c, which beat postgresql.auto.conf, where a restore
    writes restore_command and its targets: those are left alone)."""
    return [
        "-c",
        "archive_mode=on",
        "-c",
        "archive_command=pgbackrest archive-push %p",
        "-c",
        f"archive_timeout={archive_timeout_s}",
    ]


def backup_server(pgdata: str, user: str) -> dict[str, str]:
    """The sidecar: `pgbackrest server`, answering only the agent's certificate."""
    return {
        "PGBACKREST_PG1_PATH": pgdata,
        "PGBACKREST_PG1_USER": user,
        "PGBACKREST_TLS_SERVER_ADDRESS": "*",
        "PGBACKREST_TLS_SERVER_PORT": str(SERVER_PORT),
        "PGBACKREST_TLS_SERVER_CA_FILE": f"{TLS_DIR}/ca.crt",
        "PGBACKREST_TLS_SERVER_CERT_FILE": f"{TLS_DIR}/tls.crt",
        "PGBACKREST_TLS_SERVER_KEY_FILE": f"{TLS_DIR}/tls.key",
        "PGBACKREST_TLS_SERVER_AUTH": f"{CLIENT_CN}={STANZA}",
        "PGBACKREST_LOG_LEVEL_FILE": "off",
        "PGBACKREST_LOG_LEVEL_CONSOLE": "off",
        "PGBACKREST_LOG_LEVEL_STDERR": "warn",
    }


def agent(repo: Repository, pgdata: str, user: str) -> dict[str, str]:
    """The backup agent: the repository plus the sidecar as its (only) database host."""
    return {
        **repository(repo, AGENT_TLS_DIR),
        "ESCALAFIN_PGBACKREST_TLS_DIR": AGENT_TLS_DIR,
        "PGBACKREST_PG1_HOST": SERVER_ALIAS,
        "PGBACKREST_PG1_HOST_TYPE": "tls",
        "PGBACKREST_PG1_HOST_PORT": str(SERVER_PORT),
        "PGBACKREST_PG1_HOST_CA_FILE": f"{AGENT_TLS_DIR}/ca.crt",
        "PGBACKREST_PG1_HOST_CERT_FILE": f"{AGENT_TLS_DIR}/tls.crt",
        "PGBACKREST_PG1_HOST_KEY_FILE": f"{AGENT_TLS_DIR}/tls.key",
        "PGBACKREST_PG1_PATH": pgdata,
        "PGBACKREST_PG1_USER": user,
        "PGBACKREST_LOCK_PATH": "/tmp/pgbackrest",  # noqa: S108 - the container's own /tmp
        "PGBACKREST_PROCESS_MAX": "2",
    }
