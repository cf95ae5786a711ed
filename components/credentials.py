"""Passwords and secrets: from config when given, generated otherwise.

A generated value is a `random.RandomPassword`, whose `result` is a secret in
state, so nothing here ever exists in plaintext outside the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from components.settings import Settings


@dataclass(frozen=True)
class CredentialsArgs:
    settings: Settings


class Credentials(pulumi.ComponentResource):
    database_password: pulumi.Output[str]
    redis_password: pulumi.Output[str]
    nextauth_secret: pulumi.Output[str]
    store_access_key: pulumi.Output[str] | None
    store_secret_key: pulumi.Output[str] | None
    """Root keys of the embedded S3-compatible store (dev); None with AWS."""
    seed_passwords: dict[str, pulumi.Output[str]]
    """Seed password key (as named in app/prisma/seed.json) -> password."""
    generated: dict[str, pulumi.Output[str]]
    """Only the generated ones, keyed by config key: exported as secret outputs."""

    def __init__(
        self, name: str, args: CredentialsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:Credentials", name, None, opts)
        s = args.settings
        self.generated = {}

        def given_or_random(
            key: str, value: pulumi.Output[str] | None, length: int, special: bool = False
        ) -> pulumi.Output[str]:
            if value is not None:
                return pulumi.Output.secret(value)
            password = random.RandomPassword(
                key,
                length=length,
                special=special,
                override_special="-_.~" if special else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # The engine marks `result` secret, but only the engine: say it here too, so the
            # value is secret in every input it flows into, under any runtime.
            result = pulumi.Output.secret(password.result)
            self.generated[key] = result
            return result

        # URL-safe alphabets: these end up inside DATABASE_URL / REDIS_URL.
        self.database_password = given_or_random("databasePassword", s.database.password, 32)
        self.redis_password = given_or_random("redisPassword", s.cache.password, 32)
        self.nextauth_secret = given_or_random("nextauthSecret", s.nextauth_secret, 48)
        self.seed_passwords = {
            "admin": given_or_random("seedAdminPassword", s.seed_passwords.admin, 20, True),
            "advisor": given_or_random("seedAdvisorPassword", s.seed_passwords.advisor, 20, True),
            "client": given_or_random("seedClientPassword", s.seed_passwords.client, 20, True),
        }
        # The embedded store's root keys: rotate by setting both config secrets, then `up`.
        b = s.backup
        embedded = b.store == "embedded"
        self.store_access_key = (
            given_or_random("backupS3AccessKeyId", b.access_key_id, 20) if embedded else None
        )
        self.store_secret_key = (
            given_or_random("backupS3SecretAccessKey", b.secret_access_key, 40)
            if embedded
            else None
        )
        self.register_outputs({"generated": list(self.generated)})
