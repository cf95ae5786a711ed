"""The backup agent as it runs in the stack: the ops image on an internal network with
PostgreSQL 17, the S3-compatible store and the backups volume; `backup now` through
`docker exec`, a restore and a revert run inside the agent, and the faults of issue 10:
a failed run, a full volume, an S3 outage, a restore killed midway, a damaged archive found
by the restore drill, a password with URL characters."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, cast

import docker
import psycopg
import pytest
from docker.models.containers import Container
from docker.models.volumes import Volume

from lifecycle import cli, restore
from tests.support import backup_env, services, url_secrets
from tests.support.backup_env import S3
from tests.support.docker_env import LABEL

pytestmark = pytest.mark.images

BACKUPS = "/backup-escalafin"
HEALTHCHECK: dict[str, Any] = {
    "test": ["CMD", "python", "-m", "lifecycle.backup_agent", "healthcheck"],
    "interval": 1_000_000_000,
    "timeout": 10_000_000_000,
    "retries": 1,
    "start_period": 3_000_000_000,
}


@dataclass(frozen=True)
class Stack:
    client: docker.DockerClient
    image: str
    network: str
    pg: services.Postgres
    s3: S3
    bucket: str
    database: str
    agent: Container

    @property
    def url(self) -> str:
        """The agent's database, from the test process."""
        return self.pg.url.rsplit("/", 1)[0] + "/" + self.database

    def env(self, database: str | None = None, **overrides: str) -> dict[str, str]:
        return {
            "DATABASE_URL": self.pg.url_in_network("postgres").rsplit("/", 1)[0]
            + "/"
            + (database or self.database),
            # Nothing fires while the tests run (Jan 1st, yearly); a start catches up once.
            "BACKUP_SCHEDULE": "0 3 1 1 *",
            "BACKUP_TIMEZONE": "America/Mexico_City",
            "BACKUP_HEALTH_GRACE_S": "15",
            "BACKUP_DRILL_SCHEDULE": "off",
            "BACKUP_UPLOAD_RETRY_S": "2",
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": "http://objectstore:9000",
            "S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": backup_env.S3_USER,
            "AWS_SECRET_ACCESS_KEY": backup_env.S3_SECRET,
            **overrides,
        }

    def start_agent(
        self, volume: Volume, env: dict[str, str], restart: dict[str, Any] | None = None
    ) -> Container:
        return self.client.containers.run(
            self.image,
            ["lifecycle.backup_agent"],
            name=f"escalafin-test-agent-{uuid.uuid4().hex[:8]}",
            detach=True,
            labels={LABEL: "1"},
            network=self.network,
            volumes={str(volume.name): {"bind": BACKUPS, "mode": "rw"}},
            environment=env,
            healthcheck=HEALTHCHECK,
            restart_policy=restart or {"Name": "no"},  # type: ignore[arg-type]
        )


def new_volume(client: docker.DockerClient, **driver_opts: str) -> Volume:
    return client.volumes.create(
        f"escalafin-test-backups-{uuid.uuid4().hex[:8]}",
        labels={LABEL: "1"},
        **({"driver": "local", "driver_opts": driver_opts} if driver_opts else {}),
    )


def health(container: Container) -> tuple[str, str]:
    """(status, output of the last check)."""
    container.reload()
    state = container.attrs["State"].get("Health", {})
    log = state.get("Log") or [{}]
    return str(state.get("Status")), str(log[-1].get("Output", ""))


