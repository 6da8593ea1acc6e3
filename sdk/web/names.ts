/**
 * The names file: how people and organizations are called, as registered OFF chain by the
 * consortium (the chain holds only addresses and organization numbers). The page shows these names
 * where it has them and the address or number where it has not.
 *
 * ```json
 * {
 *   "organizations": { "1": "Hospital Y", "2": "Lab Z" },
 *   "people": { "0x5b38da6a701c568545dcfcb03fcb875f56beddc4": "Dr X" }
 * }
 * ```
 *
 * @example
 * ```ts
 * import { readNames } from "medledger/web";
 * const names = await readNames("names.json");
 * names.people["0x5b38…"]; // "Dr X"
 * ```
 */
import { readFile } from "node:fs/promises";

import { InvalidInputError } from "../errors.js";

export interface Names {
  /** Organization id (decimal) → name. */
  organizations: Record<string, string>;
  /** Lowercase address → name. */
  people: Record<string, string>;
}

const MAX_NAME = 120;

function fail(field: string, expected: string, got: unknown): never {
  throw new InvalidInputError(`Invalid names file: ${field}`, {
    details: `expected ${expected}, got ${JSON.stringify(got)}`,
  });
}

function table(value: unknown, field: string, key: RegExp, what: string, normalise: (k: string) => string) {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (value === undefined) return out;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, "an object", value);
  for (const [k, v] of Object.entries(value)) {
    if (!key.test(k)) fail(`${field} key`, what, k);
    if (typeof v !== "string" || v.trim().length === 0 || v.length > MAX_NAME) {
      fail(`${field}[${k}]`, `a name of 1..${MAX_NAME} characters`, v);
    }
    out[normalise(k)] = v.trim();
  }
  return out;
}

/** Validates a parsed names document. */
export function validateNames(value: unknown): Names {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("(root)", "an object", value);
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== "organizations" && k !== "people") fail(k, "organizations or people", k);
  return {
    organizations: table(o.organizations, "organizations", /^\d{1,10}$/, "an organization number", (k) =>
      String(Number(k)),
    ),
    people: table(o.people, "people", /^0x[0-9a-fA-F]{40}$/, "an address", (k) => k.toLowerCase()),
  };
}

/** Reads a names file (no file: no names). */
export async function readNames(file: string | undefined): Promise<Names> {
  if (file === undefined) return { organizations: {}, people: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new InvalidInputError(`Cannot read the names file ${file}`, { cause: err });
  }
  return validateNames(parsed);
}
