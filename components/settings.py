"""All stack config, read once, validated, as frozen dataclasses.

`load()` runs before any resource is declared. Every problem found is collected
and raised as one `ConfigError` naming the key, the value and what is allowed,
so a bad stack file fails `pulumi preview` with one readable message instead of
half a deployment. Secret values are never echoed; only their keys are named.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Protocol, TypeVar
from urllib.parse import urlsplit

import pulumi
from pulumi.runtime import config as runtime_config

from components import validation as v
from components.app_templates import TEMPLATES, AppTemplate
from components.config_schema import (
    BY_NAME,
    ENVIRONMENTS,
    NAMESPACE,
    TARGET_ONLY_KEYS,
    Environment,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent


def project_relative(path: Path) -> str:
    """`path` relative to the project directory, the working directory of `pulumi`,
    its providers and the dynamic provider host: what may go into state. An absolute
    path of the machine that ran `pulumi` would make another checkout see a change."""
    return Path(os.path.relpath(path, PROJECT_DIR)).as_posix()


T = TypeVar("T")
Target = Literal["docker-host", "aws-ecs"]
TARGETS: tuple[Target, ...] = ("docker-host", "aws-ecs")


class ConfigError(Exception):
    """Raised with every config problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "invalid stack configuration:\n  - "
            + "\n  - ".join(problems)
            + "\nSet values with `pulumi config set escalafin:<key> <value>` "
            "(secrets with --secret); Pulumi.yaml documents every key."
        )


class ConfigSource(Protocol):
    """What settings need from Pulumi config; a plain dict stands in for it in tests."""

    def raw(self, key: str) -> str | None: ...
    def is_secret(self, key: str) -> bool: ...
    def keys(self) -> Iterable[str]:
        """Every key the stack's config sets, namespaced (`escalafin:appPort`, `docker:host`)."""
        ...


