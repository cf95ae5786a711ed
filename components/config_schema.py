"""Every stack config key the program reads: type, default, description, secrecy.

This table is the single source of truth. Pulumi.yaml declares the same keys
(a unit test keeps the two identical) so `pulumi config` shows types and
descriptions, while settings.py applies the defaults itself: Pulumi does not
apply Pulumi.yaml defaults under unit-test mocks, and some defaults depend on
the environment (dev/prod), which Pulumi.yaml cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "integer", "boolean", "array"]
Environment = Literal["dev", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "prod")
NAMESPACE = "escalafin"


@dataclass(frozen=True)
class Key:
    name: str
    kind: Kind
    description: str
    default: str | None = None
    """Raw default (as Pulumi would store it); None = unset unless `by_env` says otherwise."""
    by_env: tuple[tuple[Environment, str], ...] = ()
    """Environment-specific defaults, which win over `default`."""
    secret: bool = False

    def default_for(self, environment: Environment) -> str | None:
        return dict(self.by_env).get(environment, self.default)


def _k(
    name: str,
    kind: Kind,
    description: str,
    default: str | None = None,
    *,
    dev: str | None = None,
    prod: str | None = None,
    secret: bool = False,
) -> Key:
    by_env: list[tuple[Environment, str]] = []
    if dev is not None:
        by_env.append(("dev", dev))
    if prod is not None:
        by_env.append(("prod", prod))
    return Key(name, kind, description, default, tuple(by_env), secret)


KEYS: tuple[Key, ...] = (
    # --- stack-wide
    _k("environment", "string", "Deployment environment: dev or prod. Defaults to the stack name."),
    _k(
        "namePrefix",
        "string",
        "Prefix of every Docker object's name. Default: escalafin-<environment>.",
    ),
    _k(
        "restartPolicy",
        "string",
        "Container restart policy: no, on-failure, always, unless-stopped.",
        "unless-stopped",
    ),
    # --- images
    _k(
        "postgresImage",
        "string",
        "PostgreSQL server image; Debian-based while pitrEnabled (the program derives an "
        "image with pgBackRest from it).",
        "postgres:17-trixie",
    ),
    _k(
        "postgresMajor",
        "integer",
        "PostgreSQL major version; the ops image installs the matching "
        "postgresql-client so pg_dump always matches the server.",
        "17",
    ),
    _k("redisImage", "string", "Redis server image.", "redis:7-alpine"),
    _k(
        "opsBaseImage",
        "string",
        "Base image (Python slim on Debian trixie) of the ops image that runs "
        "migrations, the seed and backups.",
        "python:3.13-slim",
    ),
    # --- app build
    _k("appContext", "string", "Build context of the app image, relative to the project.", "app"),
    _k(
        "appTemplate",
        "string",
        "What builds and probes the app: python (the Dockerfile in appContext; a Python "
        "healthcheck) or nextjs (the project's Next.js standalone Dockerfile, "
        "templates/nextjs/, with the Next.js app in appContext as context; a Node.js "
        "healthcheck).",
        "python",
    ),
    _k(
        "appDockerfile",
        "string",
        "Dockerfile of the app image, relative to appContext. "
        "Default: Dockerfile (python), templates/nextjs/Dockerfile of the project (nextjs).",
    ),
    _k("appTarget", "string", "Multi-stage target of the app image.", "runner"),
    _k(
        "appPlatform",
        "string",
        "Platform of the Docker host (linux/amd64, linux/arm64, ...): the app and ops images "
        "are built for it. Required when the Docker host is remote (ssh:// or tcp://); empty "
        "with a local engine = this machine's.",
        "",
    ),
    _k(
        "appBaseImage",
        "string",
        "Passed to the app build as BASE_IMAGE. "
        "Default: python:3.13-slim (python), node:20-slim (nextjs).",
    ),
    _k("appBuildArgs", "array", 'Extra build args as ["NAME=value", ...].', "[]"),
    _k("appCacheFrom", "array", "Images to use as build cache sources.", "[]"),
    _k(
        "appImageName",
        "string",
        "Local name of the built app image. Default: <namePrefix>-app:latest.",
    ),
    _k("appVersion", "string", "Version reported by the app (APP_VERSION).", "1.0.0"),
    # --- app runtime
    _k("appPort", "integer", "Port the app listens on inside its container.", "3000"),
    _k(
        "appPublicUrl",
        "string",
        "Public URL of the app (NEXTAUTH_URL, appUrl). https:// makes the ingress obtain and "
        "renew a certificate for its host (ACME). Default: http://localhost:<ingressHttpPort>.",
    ),
    _k("appEnv", "array", 'Extra plain environment for the app as ["NAME=value", ...].', "[]"),
    _k("appMemoryMb", "integer", "Memory limit of the app container in MB.", "1024"),
    _k(
        "healthPath",
        "string",
        "Path of the health endpoint the healthcheck and monitors call.",
        "/api/health",
    ),
    _k(
        "appHealthcheckCommand",
        "array",
        "App healthcheck command in exec form. Default: a one-liner in the template's "
        "runtime (python -c / node -e) that GETs http://127.0.0.1:<appPort><healthPath> "
        "(slim images have no curl/wget).",
        "[]",
    ),
    _k("healthInterval", "string", "App healthcheck interval.", "30s"),
    _k("healthTimeout", "string", "App healthcheck timeout.", "10s"),
    _k("healthRetries", "integer", "App healthcheck retries before unhealthy.", "3"),
    _k("healthStartPeriod", "string", "App healthcheck start period.", "40s"),
    # --- ingress (Caddy) and zero-downtime app replacement
    _k(
        "appReplicas",
        "integer",
        "App containers behind the ingress, load balanced. A deploy starts the new ones one "
        "at a time beside the old, switches traffic once all are healthy, then stops the old. "
        "aws-ecs: the ECS service's desired count.",
        "1",
    ),
    _k(
        "appImage",
        "string",
        "Run this image, already on the Docker host, instead of building appContext: to roll "
        "back, a previous imageDigest output (sha256:...) or its kept build tag "
        "(<prefix>-app:build-<id>). Default: build appContext.",
    ),
    _k("ingressImage", "string", "Image of the ingress (Caddy 2).", "caddy:2-alpine"),
    _k(
        "ingressBindAddress",
        "string",
        "Host address the ingress's ports bind to (the only ports published beyond loopback).",
        dev="127.0.0.1",
        prod="0.0.0.0",  # noqa: S104 - the ingress is what the internet reaches
    ),
    _k(
        "ingressHttpPort",
        "integer",
        "Host port of the ingress's HTTP listener: the app itself over http://, the redirect "
        "to HTTPS and ACME HTTP-01 challenges over https://.",
        dev="3000",
        prod="80",
    ),
    _k(
        "ingressHttpsPort",
        "integer",
        "Host port of the ingress's HTTPS listener (TCP, and UDP for HTTP/3); used only when "
        "appPublicUrl is https://.",
        "443",
    ),
    _k(
        "ingressAcmeEmail",
        "string",
        "Contact email of the ACME account (the CA's expiry and incident notices).",
    ),
    _k(
        "ingressAcmeCa",
        "string",
        "ACME directory URL. Default: Caddy's (Let's Encrypt, then ZeroSSL).",
    ),
    _k(
        "ingressAcmeCaRoot",
        "string",
        "PEM of the root certificate(s) that sign the ACME directory's own HTTPS; only for a "
        "private or test CA (e.g. pebble).",
    ),
    _k(
        "ingressMaxBodyMb",
        "integer",
        "Largest request body the ingress passes to the app, in MB (413 beyond).",
        "20",
    ),
    _k("ingressMemoryMb", "integer", "Memory limit of the ingress container in MB.", "256"),
    # --- database and cache
    _k("databaseName", "string", "PostgreSQL database name.", "escalafin"),
    _k("databaseUser", "string", "PostgreSQL user.", "escalafin"),
    _k(
        "databasePassword",
        "string",
        "PostgreSQL password (secret). Generated when unset.",
        secret=True,
    ),
    _k("databaseMemoryMb", "integer", "Memory limit of the PostgreSQL container in MB.", "1024"),
    _k(
        "databaseAdminPortEnabled",
        "boolean",
        "Publish PostgreSQL on 127.0.0.1 for admin tools and the "
        "direct lifecycle mode. Default: on in dev, off in prod.",
        dev="true",
        prod="false",
    ),
    _k(
        "databaseAdminPort",
        "integer",
        "Host port of the PostgreSQL admin endpoint (127.0.0.1 only).",
        "5432",
    ),
    _k("redisPassword", "string", "Redis password (secret). Generated when unset.", secret=True),
    _k("redisMemoryMb", "integer", "Memory limit of the Redis container in MB.", "256"),
    # --- app secrets
    _k("nextauthSecret", "string", "NEXTAUTH_SECRET (secret). Generated when unset.", secret=True),
    _k(
        "seedAdminPassword",
        "string",
        "Password of the seeded admin user (secret). Generated when unset.",
        secret=True,
    ),
    _k(
        "seedAdvisorPassword",
        "string",
        "Password of the seeded advisor user (secret). Generated when unset.",
        secret=True,
    ),
    _k(
        "seedClientPassword",
        "string",
        "Password of the seeded client user (secret). Generated when unset.",
        secret=True,
    ),
    # --- lifecycle
    _k(
        "lifecycleMode",
        "string",
        "How migrations and the seed reach PostgreSQL: direct (psycopg to the "
        "admin port) or in-network (a one-off ops container). "
        "Default: direct in dev, in-network in prod.",
        dev="direct",
        prod="in-network",
    ),
    _k(
        "migrationsDir",
        "string",
        "Prisma migrations folder, relative to appContext.",
        "prisma/migrations",
    ),
    _k(
        "seedFile",
        "string",
        "Seed data file (users, password keys; no passwords), relative to appContext.",
        "prisma/seed.json",
    ),
    # --- backups
    _k("backupSchedule", "string", "Cron expression of scheduled backups.", "0 2 * * *"),
    _k("backupTimezone", "string", "IANA time zone the schedule is read in.", "UTC"),
    _k("backupRetentionDays", "integer", "Backups older than this many days are pruned.", "7"),
    _k("backupKeepMin", "integer", "Never prune below this many newest backups.", "3"),
    _k("backupMemoryMb", "integer", "Memory limit of the backup agent container in MB.", "512"),
    _k(
        "backupDrillSchedule",
        "string",
        "Cron expression of restore drills (the latest backup restored into a scratch "
        "database and checked; a failure turns the agent unhealthy); off disables them.",
        "30 3 * * 0",
    ),
    _k(
        "backupBucketName",
        "string",
        "S3 bucket for off-site backups. Default: <namePrefix>-backups.",
    ),
    _k("backupS3Region", "string", "Region of the backup bucket.", "us-east-1"),
    _k(
        "backupStore",
        "string",
        "Where the backup bucket lives: aws, or embedded (an S3-compatible "
        "container in the stack). Default: embedded in dev, aws in prod.",
        dev="embedded",
        prod="aws",
    ),
    _k(
        "backupStoreImage",
        "string",
        "Image of the embedded S3-compatible store (Versity S3 Gateway), pinned by version.",
        "versity/versitygw:v1.7.0",
    ),
    _k(
        "backupS3AccessKeyId",
        "string",
        "Access key id the backup agent uploads with (secret). Default: aws: the stack "
        "creates an IAM user limited to the bucket; embedded: generated root keys of the store.",
        secret=True,
    ),
    _k(
        "backupS3SecretAccessKey",
        "string",
        "Secret access key the backup agent uploads with (secret). "
        "Set together with backupS3AccessKeyId.",
        secret=True,
    ),
    # --- continuous archiving and point-in-time recovery (issue 13)
    _k(
        "pitrEnabled",
        "boolean",
        "Continuous WAL archiving and base backups with pgBackRest to the backup bucket: "
        "restore to any second.",
        "true",
    ),
    _k(
        "pitrArchiveTimeoutSeconds",
        "integer",
        "PostgreSQL archive_timeout: a WAL segment reaches the bucket at least this often "
        "while there are writes (the main term of the RPO).",
        "15",
    ),
    _k(
        "pitrRpoSeconds",
        "integer",
        "Archiving lag beyond this turns the backup agent unhealthy.",
        "60",
    ),
    _k(
        "pitrBackupSchedule",
        "string",
        "Cron expression of base backups (in backupTimezone).",
        "30 3 * * *",
    ),
    _k(
        "pitrFullEveryDays",
        "integer",
        "A full base backup at least this often; the others are differential.",
        "7",
    ),
    _k(
        "pitrRetentionDays",
        "integer",
        "Full base backups (with their WAL) older than this many days are expired.",
        "14",
    ),
    _k("pitrKeepMin", "integer", "Never expire below this many newest full base backups.", "2"),
    _k(
        "pitrArchiveQueueMaxMb",
        "integer",
        "WAL waiting for the bucket beyond this is dropped (PostgreSQL keeps running, the "
        "agent turns unhealthy, the next full backup restores PITR) instead of filling the disk.",
        "2048",
    ),
    _k(
        "pitrStoreTlsImage",
        "string",
        "Caddy image of the TLS front before the embedded store (pgBackRest needs HTTPS).",
        "caddy:2-alpine",
    ),
    # --- optional integrations (each group all-or-nothing)
    _k("storageS3Bucket", "string", "App file storage: S3 bucket (AWS_BUCKET_NAME)."),
    _k("storageS3Region", "string", "App file storage: region (AWS_REGION)."),
    _k("storageS3AccessKeyId", "string", "App file storage: access key id (secret).", secret=True),
    _k(
        "storageS3SecretAccessKey",
        "string",
        "App file storage: secret access key (secret).",
        secret=True,
    ),
    _k("openpayMerchantId", "string", "Payments (Openpay): merchant id."),
    _k("openpayPublicKey", "string", "Payments (Openpay): public key."),
    _k("openpayPrivateKey", "string", "Payments (Openpay): private key (secret).", secret=True),
    _k("openpayBaseUrl", "string", "Payments (Openpay): API base URL."),
    _k("smtpHost", "string", "Email: SMTP host."),
    _k("smtpPort", "integer", "Email: SMTP port."),
    _k("smtpUser", "string", "Email: SMTP user."),
    _k("smtpPassword", "string", "Email: SMTP password (secret).", secret=True),
    _k("smtpFrom", "string", "Email: sender address."),
    _k("whatsappApiUrl", "string", "WhatsApp (Evolution API): base URL."),
    _k("whatsappApiKey", "string", "WhatsApp (Evolution API): API key (secret).", secret=True),
    _k("whatsappInstance", "string", "WhatsApp (Evolution API): instance name."),
    _k("sentryDsn", "string", "Error monitoring: Sentry DSN (secret).", secret=True),
    # --- target: where the stack runs (docker-host, or aws-ecs: keys starting with aws)
    _k(
        "target",
        "string",
        "Where the stack runs: docker-host (one Docker host) or aws-ecs (ECS Fargate, RDS "
        "PostgreSQL, ElastiCache, ALB; needs aws:region).",
        "docker-host",
    ),
    _k(
        "awsVpcCidr",
        "string",
        "aws-ecs: private IPv4 /16 of the VPC (two public and two private /20 subnets).",
        "10.40.0.0/16",
    ),
    _k(
        "awsNatGateways",
        "integer",
        "aws-ecs: NAT gateways for the private subnets' egress: 1 (cheapest) or 2 (one per "
        "zone, survives a zone outage).",
        "1",
    ),
    _k(
        "awsHostedZoneId",
        "string",
        "aws-ecs: Route 53 zone of appPublicUrl's host: the stack validates the ACM "
        "certificate and points the name at the load balancer. Or set awsCertificateArn.",
    ),
    _k(
        "awsCertificateArn",
        "string",
        "aws-ecs: an issued ACM certificate for appPublicUrl's host (DNS is then yours: "
        "CNAME the host to the loadBalancerDnsName output).",
    ),
    _k(
        "awsAppCpu",
        "integer",
        "aws-ecs: Fargate CPU units of an app task (256, 512, 1024, 2048, 4096); "
        "appMemoryMb must be a size Fargate pairs with it.",
        "512",
    ),
    _k("awsDbInstanceClass", "string", "aws-ecs: RDS instance class.", "db.t4g.micro"),
    _k("awsDbAllocatedStorageGb", "integer", "aws-ecs: RDS storage (gp3) in GB.", "20"),
    _k(
        "awsDbMaxAllocatedStorageGb",
        "integer",
        "aws-ecs: RDS storage autoscaling ceiling in GB (0 = off).",
        "100",
    ),
    _k(
        "awsDbMultiAz",
        "boolean",
        "aws-ecs: RDS standby in a second zone. Default: off in dev, on in prod.",
        dev="false",
        prod="true",
    ),
    _k(
        "awsDbParameters",
        "array",
        'aws-ecs: PostgreSQL parameters as ["name=value", ...] (RDS parameter group; '
        "rds.force_ssl=1 is always set).",
        "[]",
    ),
    _k("awsCacheNodeType", "string", "aws-ecs: ElastiCache (Valkey) node type.", "cache.t4g.micro"),
    _k(
        "awsCacheNodes",
        "integer",
        "aws-ecs: Valkey nodes: 1, or 2+ for a replica with automatic failover. "
        "Default: 1 in dev, 2 in prod.",
        dev="1",
        prod="2",
    ),
    _k(
        "awsLogRetentionDays",
        "integer",
        "aws-ecs: CloudWatch Logs retention of every task's logs, in days.",
        "30",
    ),
    # --- end target
)


TARGET_ONLY_KEYS: dict[str, tuple[str, str]] = {
    **{
        key: ("docker-host", instead)
        for keys, instead in (
            (("restartPolicy",), "ECS replaces failed tasks itself"),
            (("postgresImage", "databaseMemoryMb"), "RDS runs postgresMajor; awsDbInstanceClass"),
            (("redisImage", "redisMemoryMb"), "ElastiCache runs Valkey; awsCacheNodeType"),
            (("appImage",), "app images are pushed to ECR by content digest; redeploy a commit"),
            (("appImageName", "appCacheFrom"), "the ECR repository is <namePrefix>-app"),
            (
                (
                    "ingressImage",
                    "ingressBindAddress",
                    "ingressHttpPort",
                    "ingressHttpsPort",
                    "ingressAcmeEmail",
                    "ingressAcmeCa",
                    "ingressAcmeCaRoot",
                    "ingressMaxBodyMb",
                    "ingressMemoryMb",
                ),
                "the load balancer is the ingress: appPublicUrl, awsHostedZoneId or "
                "awsCertificateArn",
            ),
            (
                ("databaseAdminPortEnabled", "databaseAdminPort"),
                "RDS is private: run an ops task in the VPC",
            ),
            (("lifecycleMode",), "migrations and the seed run as ECS tasks"),
            (
                (
                    "backupStoreImage",
                    "backupS3AccessKeyId",
                    "backupS3SecretAccessKey",
                    "backupDrillSchedule",
                ),
                "the scheduled backup task writes the stack's bucket with its IAM role and "
                "verifies each dump",
            ),
            (
                tuple(key.name for key in KEYS if key.name.startswith("pitr")),
                "RDS archives WAL itself: backupRetentionDays is its point-in-time window",
            ),
        )
        for key in keys
    },
    **{key.name: ("aws-ecs", "") for key in KEYS if key.name.startswith("aws")},
}
"""Keys one target reads and the other has no use for: key -> (its target, what the other
target uses instead). Set on a stack of the other target, a key is an error naming it and
the target, not a silent no-op. appReplicas means the ECS service's desired count on aws-ecs."""

BY_NAME: dict[str, Key] = {key.name: key for key in KEYS}
