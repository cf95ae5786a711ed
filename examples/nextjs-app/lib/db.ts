// One Prisma client per server process, over the pg driver adapter (Prisma 7's Rust-free
// client: no query engine binary). Bounded so a hung PostgreSQL cannot stall a request:
// connecting gives up after 2 s, a query after 2.5 s (client side) or 2 s (server side).
import { PrismaPg } from "@prisma/adapter-pg";

import { readConfig } from "./config";
import { PrismaClient } from "./generated/prisma/client";

// Query parameters only Prisma's Rust engine understood; node-postgres must not see them.
const PRISMA_ONLY = ["schema", "connection_limit", "pool_timeout", "pgbouncer", "socket_timeout"];

function pgTarget(databaseUrl: string): { connectionString: string; schema?: string } {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get("schema") ?? undefined;
  for (const key of PRISMA_ONLY) url.searchParams.delete(key);
  return { connectionString: url.toString(), schema: schema === "public" ? undefined : schema };
}

const globalForPrisma = globalThis as unknown as { prisma?: PrismaClient };

export function db(): PrismaClient {
  if (!globalForPrisma.prisma) {
    const { connectionString, schema } = pgTarget(readConfig().databaseUrl);
    const adapter = new PrismaPg(
      {
        connectionString,
        max: 4,
        connectionTimeoutMillis: 2000,
        query_timeout: 2500,
        statement_timeout: 2000,
        application_name: "escalafin-nextjs",
      },
      {
        schema,
        // Log the error class only: pg messages can name hosts.
        onPoolError: (error) => console.warn(`database pool error (${error.name})`),
      },
    );
    globalForPrisma.prisma = new PrismaClient({ adapter });
  }
  return globalForPrisma.prisma;
}
