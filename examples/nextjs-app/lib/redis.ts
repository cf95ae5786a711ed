// One Redis connection per server process. A command waits for the connection only until the
// first failed attempt (maxRetriesPerRequest 0) and for an answer at most 2 s (commandTimeout),
// so a ping against a Redis that is down or hung fails within the health check's bound.
import Redis from "ioredis";

import { readConfig } from "./config";

const globalForRedis = globalThis as unknown as { redis?: Redis };

export function redis(): Redis {
  if (!globalForRedis.redis) {
    const client = new Redis(readConfig().redisUrl, {
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      commandTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    let lastError = "";
    client.on("error", (error: Error & { code?: string }) => {
      const what = error.code ?? error.name; // never the message: it can carry the host
      if (what !== lastError) console.warn(`redis connection error (${what})`);
      lastError = what;
    });
    client.on("ready", () => {
      lastError = "";
    });
    globalForRedis.redis = client;
  }
  return globalForRedis.redis;
}
