"""Migrations, then the conditional seed, driven by dynamic providers.

Both run after PostgreSQL is healthy and before the app container exists, so
`pulumi up` fails loudly on a failed migration instead of starting the app on
a half-migrated database (the compose deployment only logged a warning).
Dev reaches PostgreSQL directly through its loopback admin port; prod runs
the same code in a one-off ops container on the internal network.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.database import Database
from components.settings import LifecycleSettings, project_relative
from lifecycle.providers import (
    ConditionalSeed,
    ConditionalSeedArgs,
    DatabaseMigrations,
    DatabaseMigrationsArgs,
    RunnerArgs,
)


@dataclass(frozen=True)
class DatabaseLifecycleArgs:
    settings: LifecycleSettings
    database: Database
    internal_network: str
    ops_image: str
    ops_image_resource: pulumi.Resource
    docker_host: str | None
    seed_passwords: dict[str, pulumi.Output[str]]


class DatabaseLifecycle(pulumi.ComponentResource):
    migrations: DatabaseMigrations
    seed: ConditionalSeed

    def __init__(
        self, name: str, args: DatabaseLifecycleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:DatabaseLifecycle", name, None, opts)
        s = args.settings
        db = args.database
        if s.mode == "direct":
            if db.admin_url is None:
                raise ValueError("direct lifecycle mode needs the database admin port")
            url = db.admin_url
        else:
            url = db.internal_url
        runner = RunnerArgs(
            mode="direct" if s.mode == "direct" else "in-network",
            docker_host=args.docker_host,
            network=args.internal_network,
            ops_image=args.ops_image,
        )
        self.migrations = DatabaseMigrations(
            "migrations",
            DatabaseMigrationsArgs(
                database_url=url,
                migrations_dir=project_relative(s.migrations_dir),
                runner=runner,
                database_identity=db.identity,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[db.ready, args.ops_image_resource]),
        )
        self.seed = ConditionalSeed(
            "seed",
            ConditionalSeedArgs(
                database_url=url,
                passwords=args.seed_passwords,
                seed_file=project_relative(s.seed_file),
                runner=runner,
                database_identity=db.identity,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.migrations]),
        )
        self.register_outputs(
            {
                "appliedCount": self.migrations.applied_count,
                "seedOutcome": self.seed.outcome,
            }
        )
