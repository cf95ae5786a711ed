// HTTP Basic authentication against the seeded users table: the reference app's contract
// (app/escalafin_app/auth.py). The client routes carry personal data, so they need an ACTIVE
// ADMIN or ADVISOR user. Passwords are the deployment seed's bcrypt `$2b$` hashes, checked with
// bcryptjs (pure JavaScript, no native build; its async compare yields to the event loop).
// A successful check is remembered for a minute per (email, password digest), and concurrent
// requests with the same credentials share one check, so load does not mean one bcrypt per
// request, nor a queue of them when a fresh replica takes its first burst. Nothing here logs.
import { createHash } from "node:crypto";

import bcrypt from "bcryptjs";

import { db } from "./db";

export const CHALLENGE = 'Basic realm="EscalaFin", charset="UTF-8"';
const ALLOWED_ROLES: ReadonlySet<string> = new Set(["ADMIN", "ADVISOR"]);
const REMEMBER_MS = 60_000;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type Principal = { userId: string; role: string };

/** `Basic base64(email:password)` -> [email, password]; null for anything else. */
export function parseBasic(header: string | null): [string, string] | null {
  const [scheme, token, ...rest] = (header ?? "").trim().split(/\s+/);
  if (scheme?.toLowerCase() !== "basic" || !token || rest.length > 0 || !BASE64.test(token)) {
    return null;
  }
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(token, "base64"));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 1 || colon === decoded.length - 1) return null;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

const remembered = new Map<string, { until: number; principal: Principal }>();
const checking = new Map<string, Promise<Principal | null>>();

/** The user behind the header (any role), or null: unknown, inactive, wrong password. */
export async function authenticate(header: string | null): Promise<Principal | null> {
  const credentials = parseBasic(header);
  if (!credentials) return null;
  const key = createHash("sha256").update(credentials.join("\0")).digest("hex");
  const known = remembered.get(key);
  if (known && known.until > Date.now()) return known.principal;
  remembered.delete(key);
  let pending = checking.get(key);
  if (!pending) {
    pending = check(key, ...credentials).finally(() => checking.delete(key));
    checking.set(key, pending);
  }
  return pending;
}

async function check(key: string, email: string, password: string): Promise<Principal | null> {
  const user = await db().user.findUnique({
    where: { email },
    select: { id: true, password: true, role: true, status: true },
  });
  if (!user || user.status !== "ACTIVE" || !(await bcrypt.compare(password, user.password))) {
    return null;
  }
  const principal = { userId: user.id, role: user.role };
  remembered.set(key, { until: Date.now() + REMEMBER_MS, principal });
  return principal;
}

export function mayReadClients(principal: Principal): boolean {
  return ALLOWED_ROLES.has(principal.role);
}
