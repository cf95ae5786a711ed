// The data behind /api/clients, through Prisma: the newest clients, and a new one from a JSON
// body validated like the reference app's parse_new_client (app/escalafin_app/clients.py):
// firstName, lastName and phone required, email optional; each a non-empty string of at most
// 200 characters. Invalid input is an InvalidClient whose message names the field.
import { db } from "./db";

export const RECENT_LIMIT = 50;
const MAX_FIELD = 200;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const COLUMNS = {
  id: true,
  firstName: true,
  lastName: true,
  email: true,
  phone: true,
  status: true,
  createdAt: true,
} as const;

export class InvalidClient extends Error {}

export type NewClient = {
  firstName: string;
  lastName: string;
  phone: string;
  email: string | null;
};

type Fields = Record<string, unknown>;

function text(data: Fields, key: string): string;
function text(data: Fields, key: string, optional: true): string | null;
function text(data: Fields, key: string, optional = false): string | null {
  const value = data[key];
  if (value == null && optional) return null;
  if (typeof value !== "string" || !value.trim()) {
    throw new InvalidClient(`${key} is required (a non-empty string)`);
  }
  if (value.length > MAX_FIELD) {
    throw new InvalidClient(`${key} is longer than ${MAX_FIELD} characters`);
  }
  return value.trim();
}

/** {"firstName", "lastName", "phone", "email"?} -> NewClient, or InvalidClient. */
export function parseNewClient(body: string): NewClient {
  let data: unknown;
  try {
    data = JSON.parse(body || "null");
  } catch {
    throw new InvalidClient("body must be a JSON object");
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new InvalidClient("body must be a JSON object");
  }
  const fields = data as Fields;
  const email = text(fields, "email", true);
  if (email !== null && !EMAIL.test(email)) {
    throw new InvalidClient("email must look like name@example.com");
  }
  return {
    firstName: text(fields, "firstName"),
    lastName: text(fields, "lastName"),
    phone: text(fields, "phone"),
    email,
  };
}

export function recentClients() {
  return db().client.findMany({
    select: COLUMNS,
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    take: RECENT_LIMIT,
  });
}

/** INSERT (acknowledged once committed); an ADVISOR becomes the client's advisor. */
export function createClient(client: NewClient, advisorId: string | null) {
  return db().client.create({ data: { ...client, advisorId }, select: COLUMNS });
}
