// GET /api/health: what the container healthcheck, the deployment and uptime monitors call.
import { readConfig } from "../../../lib/config";
import { probe, report } from "../../../lib/health";

export const dynamic = "force-dynamic"; // never prerendered or cached: every call probes

export async function GET(): Promise<Response> {
  const { version, environment } = readConfig();
  const { status, body } = report(await probe(), { version, environment, now: new Date() });
  return Response.json(body, { status, headers: { "Cache-Control": "no-store" } });
}
