// /api/clients: GET lists the newest clients, POST creates one (201 with it once the INSERT
// committed). The reference app's contract (app/escalafin_app/asgi.py): HTTP Basic, an ACTIVE
// ADMIN or ADVISOR user (401 with a challenge, 403 for other roles), JSON in and out, 413 for
// a body over 64 KiB, 422 naming the invalid field. Other methods: Next.js answers 405.
import { authenticate, CHALLENGE, mayReadClients, type Principal } from "../../../lib/auth";
import { createClient, InvalidClient, parseNewClient, recentClients } from "../../../lib/clients";
import { Prisma } from "../../../lib/generated/prisma/client";

export const dynamic = "force-dynamic"; // per-user answers: never prerendered or cached

const MAX_BODY = 64 * 1024;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

/** The caller, or the 401/403 answer to send instead. */
async function caller(request: Request): Promise<Principal | Response> {
  const principal = await authenticate(request.headers.get("authorization"));
  if (!principal) {
    return json(401, { error: "authentication required" }, { "WWW-Authenticate": CHALLENGE });
  }
  return mayReadClients(principal) ? principal : json(403, { error: "forbidden" });
}

export async function GET(request: Request): Promise<Response> {
  const principal = await caller(request);
  if (principal instanceof Response) return principal;
  return json(200, { clients: await recentClients() });
}

export async function POST(request: Request): Promise<Response> {
  const principal = await caller(request);
  if (principal instanceof Response) return principal;
  const body = await request.text();
  if (Buffer.byteLength(body) > MAX_BODY) {
    return json(413, { error: `body larger than ${MAX_BODY} bytes` });
  }
  let client;
  try {
    client = parseNewClient(body);
  } catch (error) {
    if (error instanceof InvalidClient) return json(422, { error: error.message });
    throw error;
  }
  const advisorId = principal.role === "ADVISOR" ? principal.userId : null;
  try {
    return json(201, { client: await createClient(client, advisorId) });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
      return json(409, { error: "a client with this email already exists" });
    }
    throw error;
  }
}
