import type { NextConfig } from "next";

const config: NextConfig = {
  // .next/standalone: server.js plus only the node_modules files the server traces to.
  output: "standalone",
  poweredByHeader: false,
  // Loaded from node_modules, not bundled: its error classes keep their names in the logs.
  serverExternalPackages: ["ioredis"],
  // No image optimisation at run time, so the standalone output leaves out sharp and its
  // libvips (~20 MB) that Next.js would otherwise trace into it.
  images: { unoptimized: true },
  outputFileTracingExcludes: { "*": ["node_modules/sharp/**", "node_modules/@img/**"] },
};

export default config;
