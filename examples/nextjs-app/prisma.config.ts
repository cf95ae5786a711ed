// Prisma 7 reads its settings here. The datasource URL is only needed by Prisma's own
// migrate/studio commands during development; the deployment applies prisma/migrations with
// its own runner and the app connects through the pg driver adapter (lib/db.ts).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
