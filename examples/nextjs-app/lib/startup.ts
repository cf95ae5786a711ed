// Node.js-only part of instrumentation.ts: refuse to start, with one line naming the variable,
// when the deployment left out DATABASE_URL or REDIS_URL (instead of failing on the first
// request). Kept apart so the Edge build of instrumentation never sees process.exit.
import { ConfigError, readConfig } from "./config";

try {
  readConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