class PulumiConfig:
    """The running stack's config (the `escalafin:` namespace)."""

    def raw(self, key: str) -> str | None:
        value = pulumi.runtime.get_config(f"{NAMESPACE}:{key}")
        return None if value is None else str(value)

    def is_secret(self, key: str) -> bool:
        return pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}")

    def keys(self) -> Iterable[str]:
        """All config keys the engine passed to the program.

        The Python language host (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec)
        reads the engine's PULUMI_CONFIG (JSON, `get_config_env`) and stores it with
        `set_all_config` in the `pulumi.runtime.config.CONFIG` context variable, which
        `get_config` reads first; mocks (`set_all_config` in tests) fill the same variable.
        The SDK has no public call listing keys, so both are read here.
        """
        return {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class Healthcheck:
    path: str
    command: tuple[str, ...]
    interval: str
    timeout: str
    retries: int
    start_period: str


@dataclass(frozen=True)
class AppBuild:
    context: Path
    dockerfile: Path
    target: str
    platform: str
    """The Docker host's platform; the ops image is built for it too."""
    base_image: str
    build_args: Mapping[str, str]
    cache_from: tuple[str, ...]
    image_name: str


@dataclass(frozen=True)
class AppSettings:
    build: AppBuild
    version: str
    port: int
    public_url: str
    extra_env: Mapping[str, str]
    memory_mb: int
    health: Healthcheck
    replicas: int
    image: str | None
    """Run this image instead of building `build` (a rollback to a previous imageDigest)."""

    @property
    def health_url(self) -> str:
        return self.public_url + self.health.path


@dataclass(frozen=True)
class IngressSettings:
    """Caddy in front of the app: the only container that publishes beyond loopback."""

    image: str
    bind_address: str
    http_port: int
    https_port: int
    public_url: str
    acme_email: str | None
    acme_ca: str | None
    acme_ca_root: str | None
    max_body_mb: int
    memory_mb: int

    @property
    def tls(self) -> bool:
        """https:// public URL: Caddy obtains and renews the host's certificate itself."""
        return urlsplit(self.public_url).scheme == "https"

    @property
    def host(self) -> str:
        return urlsplit(self.public_url).hostname or "localhost"


@dataclass(frozen=True)
class AdminEndpoint:
    """PostgreSQL published for admin tools; always on loopback."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class DatabaseSettings:
    image: str
    major: int
    name: str
    user: str
    password: pulumi.Output[str] | None
    memory_mb: int
    admin_endpoint: AdminEndpoint | None


@dataclass(frozen=True)
class CacheSettings:
    image: str
    password: pulumi.Output[str] | None
    memory_mb: int


@dataclass(frozen=True)
class Integration:
    """One optional integration: configured as a whole or not at all."""

    name: str
    env: Mapping[str, str]
    secret_env: Mapping[str, pulumi.Output[str]]


@dataclass(frozen=True)
class BackupSettings:
    schedule: str
    timezone: str
    retention_days: int
    keep_min: int
    memory_mb: int
    drill_schedule: str  # a cron expression, or "off"
    bucket_name: str
    region: str
    store: str  # "aws" | "embedded"
    store_image: str
    access_key_id: pulumi.Output[str] | None
    secret_access_key: pulumi.Output[str] | None


@dataclass(frozen=True)
class ArchivingSettings:
    """Continuous archiving (issue 13); None in Settings when pitrEnabled is false."""

    archive_timeout_s: int
    rpo_s: int
    schedule: str
    full_every_days: int
    retention_days: int
    keep_min: int
    queue_max_mb: int
    store_tls_image: str


@dataclass(frozen=True)
class SeedPasswords:
    admin: pulumi.Output[str] | None
    advisor: pulumi.Output[str] | None
    client: pulumi.Output[str] | None


@dataclass(frozen=True)
class LifecycleSettings:
    mode: str  # "direct" | "in-network"
    migrations_dir: Path
    seed_file: Path


@dataclass(frozen=True)
class Settings:
    stack: str
    environment: Environment
    name_prefix: str
    restart_policy: str
    ops_base_image: str
    lifecycle: LifecycleSettings
    docker_host: str | None
    app: AppSettings
    ingress: IngressSettings
    database: DatabaseSettings
    cache: CacheSettings
    nextauth_secret: pulumi.Output[str] | None
    seed_passwords: SeedPasswords
    integrations: tuple[Integration, ...]
    backup: BackupSettings
    archiving: ArchivingSettings | None = None
    """Set when pitrEnabled (docker-host only: on aws-ecs RDS archives WAL itself)."""
    target: Target = "docker-host"
    aws: AwsSettings | None = None
    """Set when target is aws-ecs."""

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


# ---------------------------------------------------------------- reading


class _Reader:
    """Reads keys with schema defaults and collects problems instead of stopping at the first."""

    def __init__(self, source: ConfigSource, environment: Environment) -> None:
        self.source = source
        self.environment: Environment = environment
        self.problems: list[str] = []

    def raw(self, key: str) -> str | None:
        value = self.source.raw(key)
        if value is None:
            value = BY_NAME[key].default_for(self.environment)
        return value

    def problem(self, key: str, value: str | None, allowed: str) -> None:
        shown = "<secret>" if BY_NAME[key].secret else repr(value)
        self.problems.append(f"{NAMESPACE}:{key} = {shown}: expected {allowed}")

    def parsed(self, key: str, parse: Callable[[str], T], fallback: T) -> T:
        value = self.raw(key)
        if value is None:
            self.problems.append(f"{NAMESPACE}:{key} is required but not set")
            return fallback
        try:
            return parse(value)
        except v.InvalidValue as exc:
            self.problem(key, value, str(exc))
            return fallback

    def optional(self, key: str, parse: Callable[[str], T]) -> T | None:
        value = self.raw(key)
        if value is None or value == "":
            return None
        try:
            return parse(value)
        except v.InvalidValue as exc:
            self.problem(key, value, str(exc))
            return None

    def text(self, key: str) -> str:
        return self.parsed(key, str, "")

    def integer(self, key: str, minimum: int, maximum: int) -> int:
        return self.parsed(key, lambda s: v.parse_int(s, minimum=minimum, maximum=maximum), minimum)

    def secret(self, key: str) -> pulumi.Output[str] | None:
        value = self.source.raw(key)
        if value is None or value == "":
            return None
        if not self.source.is_secret(key):
            self.problems.append(
                f"{NAMESPACE}:{key} is stored in plaintext: expected a secret "
                f"(pulumi config set --secret {NAMESPACE}:{key} ...)"
            )
        return pulumi.Output.secret(value)


def _environment(source: ConfigSource, stack: str) -> Environment:
    raw = source.raw("environment") or stack
    for env in ENVIRONMENTS:
        if raw == env:
            return env
    raise ConfigError(
        [
            f"{NAMESPACE}:environment = {raw!r}: expected one of {', '.join(ENVIRONMENTS)} "
            "(set it in the stack file, or name the stack dev or prod)"
        ]
    )


def load(
    source: ConfigSource | None = None,
    stack: str | None = None,
    docker_host: str | None = None,
    aws_region: str | None = None,
) -> Settings:
    """Read and validate the whole stack config; raise ConfigError listing every problem."""
    if source is None:
        source = PulumiConfig()
        docker_host = pulumi.Config("docker").get("host")
        aws_region = pulumi.Config("aws").get("region")
    stack = stack or pulumi.get_stack()
    environment = _environment(source, stack)
    r = _Reader(source, environment)
    r.problems += unknown_keys(source.keys())
    target: Target = r.parsed("target", _parse_target, "docker-host")
    r.problems += other_target_keys(source, target)

    prefix = (
        r.parsed("namePrefix", v.parse_resource_prefix, "escalafin")
        if source.raw("namePrefix")
        else f"escalafin-{environment}"
    )
    restart = r.parsed(
        "restartPolicy",
        lambda s: v.parse_choice(s, ("no", "on-failure", "always", "unless-stopped")),
        "unless-stopped",
    )

    # The docker provider falls back to DOCKER_HOST when docker:host is unset.
    effective_host = docker_host or os.environ.get("DOCKER_HOST")
    http_port = r.parsed("ingressHttpPort", v.parse_port, 3000)
    app, context = _app(r, prefix, effective_host, http_port)
    database = _database(r)
    cache = CacheSettings(
        image=r.parsed("redisImage", v.parse_image_ref, ""),
        password=r.secret("redisPassword"),
        memory_mb=r.integer("redisMemoryMb", 32, 65536),
    )
    lifecycle_mode = r.parsed(
        "lifecycleMode", lambda s: v.parse_choice(s, ("direct", "in-network")), "in-network"
    )
    if lifecycle_mode == "direct" and database.admin_endpoint is None:
        r.problems.append(
            f"{NAMESPACE}:lifecycleMode = 'direct': expected in-network when "
            f"{NAMESPACE}:databaseAdminPortEnabled is false "
            "(direct mode connects to the admin port)"
        )

    settings = Settings(
        stack=stack,
        environment=environment,
        name_prefix=prefix,
        restart_policy=restart,
        ops_base_image=r.parsed("opsBaseImage", v.parse_image_ref, ""),
        lifecycle=_lifecycle(r, lifecycle_mode, context),
        docker_host=docker_host,
        app=app,
        ingress=_ingress(r, http_port, app.public_url),
        database=database,
        cache=cache,
        nextauth_secret=r.secret("nextauthSecret"),
        seed_passwords=SeedPasswords(
            admin=r.secret("seedAdminPassword"),
            advisor=r.secret("seedAdvisorPassword"),
            client=r.secret("seedClientPassword"),
        ),
        integrations=_integrations(r),
        backup=_backup(r, prefix, environment, target),
        archiving=_archiving(r, database.image) if target == "docker-host" else None,
        target=target,
    )
    if target == "aws-ecs":
        settings = replace(settings, aws=_aws(r, settings, aws_region))
        settings = _aws_backup_region(r, settings, aws_region)
    else:
        _published_ports(r, settings)
    if r.problems:
        raise ConfigError(r.problems)
    return settings


def _published_ports(r: _Reader, s: Settings) -> None:
    """Host ports the stack publishes must differ (one would fail to bind, mid-deploy)."""
    ports = {"ingressHttpPort": s.ingress.http_port}
    if s.ingress.tls:
        ports["ingressHttpsPort"] = s.ingress.https_port
    if s.database.admin_endpoint is not None:
        ports["databaseAdminPort"] = s.database.admin_endpoint.port
    seen: dict[int, str] = {}
    for key, port in ports.items():
        if port in seen:
            r.problem(
                key,
                str(port),
                f"a host port no other published port uses ({NAMESPACE}:{seen[port]} is {port})",
            )
        seen.setdefault(port, key)


# Keys an older version of the program read, and what replaced each: a stack file still
# setting one gets that answer rather than a spelling suggestion.
RETIRED_KEYS: dict[str, str] = {
    "appHostPort": "ingressHttpPort (the app publishes no port; the ingress serves it)",
    "appBindAddress": "ingressBindAddress (the app publishes no port; the ingress serves it)",
}


def unknown_keys(keys: Iterable[str]) -> list[str]:
    """Keys in the `escalafin:` namespace this program does not read, and keys whose
    namespace is a near-miss of it (`escalafn:appPort`): Pulumi passes them silently, so a
    typo would quietly leave the default in place."""
    known = list(BY_NAME)
    problems: list[str] = []
    for full in sorted(keys):
        namespace, sep, key = full.partition(":")
        if not sep or (namespace == NAMESPACE and key in BY_NAME):
            continue
        hint = v.suggest(key, known)
        if namespace == NAMESPACE and key in RETIRED_KEYS:
            problems.append(f"{full} is no longer read: use {NAMESPACE}:{RETIRED_KEYS[key]}")
        elif namespace == NAMESPACE:
            problems.append(
                f"{full} is not a setting of this program"
                + (f"; did you mean {NAMESPACE}:{hint}?" if hint else "")
                + " (Pulumi.yaml lists every key)"
            )
        elif v.suggest(namespace, [NAMESPACE]):
            problems.append(
                f"{full}: unknown namespace {namespace!r}; did you mean {NAMESPACE}:{hint or key}?"
            )
    return problems


def _inside(
    r: _Reader, key: str, raw: str, base: Path, what: str, *, kind: Callable[[Path], bool]
) -> Path:
    """`base / raw` (the value of key), which must stay inside `base` (no absolute path, no
    `..` out of it) and be a `what` there; otherwise one problem naming `key`."""
    path = (base / raw).resolve()
    if not path.is_relative_to(base) or path == base:
        r.problem(key, raw, f"{what} inside appContext (a relative path that stays inside it)")
    elif not kind(path):
        r.problem(key, raw, f"{what} inside appContext")
    return path


def _lifecycle(r: _Reader, mode: str, context: Path | None) -> LifecycleSettings:
    """Paths relative to appContext; not checked when appContext itself is wrong (that is
    one problem, reported on appContext alone)."""
    migrations_raw = r.text("migrationsDir")
    seed_raw = r.text("seedFile")
    if context is None:
        return LifecycleSettings(mode, Path(migrations_raw), Path(seed_raw))
    migrations = _inside(
        r,
        "migrationsDir",
        migrations_raw,
        context,
        "a folder of Prisma migrations",
        kind=Path.is_dir,
    )
    seed = _inside(r, "seedFile", seed_raw, context, "the seed data file", kind=Path.is_file)
    return LifecycleSettings(mode=mode, migrations_dir=migrations, seed_file=seed)


def _build_platform(r: _Reader, docker_host: str | None) -> str:
    """appPlatform, else this machine's platform when the engine is local (it is the same CPU).

    Without an explicit platform the docker provider builds for the CPU of the machine
    running `pulumi`, which is wrong for a remote host of another architecture, so a
    remote host requires it in the stack file.
    """
    explicit = r.optional("appPlatform", v.parse_platform)
    if explicit:
        return explicit
    if v.is_remote_docker_host(docker_host):
        r.problem(
            "appPlatform",
            "",
            f"the remote Docker host's platform (one of {', '.join(v.PLATFORMS)}) in the stack "
            f"file: the Docker host {docker_host} is remote, so this machine's CPU says nothing",
        )
        return v.PLATFORMS[0]
    local = v.machine_platform(platform.machine())
    if local is None:
        r.problem(
            "appPlatform",
            "",
            f"one of {', '.join(v.PLATFORMS)} (set it: this machine's "
            f"CPU {platform.machine()!r} has no Docker platform name)",
        )
        return v.PLATFORMS[0]
    return local


# Variables the program sets in the app container, and the key that sets each; appEnv must
# not override them (the healthcheck, port mapping and secrets are derived from the keys).
PROGRAM_OWNED_ENV: dict[str, str] = {
    "PORT": "appPort",
    "HOSTNAME": "(fixed: 0.0.0.0 inside the container)",
    "NODE_ENV": "(fixed: production)",
    "APP_ENV": "environment",
    "APP_VERSION": "appVersion",
    "NEXTAUTH_URL": "appPublicUrl",
    "NEXTAUTH_SECRET": "nextauthSecret",
    "DATABASE_URL": "databaseName / databaseUser / databasePassword",
    "REDIS_URL": "redisPassword",
}


def _template(r: _Reader) -> AppTemplate:
    return r.parsed(
        "appTemplate", lambda s: TEMPLATES[v.parse_choice(s, tuple(TEMPLATES))], TEMPLATES["python"]
    )


def _app_context(r: _Reader, template: AppTemplate) -> tuple[str, Path, Path | None]:
    """(raw, resolved, the context when usable else None). A context holding none of the
    app's files (no Dockerfile of its own, no migrations, no seed) is the one thing wrong:
    reported on appContext alone rather than as three missing files. The files the template
    needs there (package.json, ...) are checked too, on appContext."""
    raw = r.text("appContext")
    context = (PROJECT_DIR / raw).resolve()
    own_dockerfile = template.own_dockerfile(r.raw("appDockerfile"))
    allowed = "a directory (relative to the project) holding the app, " + (
        "its Dockerfile and prisma/" if own_dockerfile else "its package files and prisma/"
    )
    if not raw or not context.is_dir():
        r.problem("appContext", raw, allowed)
        return raw, context, None
    expected = [n for n in (own_dockerfile, r.raw("migrationsDir"), r.raw("seedFile")) if n]
    if not any((context / name).exists() for name in expected):
        r.problem("appContext", raw, f"{allowed} ({context} has none of {', '.join(expected)})")
        return raw, context, None
    missing = [f for f in template.required_files if not (context / f).is_file()]
    if missing:
        r.problem(
            "appContext",
            raw,
            f"an app with {', '.join(template.required_files)} for appTemplate "
            f"{template.name} (missing: {', '.join(missing)})",
        )
    return raw, context, context


def _dockerfile(
    r: _Reader, template: AppTemplate, context_raw: str, context: Path, usable: Path | None
) -> tuple[Path, bool]:
    """(the effective Dockerfile, whether it can be read for appTarget's stages).

    An explicit appDockerfile, or the python template's Dockerfile, is the app's own and
    must stay inside appContext. A template's shipped Dockerfile (templates/nextjs/) lies
    outside it by design: pulumi-docker sends a Dockerfile from outside the context along
    with it (see components/app_templates.py)."""
    name = template.own_dockerfile(r.raw("appDockerfile"))
    if name is None and template.dockerfile is not None:
        return template.dockerfile, True
    name = name or ""
    if usable is None:
        return (context / name).resolve(), False
    known_problems = len(r.problems)
    path = _inside(
        r, "appDockerfile", name, usable, f"a Dockerfile in {context_raw}", kind=Path.is_file
    )
    return path, len(r.problems) == known_problems


def _target(r: _Reader, dockerfile: Path | None) -> str:
    stages: list[str] | None = None
    if dockerfile is not None and dockerfile.is_file():
        stages = v.dockerfile_stages(dockerfile.read_text(errors="replace"))
    return r.parsed("appTarget", lambda t: v.parse_stage_name(t, stages), "runner")


def _app_env(r: _Reader) -> dict[str, str]:
    extra = r.parsed("appEnv", v.parse_key_values, {})
    owned = [name for name in extra if name in PROGRAM_OWNED_ENV or name in INTEGRATION_ENV]
    for name in owned:
        key = PROGRAM_OWNED_ENV.get(name) or INTEGRATION_ENV[name]
        r.problems.append(
            f"{NAMESPACE}:appEnv sets {name}, which the program sets itself (from {key}): "
            "set that instead, so the port mapping, healthcheck and secrets follow"
        )
    return extra


def _app(
    r: _Reader, prefix: str, docker_host: str | None, http_port: int
) -> tuple[AppSettings, Path | None]:
    """The app's settings, and its build context when usable (the lifecycle's base)."""
    template = _template(r)
    context_raw, context, usable = _app_context(r, template)
    dockerfile, dockerfile_ok = _dockerfile(r, template, context_raw, context, usable)
    public_url = r.optional("appPublicUrl", v.parse_http_url) or f"http://localhost:{http_port}"
    image_name = r.optional("appImageName", v.parse_image_ref) or f"{prefix}-app:latest"
    port = r.parsed("appPort", v.parse_port, 3000)
    health_path = r.parsed("healthPath", v.parse_path, "/api/health")
    settings = AppSettings(
        build=AppBuild(
            context=context,
            dockerfile=dockerfile,
            target=_target(r, dockerfile if dockerfile_ok else None),
            platform=_build_platform(r, docker_host),
            base_image=r.optional("appBaseImage", v.parse_image_ref) or template.base_image,
            build_args=r.parsed("appBuildArgs", v.parse_key_values, {}),
            cache_from=tuple(
                v.parse_image_ref(ref) for ref in r.parsed("appCacheFrom", _image_list, ())
            ),
            image_name=image_name,
        ),
        version=r.text("appVersion"),
        port=port,
        public_url=public_url,
        extra_env=_app_env(r),
        memory_mb=r.integer("appMemoryMb", 64, 65536),
        health=Healthcheck(
            path=health_path,
            command=r.parsed("appHealthcheckCommand", v.parse_healthcheck_command, ())
            or template.probe(port, health_path),
            interval=r.parsed("healthInterval", v.parse_duration, "30s"),
            timeout=r.parsed("healthTimeout", v.parse_duration, "10s"),
            retries=r.integer("healthRetries", 1, 100),
            start_period=r.parsed("healthStartPeriod", v.parse_duration, "40s"),
        ),
        replicas=r.integer("appReplicas", 1, 20),
        image=r.optional("appImage", v.parse_image_or_id),
    )
    return settings, usable


def _ingress(r: _Reader, http_port: int, public_url: str) -> IngressSettings:
    return IngressSettings(
        image=r.parsed("ingressImage", v.parse_image_ref, ""),
        bind_address=r.parsed("ingressBindAddress", v.parse_bind_address, "127.0.0.1"),
        http_port=http_port,
        https_port=r.parsed("ingressHttpsPort", v.parse_port, 443),
        public_url=public_url,
        acme_email=r.optional("ingressAcmeEmail", v.parse_email),
        acme_ca=r.optional("ingressAcmeCa", v.parse_https_url),
        acme_ca_root=r.optional("ingressAcmeCaRoot", v.parse_pem_certificates),
        max_body_mb=r.integer("ingressMaxBodyMb", 1, 10240),
        memory_mb=r.integer("ingressMemoryMb", 32, 65536),
    )


def _image_list(raw: str) -> tuple[str, ...]:
    refs = v.parse_string_list(raw)
    for ref in refs:
        v.parse_image_ref(ref)
    return refs


def _database(r: _Reader) -> DatabaseSettings:
    image = r.parsed("postgresImage", v.parse_image_ref, "")
    major = r.integer("postgresMajor", 13, 99)
    tag = v.image_tag(image) or ""
    tag_major = tag.split(".")[0].split("-")[0]
    if tag_major.isdigit() and int(tag_major) != major:
        r.problem(
            "postgresImage",
            image,
            f"a PostgreSQL {major} image (postgresMajor is {major}; pg_dump must match the server)",
        )
    admin_enabled = r.parsed("databaseAdminPortEnabled", v.parse_bool, False)
    admin_port = r.parsed("databaseAdminPort", v.parse_port, 5432)
    return DatabaseSettings(
        image=image,
        major=major,
        name=r.parsed("databaseName", v.parse_pg_identifier, "escalafin"),
        user=r.parsed("databaseUser", v.parse_pg_identifier, "escalafin"),
        password=r.secret("databasePassword"),
        memory_mb=r.integer("databaseMemoryMb", 128, 65536),
        admin_endpoint=AdminEndpoint("127.0.0.1", admin_port) if admin_enabled else None,
    )


@dataclass(frozen=True)
class _Group:
    name: str
    env: Mapping[str, str]  # config key -> environment variable
    required: tuple[str, ...]


_INTEGRATIONS = (
    _Group(
        "storage",
        {
            "storageS3Bucket": "AWS_BUCKET_NAME",
            "storageS3Region": "AWS_REGION",
            "storageS3AccessKeyId": "AWS_ACCESS_KEY_ID",
            "storageS3SecretAccessKey": "AWS_SECRET_ACCESS_KEY",
        },
        ("storageS3Bucket", "storageS3Region", "storageS3AccessKeyId", "storageS3SecretAccessKey"),
    ),
    _Group(
        "payments",
        {
            "openpayMerchantId": "OPENPAY_MERCHANT_ID",
            "openpayPublicKey": "OPENPAY_PUBLIC_KEY",
            "openpayPrivateKey": "OPENPAY_PRIVATE_KEY",
            "openpayBaseUrl": "OPENPAY_BASE_URL",
        },
        ("openpayMerchantId", "openpayPrivateKey"),
    ),
    _Group(
        "smtp",
        {
            "smtpHost": "SMTP_HOST",
            "smtpPort": "SMTP_PORT",
            "smtpUser": "SMTP_USER",
            "smtpPassword": "SMTP_PASSWORD",
            "smtpFrom": "SMTP_FROM",
        },
        ("smtpHost", "smtpPort", "smtpFrom"),
    ),
    _Group(
        "whatsapp",
        {
            "whatsappApiUrl": "EVOLUTION_API_URL",
            "whatsappApiKey": "EVOLUTION_API_KEY",
            "whatsappInstance": "EVOLUTION_INSTANCE_NAME",
        },
        ("whatsappApiUrl", "whatsappApiKey", "whatsappInstance"),
    ),
    _Group("sentry", {"sentryDsn": "SENTRY_DSN"}, ("sentryDsn",)),
)

# Environment variable -> the config key that sets it, for every integration.
INTEGRATION_ENV: dict[str, str] = {
    env: key for group in _INTEGRATIONS for key, env in group.env.items()
}

_INTEGRATION_PARSERS: dict[str, Callable[[str], object]] = {
    "smtpPort": v.parse_port,
    "openpayBaseUrl": v.parse_http_url,
    "whatsappApiUrl": v.parse_http_url,
}


def _integrations(r: _Reader) -> tuple[Integration, ...]:
    """Only configured integrations reach the app; half-configured ones are errors."""
    configured: list[Integration] = []
    for group in _INTEGRATIONS:
        present = [key for key in group.env if r.source.raw(key) not in (None, "")]
        if not present:
            continue
        missing = [key for key in group.required if key not in present]
        if missing:
            r.problems.append(
                f"{group.name} integration is half configured: {', '.join(present)} set but "
                f"{', '.join(missing)} missing (set all of {', '.join(group.required)} or none)"
            )
            continue
        env: dict[str, str] = {}
        secret_env: dict[str, pulumi.Output[str]] = {}
        for key in present:
            if BY_NAME[key].secret:
                value = r.secret(key)
                if value is not None:
                    secret_env[group.env[key]] = value
            else:
                parse = _INTEGRATION_PARSERS.get(key, str)
                env[group.env[key]] = str(r.parsed(key, parse, ""))
        configured.append(Integration(group.name, env, secret_env))
    return tuple(configured)


def _backup(
    r: _Reader, prefix: str, environment: Environment, target: Target = "docker-host"
) -> BackupSettings:
    store = r.parsed("backupStore", lambda s: v.parse_choice(s, ("aws", "embedded")), "aws")
    if target == "aws-ecs" and r.source.raw("backupStore") is None:
        store = "aws"  # the embedded store is a docker-host container
    access_key = r.secret("backupS3AccessKeyId")
    secret_key = r.secret("backupS3SecretAccessKey")
    if (access_key is None) != (secret_key is None):
        r.problems.append(
            f"{NAMESPACE}:backupS3AccessKeyId and {NAMESPACE}:backupS3SecretAccessKey go together: "
            "set both (as secrets) or neither "
            "(the stack then creates credentials scoped to the bucket)"
        )
    if environment == "prod" and store == "embedded":
        r.problem("backupStore", "embedded", "aws in prod (off-site backups must leave the host)")
    retention = r.integer("backupRetentionDays", 1, 3650)
    return BackupSettings(
        schedule=r.parsed("backupSchedule", v.parse_cron, "0 2 * * *"),
        timezone=r.parsed("backupTimezone", v.parse_timezone, "UTC"),
        retention_days=retention,
        keep_min=r.integer("backupKeepMin", 1, 1000),
        memory_mb=r.integer("backupMemoryMb", 64, 65536),
        drill_schedule=r.parsed(
            "backupDrillSchedule", lambda x: "off" if x == "off" else v.parse_cron(x), "off"
        ),
        bucket_name=r.optional("backupBucketName", v.parse_bucket_name) or f"{prefix}-backups",
        region=r.parsed("backupS3Region", v.parse_aws_region, "us-east-1"),
        store=store,
        store_image=r.parsed("backupStoreImage", v.parse_image_ref, ""),
        access_key_id=access_key,
        secret_access_key=secret_key,
    )


def _archiving(r: _Reader, postgres_image: str) -> ArchivingSettings | None:
    if not r.parsed("pitrEnabled", v.parse_bool, False):
        return None
    if "alpine" in (v.image_tag(postgres_image) or ""):
        r.problem(
            "postgresImage",
            postgres_image,
            "a Debian-based PostgreSQL image such as postgres:17-trixie while pitrEnabled is "
            "true (pgBackRest must be the same Debian package as in the ops image)",
        )
    rpo = r.integer("pitrRpoSeconds", 10, 86400)
    timeout = r.integer("pitrArchiveTimeoutSeconds", 5, 3600)
    if timeout >= rpo:
        r.problem(
            "pitrArchiveTimeoutSeconds",
            str(timeout),
            f"fewer seconds than pitrRpoSeconds ({rpo}): a segment must reach the bucket "
            "well within the RPO",
        )
    return ArchivingSettings(
        archive_timeout_s=timeout,
        rpo_s=rpo,
        schedule=r.parsed("pitrBackupSchedule", v.parse_cron, "30 3 * * *"),
        full_every_days=r.integer("pitrFullEveryDays", 1, 365),
        retention_days=r.integer("pitrRetentionDays", 1, 3650),
        keep_min=r.integer("pitrKeepMin", 1, 1000),
        queue_max_mb=r.integer("pitrArchiveQueueMaxMb", 64, 1048576),
        store_tls_image=r.parsed("pitrStoreTlsImage", v.parse_image_ref, ""),
    )


# ---------------------------------------------------------------- target aws-ecs


@dataclass(frozen=True)
class AwsSettings:
    """What only the aws-ecs target reads. Shared meanings come from the common keys:
    appPublicUrl (the ALB's HTTPS name), appMemoryMb, healthPath and the health timings,
    databaseName/User/Password, postgresMajor (RDS engine version), backupRetentionDays (RDS
    automated backups and the logical dumps), backupSchedule/Timezone, backupMemoryMb (the
    ops tasks' memory), redisPassword (the ElastiCache auth token)."""

    region: str
    vpc_cidr: str
    nat_gateways: int
    hosted_zone_id: str | None
    certificate_arn: str | None
    public_host: str
    app_cpu: int
    ops_cpu: int
    db_instance_class: str
    db_allocated_storage_gb: int
    db_max_allocated_storage_gb: int
    db_multi_az: bool
    db_parameters: Mapping[str, str]
    db_backup_retention_days: int
    cache_node_type: str
    cache_nodes: int
    log_retention_days: int
    backup_schedule_expression: str
    """backupSchedule as an EventBridge Scheduler cron(...) expression."""
    cpu_architecture: str  # X86_64 | ARM64, from appPlatform
    deletion_protection: bool
    """prod: RDS deletion protection and a final snapshot; secrets kept 7 days after delete."""


def other_target_keys(source: ConfigSource, target: Target) -> list[str]:
    """Keys set on this stack that only the other target reads (TARGET_ONLY_KEYS).

    A value equal to Pulumi.yaml's default is not "set": the engine hands project defaults
    to every stack, whatever its target."""
    problems: list[str] = []
    for key, (owner, instead) in TARGET_ONLY_KEYS.items():
        raw = source.raw(key)
        if owner == target or raw is None or raw == BY_NAME[key].default:
            continue
        problems.append(
            f"{NAMESPACE}:{key} applies to target {owner} only; this stack's target is {target}"
            + (f" ({instead})" if instead else "")
            + ": remove it from the stack file"
        )
    return problems


def _parse_target(raw: str) -> Target:
    for target in TARGETS:
        if raw == target:
            return target
    raise v.InvalidValue("one of " + ", ".join(TARGETS))


def _aws(r: _Reader, s: Settings, region: str | None) -> AwsSettings:
    from components.aws import rules  # noqa: PLC0415 (docker-host stacks never need it)

    if not region:
        r.problems.append(
            "aws:region is required when escalafin:target is aws-ecs "
            "(pulumi config set aws:region us-east-1)"
        )
    host = r.parsed("appPublicUrl", rules.https_host, "") if r.source.raw("appPublicUrl") else ""
    if not host:
        r.problems.append(
            f"{NAMESPACE}:appPublicUrl is required on aws-ecs: the https:// URL users open"
        )
    zone = r.raw("awsHostedZoneId") or None
    certificate = r.raw("awsCertificateArn") or None
    if zone is None and certificate is None:
        r.problems.append(
            f"{NAMESPACE}:awsHostedZoneId or {NAMESPACE}:awsCertificateArn is required on "
            "aws-ecs (a Route 53 zone to validate a new certificate in, or an issued one)"
        )
    app_cpu = r.parsed("awsAppCpu", rules.parse_fargate_cpu, 512)
    memory_problem = rules.fargate_memory_problem(app_cpu, s.app.memory_mb)
    if memory_problem:
        r.problem("appMemoryMb", str(s.app.memory_mb), memory_problem)
    ops_cpu = rules.smallest_fargate_cpu(s.backup.memory_mb)
    if ops_cpu is None:
        r.problem(
            "backupMemoryMb",
            str(s.backup.memory_mb),
            "a Fargate memory size on aws-ecs (512, 1024, 2048, ... MB): it sizes the ops tasks",
        )
    retention = s.backup.retention_days
    try:
        rules.parse_rds_backup_retention(retention)
    except v.InvalidValue as exc:
        r.problem("backupRetentionDays", str(retention), str(exc))
    try:
        schedule = rules.scheduler_cron(s.backup.schedule)
    except v.InvalidValue as exc:
        r.problem("backupSchedule", s.backup.schedule, str(exc))
        schedule = ""
    if s.backup.store != "aws":
        r.problem("backupStore", s.backup.store, "aws on aws-ecs")
    health = s.app.health
    for key, value in (
        ("healthInterval", health.interval),
        ("healthTimeout", health.timeout),
        ("healthStartPeriod", health.start_period),
    ):
        problem = rules.ecs_health_problem(key, value)
        if problem:
            r.problem(key, value, problem)
    if not rules.ECS_HEALTH_RETRIES[0] <= health.retries <= rules.ECS_HEALTH_RETRIES[1]:
        r.problem("healthRetries", str(health.retries), "1 to 10 on aws-ecs (ECS limit)")
    platform = s.app.build.platform or "linux/amd64"
    if platform not in ("linux/amd64", "linux/arm64"):
        r.problem("appPlatform", platform, "linux/amd64 or linux/arm64 on aws-ecs (Fargate)")
    return AwsSettings(
        region=region or "",
        vpc_cidr=r.parsed("awsVpcCidr", rules.parse_cidr16, "10.40.0.0/16"),
        nat_gateways=r.integer("awsNatGateways", 1, 2),
        hosted_zone_id=zone,
        certificate_arn=certificate,
        public_host=host,
        app_cpu=app_cpu,
        ops_cpu=ops_cpu or 256,
        db_instance_class=r.parsed("awsDbInstanceClass", _instance_class("db"), "db.t4g.micro"),
        db_allocated_storage_gb=r.integer("awsDbAllocatedStorageGb", 20, 65536),
        db_max_allocated_storage_gb=r.integer("awsDbMaxAllocatedStorageGb", 0, 65536),
        db_multi_az=r.parsed("awsDbMultiAz", v.parse_bool, False),
        db_parameters=r.parsed("awsDbParameters", _db_parameters, {}),
        db_backup_retention_days=retention,
        cache_node_type=r.parsed("awsCacheNodeType", _instance_class("cache"), "cache.t4g.micro"),
        cache_nodes=r.integer("awsCacheNodes", 1, 6),
        log_retention_days=r.parsed("awsLogRetentionDays", rules.parse_log_retention, 30),
        backup_schedule_expression=schedule,
        cpu_architecture="ARM64" if platform == "linux/arm64" else "X86_64",
        deletion_protection=s.is_prod,
    )


def _aws_backup_region(r: _Reader, s: Settings, region: str | None) -> Settings:
    """On aws-ecs the backup bucket is the stack's own, in aws:region (the VPC's S3 endpoint
    serves only that region): backupS3Region, when set beyond Pulumi.yaml's default, must
    say the same."""
    if not region:
        return s
    raw = r.source.raw("backupS3Region")
    if raw not in (None, BY_NAME["backupS3Region"].default, region):
        r.problem("backupS3Region", s.backup.region, f"aws:region ({region}) on aws-ecs")
    return replace(s, backup=replace(s.backup, region=region))


def _instance_class(family: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not re.fullmatch(rf"{family}\.[a-z0-9]+\.[a-z0-9]+", raw):
            raise v.InvalidValue(f"an instance class such as {family}.t4g.micro")
        return raw

    return parse


def _db_parameters(raw: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for item in v.parse_string_list(raw):
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[a-z_][a-z0-9_.]*", name) or name in parameters:
            raise v.InvalidValue(
                'PostgreSQL parameters as ["name=value", ...], each name once '
                '(e.g. ["log_min_duration_statement=500"])'
            )
        parameters[name] = value
    return parameters