def wait_health(container: Container, wanted: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, output = health(container)
        if status == wanted:
            return output
        time.sleep(0.5)
    logs = container.logs(tail=30).decode(errors="replace")
    raise AssertionError(f"{container.name} not {wanted} after {timeout}s:\n{logs}")


def exec_json(
    container: Container, *cmd: str, environment: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    run = container.exec_run(["python", "-m", *cmd, "--json"], demux=True, environment=environment)
    out, err = cast(tuple[bytes | None, bytes | None], run.output)
    lines = (out or b"").decode().strip().splitlines()
    return int(run.exit_code or 0), json.loads(lines[-1]) if lines else {}, (err or b"").decode()


def in_agent(container: Container, script: str) -> str:
    """Run a Python snippet in the agent (the slim image has no ps, no pkill)."""
    run = container.exec_run(["python", "-c", script])
    assert run.exit_code == 0, run.output
    return cast(bytes, run.output).decode().strip()


PROCESSES = (
    "import pathlib\n"
    "for p in pathlib.Path('/proc').iterdir():\n"
    "    if p.name.isdigit():\n"
    "        try: print(p.name, (p / 'cmdline').read_bytes().replace(b'\\0', b' ').decode())\n"
    "        except OSError: pass\n"
)


def processes(container: Container, needle: str) -> list[int]:
    lines = in_agent(container, PROCESSES).splitlines()
    return [
        int(line.split()[0]) for line in lines if needle in line and "import pathlib" not in line
    ]


def volume_files(container: Container) -> list[str]:
    return in_agent(
        container, f"import os; print(' '.join(sorted(os.listdir('{BACKUPS}'))))"
    ).split()


def backup_now(stack: Stack) -> str:
    code, result, err = exec_json(stack.agent, "lifecycle.backup", "now")
    assert code == 0, err
    return str(result["name"])


@pytest.fixture(scope="module")
def stack(docker_client: docker.DockerClient, ops_image: str) -> Iterator[Stack]:
    with backup_env.in_network(docker_client) as env:
        net, pg, s3, url = env.network, env.postgres, env.s3, env.url
        backup_env.populate(url, users=50)
        partial = Stack(
            docker_client,
            ops_image,
            net,
            pg,
            s3,
            s3.new_bucket(),
            url.rsplit("/", 1)[1],
            cast(Container, None),
        )
        volume = new_volume(docker_client)
        agent = partial.start_agent(volume, partial.env(BACKUP_CATCH_UP="true"))
        try:
            yield replace(partial, agent=agent)
        finally:
            agent.remove(force=True)
            volume.remove(force=True)


def test_backup_now_through_docker_exec(stack: Stack) -> None:
    wait_health(stack.agent, "healthy", 60)  # the catch-up run at start succeeded
    code, result, err = exec_json(stack.agent, "lifecycle.backup", "now")
    assert code == 0, err
    name = str(result["name"])
    assert result["uploaded_to"] == f"s3://{stack.bucket}/{name}"
    ls = cast(bytes, stack.agent.exec_run(["ls", "-l", BACKUPS]).output).decode()
    assert name in ls and f"{name}.sha256" in ls and "ops" in ls  # written as the non-root user
    head = stack.s3.client().head_object(Bucket=stack.bucket, Key=name)
    assert head["Metadata"]["sha256"] == result["sha256"]
    assert head["ContentLength"] == result["size"]
    code, listing, err = exec_json(stack.agent, "lifecycle.backup", "list")
    assert code == 0, err
    assert {(r["where"], r["name"]) for r in listing["backups"]} >= {("volume", name), ("s3", name)}


def test_restore_and_revert_run_inside_the_agent(
    stack: Stack, docker_client: docker.DockerClient
) -> None:
    """The prod path: no database port needed, the agent has the network and the volume."""
    name = backup_now(stack)
    at_backup = backup_env.fingerprint(stack.url)
    with psycopg.connect(stack.url, autocommit=True) as conn:
        conn.execute('DELETE FROM "Payment"')
    edited = backup_env.fingerprint(stack.url)
    steps = restore.AgentSteps(docker_client, str(stack.agent.name))
    restored = restore.restore(steps, name, app=None, confirm=False)
    assert str(restored["safety"]).endswith("-safety.dump")
    assert backup_env.fingerprint(stack.url) == at_backup
    assert next(r["name"] for r in steps.retired()) == restored["retired"]
    # The operator's way back: the database as it was when writers were cut off.
    steps.revert(None)
    assert backup_env.fingerprint(stack.url) == edited


def test_failed_run_turns_unhealthy_at_once_and_a_success_heals(stack: Stack) -> None:
    backup_now(stack)
    wait_health(stack.agent, "healthy", 30)
    bad = stack.env()["DATABASE_URL"].replace(stack.pg.password, "wrong-password")
    code, _, err = exec_json(
        stack.agent, "lifecycle.backup", "now", environment={"DATABASE_URL": bad}
    )
    assert code == cli.EXIT_UNAVAILABLE, err
    output = wait_health(stack.agent, "unhealthy", 15)
    assert "the last backup run failed" in output and "password authentication failed" in output
    backup_now(stack)
    wait_health(stack.agent, "healthy", 15)


def test_full_volume_is_a_recorded_failure_not_a_crash_loop(stack: Stack) -> None:
    """ENOSPC used to be a traceback and a restart loop (9 restarts in 45 s) while the
    healthcheck said healthy. Now: one failure, recorded, unhealthy, no restart, nothing
    partial left on the volume."""
    url = backup_env.new_database(stack.pg)
    with psycopg.connect(url, autocommit=True) as conn:  # ~2.5 MB that does not compress
        conn.execute(
            "CREATE TABLE blob AS SELECT g, decode(md5(random()::text) || md5(random()::text)"
            " || md5(random()::text) || md5(random()::text), 'hex') AS b"
            " FROM generate_series(1, 40000) g"
        )
    volume = new_volume(stack.client, type="tmpfs", device="tmpfs", o="size=1m,uid=10001")
    agent = stack.start_agent(
        volume,
        stack.env(url.rsplit("/", 1)[1], BACKUP_CATCH_UP="true"),
        restart={"Name": "always"},
    )
    try:
        output = wait_health(agent, "unhealthy", 60)
        agent.reload()
        restarts = agent.attrs["RestartCount"]
        print(f"full volume: restarts={restarts}, health: {output.strip()}")
        assert restarts == 0 and agent.status == "running"
        assert "No space left on device" in output
        assert [f for f in volume_files(agent) if f.endswith((".partial", ".dump"))] == []
    finally:
        agent.remove(force=True)
        volume.remove(force=True)


@contextmanager
def s3_down(stack: Stack) -> Iterator[None]:
    network = stack.client.networks.get(stack.network)
    network.disconnect(stack.s3.container, force=True)
    try:
        yield
    finally:
        network.connect(stack.s3.container, aliases=["objectstore"])


def test_s3_outage_keeps_local_backups_usable_and_uploads_them_later(stack: Stack) -> None:
    with s3_down(stack):
        code, result, err = exec_json(stack.agent, "lifecycle.backup", "now")
        assert code == 5, err  # the verified local copy is kept, the run is a failure
        assert "retried later" in str(result["error"])
        newest = [f for f in volume_files(stack.agent) if f.endswith(".dump")]
        name = max(newest, key=lambda f: (not f.endswith("-safety.dump"), f))
        for command in (("lifecycle.backup", "list"), ("lifecycle.restore", "list")):
            code, listing, err = exec_json(stack.agent, *command)
            assert code == 0, err
            assert ("volume", name) in {(r["where"], r["name"]) for r in listing["backups"]}
            assert any("off-site copies not listed" in w for w in listing["warnings"])
        code, verified, err = exec_json(stack.agent, "lifecycle.restore", "verify", "--latest")
        assert code == 0 and verified["name"] == name, err
        assert "the last backup run failed" in wait_health(stack.agent, "unhealthy", 15)
    # S3 is back: the agent uploads what it missed within BACKUP_UPLOAD_RETRY_S.
    wait_health(stack.agent, "healthy", 60)
    head = stack.s3.client().head_object(Bucket=stack.bucket, Key=name)
    assert head["Metadata"]["sha256"]


SLEEPY_INDEXES = """
CREATE FUNCTION pg_catalog.escalafin_test_sleep() RETURNS event_trigger LANGUAGE plpgsql
AS $$ BEGIN PERFORM pg_sleep(120); END $$;
CREATE EVENT TRIGGER escalafin_test_sleep ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
EXECUTE FUNCTION pg_catalog.escalafin_test_sleep();
"""


@contextmanager
def slow_index_builds(pg: services.Postgres) -> Iterator[None]:
    """Index builds in databases created from template0 (restore staging) sleep 120 s, so
    a restore can be killed while its pg_restore workers are busy."""
    admin = pg.url
    template0 = admin.rsplit("/", 1)[0] + "/template0"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("ALTER DATABASE template0 ALLOW_CONNECTIONS true")
    try:
        with psycopg.connect(template0, autocommit=True) as conn:
            conn.execute(SLEEPY_INDEXES)
        yield
    finally:
        with psycopg.connect(template0, autocommit=True) as conn:
            conn.execute("DROP EVENT TRIGGER IF EXISTS escalafin_test_sleep")
            conn.execute("DROP FUNCTION IF EXISTS pg_catalog.escalafin_test_sleep()")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("ALTER DATABASE template0 ALLOW_CONNECTIONS false")


def siblings(stack: Stack, kind: str) -> list[str]:
    with psycopg.connect(stack.pg.url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (f"{stack.database}\\_{kind}\\_%",),
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_killed_restore_leaves_nothing_after_the_next_run(stack: Stack) -> None:
    name = backup_now(stack)
    before = backup_env.fingerprint(stack.url)
    with slow_index_builds(stack.pg):
        exec_id = stack.client.api.exec_create(
            stack.agent.id, ["python", "-m", "lifecycle.restore", "apply", name, "--yes"]
        )
        stack.client.api.exec_start(exec_id["Id"], detach=True)
        deadline = time.monotonic() + 90
        while not (siblings(stack, "restore") and processes(stack.agent, "pg_restore")):
            assert time.monotonic() < deadline, stack.agent.logs(tail=20)
            time.sleep(0.5)
        time.sleep(1)  # the workers are inside their index builds
        [apply_pid] = processes(stack.agent, "lifecycle.restore apply")
        in_agent(stack.agent, f"import os; os.kill({apply_pid}, 9)")
        time.sleep(1)
        left = (len(processes(stack.agent, "pg_restore")), len(siblings(stack, "restore")))
    backup_now(stack)  # the next run: it repairs and cleans first
    after = (len(processes(stack.agent, "pg_restore")), len(siblings(stack, "restore")))
    print(
        "killed restore: (pg_restore processes, staging dbs) "
        f"after the kill {left}, after the next run {after}"
    )
    assert after == (0, 0)
    assert backup_env.fingerprint(stack.url) == before  # the live database is back as it was
    assert not [f for f in volume_files(stack.agent) if f.endswith((".partial", ".download"))]
    assert not [f for f in volume_files(stack.agent) if f.endswith(".pgid")]


def test_restore_drill_proves_the_latest_backup_and_reports_in_health(stack: Stack) -> None:
    name = backup_now(stack)
    code, drilled, err = exec_json(stack.agent, "lifecycle.drill")
    assert code == 0, err
    assert drilled["archive"] == name and drilled["tables"] == 3 and drilled["rows"] > 0
    assert not siblings(stack, "drill")  # the scratch database is gone
    wait_health(stack.agent, "healthy", 15)
    # A bit flipped in the archive on the volume: the drill fails, the agent says so.
    in_agent(
        stack.agent,
        f"p = '{BACKUPS}/{name}'; b = bytearray(open(p, 'rb').read()); "
        "b[len(b) // 2] ^= 1; open(p, 'wb').write(b)",
    )
    code, failed, err = exec_json(stack.agent, "lifecycle.drill")
    assert code == cli.EXIT_REFUSED and "checksum mismatch" in str(failed["error"]), err
    assert "the last restore drill failed" in wait_health(stack.agent, "unhealthy", 15)
    backup_now(stack)
    assert exec_json(stack.agent, "lifecycle.drill")[0] == 0
    wait_health(stack.agent, "healthy", 15)


def test_password_with_url_characters_in_the_agent(stack: Stack) -> None:
    role, password = url_secrets.special_role(stack.pg)
    url = url_secrets.url_as(role, password, "postgres", 5432, stack.database)
    outputs: list[str] = []
    for cmd in (("lifecycle.backup", "now"), ("lifecycle.restore", "verify", "--latest")):
        code, result, err = exec_json(stack.agent, *cmd, environment={"DATABASE_URL": url})
        assert code == 0, url_secrets.leaks(err, password) or err[-500:]
        outputs.append(json.dumps(result) + err)
    wrong = url_secrets.url_as(role, password + "!", "postgres", 5432, stack.database)
    raw = f"postgresql://{role}:{password}@postgres:5432/{stack.database}"
    for bad, expected in ((wrong, cli.EXIT_UNAVAILABLE), (raw, cli.EXIT_USAGE)):
        code, result, err = exec_json(
            stack.agent, "lifecycle.backup", "now", environment={"DATABASE_URL": bad}
        )
        assert code == expected, err
        outputs.append(json.dumps(result) + err)
    outputs.append(health(stack.agent)[1])
    outputs.append(stack.agent.logs().decode(errors="replace"))
    for text in outputs:
        assert not url_secrets.leaks(text, password)
    backup_now(stack)  # leave the agent healthy
