// The /api/health contract of the EscalaFin deployment: status, timestamp, database, redis,
// users, version, environment; 200 only when PostgreSQL, Redis and the users table answer.
// The body is built from probe outcomes only, so no error text, DSN or host can leak into it.
import { db } from "./db";
import { redis } from "./redis";

export const CHECK_TIMEOUT_MS = 3000; // per dependency; both run concurrently

export type Probe = {
  database: boolean; // PostgreSQL answered SELECT 1 in time
  redis: boolean; // Redis answered PING in time
  users: number | null; // rows in "users"; null when unknown (down, slow, no schema yet)
};

export type HealthBody = {
  status: "healthy" | "unhealthy";
  timestamp: string;
  database: "connected" | "disconnected";
  redis: "connected" | "disconnected";
  users: number | null;
  version: string;
  environment: string;
};

export function report(
  probe: Probe,
  meta: { version: string; environment: string; now: Date },
): { status: 200 | 503; body: HealthBody } {
  const healthy = probe.database && probe.redis && probe.users !== null;
  return {
    status: healthy ? 200 : 503,
    body: {
      status: healthy ? "healthy" : "unhealthy",
      timestamp: meta.now.toISOString(),
      database: probe.database ? "connected" : "disconnected",
      redis: probe.redis ? "connected" : "disconnected",
      users: probe.users,
      version: meta.version,
      environment: meta.environment,
    },
  };
}

/** The check's result, or null when it failed or missed the deadline (logged by class only). */
export async function bounded<T>(check: () => Promise<T>, what: string): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      console.warn(`${what} check timed out after ${CHECK_TIMEOUT_MS} ms`);
      resolve(null);
    }, CHECK_TIMEOUT_MS);
  });
  const attempt = check().catch((error: unknown) => {
    console.warn(`${what} check failed (${error instanceof Error ? error.name : typeof error})`);
    return null;
  });
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function database(): Promise<{ users: number | null }> {
  const prisma = db();
  await prisma.$queryRaw`SELECT 1`;
  try {
    return { users: await prisma.user.count() };
  } catch (error) {
    // Connected, but no users table yet (migrations not applied): unhealthy, not down.
    console.warn(`users count failed (${error instanceof Error ? error.name : typeof error})`);
    return { users: null };
  }
}

export async function probe(): Promise<Probe> {
  const [dbResult, pong] = await Promise.all([
    bounded(database, "database"),
    bounded(() => redis().ping(), "redis"),
  ]);
  return { database: dbResult !== null, redis: pong === "PONG", users: dbResult?.users ?? null };
}
