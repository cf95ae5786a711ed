"""Settings read once from the environment at startup.

Why: the container must refuse to start with one clear line naming the missing or
bad variable, instead of failing on the first request. Values of URL variables are
never echoed (they carry passwords); other variables (NEXTAUTH_*, integrations) are
not read at all, so they can never be logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PORT = 3000
DEFAULT_VERSION = "0.0.0"
DEFAULT_ENVIRONMENT = "production"


class ConfigError(ValueError):
    """A required variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = field(repr=False)
    redis_url: str = field(repr=False)
    port: int
    version: str
    environment: str


def load(env: Mapping[str, str]) -> Settings:
    """Validate the process environment into Settings or raise ConfigError."""
    return Settings(
        database_url=_url(env, "DATABASE_URL", ("postgresql://", "postgres://")),
        redis_url=_url(env, "REDIS_URL", ("redis://", "rediss://")),
        port=_port(env.get("PORT", "").strip()),
        version=env.get("APP_VERSION", "").strip() or DEFAULT_VERSION,
        environment=(
            env.get("APP_ENV", "").strip() or env.get("NODE_ENV", "").strip() or DEFAULT_ENVIRONMENT
        ),
    )


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    value = env.get(name, "").strip()
    allowed = " or ".join(schemes)
    if not value:
        raise ConfigError(f"{name} is required (a {allowed} URL)")
    if not value.startswith(schemes):
        raise ConfigError(f"{name} must be a {allowed} URL (value not shown: it may hold a secret)")
    return value


def _port(raw: str) -> int:
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"PORT must be an integer between 1 and 65535, got {raw!r}")
    return int(raw)
