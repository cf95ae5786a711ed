// Settings read from the environment the deployment gives the container.
// Why a module of its own: the server must refuse to start with one line naming a missing or
// malformed variable (instrumentation.ts), and URL values are never echoed: they hold passwords.

export class ConfigError extends Error {}

export type Config = {
  databaseUrl: string;
  redisUrl: string;
  version: string;
  environment: string;
};

type Env = Record<string, string | undefined>;

function url(env: Env, name: string, schemes: string[]): string {
  const value = (env[name] ?? "").trim();
  const allowed = schemes.join(" or ");
  if (!value) throw new ConfigError(`${name} is required (a ${allowed} URL)`);
  if (!schemes.some((scheme) => value.startsWith(scheme))) {
    throw new ConfigError(`${name} must be a ${allowed} URL (value not shown: it may hold a secret)`);
  }
  return value;
}

export function readConfig(env: Env = process.env): Config {
  return {
    databaseUrl: url(env, "DATABASE_URL", ["postgresql://", "postgres://"]),
    redisUrl: url(env, "REDIS_URL", ["redis://", "rediss://"]),
    version: (env.APP_VERSION ?? "").trim() || "0.0.0",
    environment: (env.APP_ENV ?? "").trim() || (env.NODE_ENV ?? "").trim() || "production",
  };
}
