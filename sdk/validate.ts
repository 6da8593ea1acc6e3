/**
 * Run-time checks at the SDK's public boundary. TypeScript's literal types protect TypeScript
 * callers only; a JavaScript caller (or JSON from a form) can pass anything. Every public function
 * checks its arguments with these helpers BEFORE anything is signed, stored or sent, and a bad
 * argument is an `InvalidInputError` naming the parameter and the bad value (and, for names from
 * a fixed list, the allowed ones) — never a `TypeError` from deep inside, never a silent default.
 *
 * Names are looked up as OWN properties only: `constructor`, `toString` and `__proto__` are not
 * categories.
 *
 * @example
 * ```ts
 * import { categoryMask } from "medledger"; // every public function validates like this
 * categoryMask(["SUBSTANCE_ABUSE"]); // InvalidInputError: Unknown category: categories[0] = "SUBSTANCE_ABUSE"
 * ```
 *
 * @internal
 */
import { getAddress, isAddress } from "ethers";

import { InvalidInputError } from "./errors.js";
import type { Hex } from "./types.js";

/** A short, safe description of any value for an error message (never throws). */
export function describe(value: unknown): string {
  try {
    if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
    if (typeof value === "bigint") return `${value}n`;
    if (value === null || typeof value !== "object") {
      return typeof value === "function" ? "a function" : String(value);
    }
    if (Array.isArray(value)) return `an array of ${value.length}`;
    if (value instanceof Uint8Array) return `${value.length} bytes`;
    if (value instanceof Date) return `Date ${Number.isNaN(value.getTime()) ? "(invalid)" : value.toISOString()}`;
    return "an object";
  } catch {
    return "an unprintable value";
  }
}

function fail(field: string, problem: string, value: unknown, allowed?: readonly string[]): never {
  throw new InvalidInputError(`${problem}: ${field} = ${describe(value)}`, { field, allowed });
}

/** Whether `name` is an own property of `table` (not inherited: `constructor`, `__proto__` fail). */
export function hasName(table: object, name: unknown): name is string {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(table, name);
}

/** `value` if it is one of `table`'s own keys; InvalidInputError listing the allowed names otherwise. */
export function nameIn<T extends object>(table: T, value: unknown, field: string): keyof T & string {
  if (!hasName(table, value)) {
    // "consent.categories[0]" → "category"
    const last = field
      .split(".")
      .at(-1)!
      .replace(/\[\d+\]$/, "");
    const kind = last.endsWith("ies") ? `${last.slice(0, -3)}y` : last.replace(/s$/, "");
    fail(field, `Unknown ${kind}`, value, Object.keys(table));
  }
  return value as keyof T & string;
}

/** A non-empty (unless allowed) array whose every element is one of `table`'s names. */
export function namesIn<T extends object>(
  table: T,
  value: unknown,
  field: string,
  opts: { allowEmpty?: boolean } = {},
): (keyof T & string)[] {
  if (!Array.isArray(value)) fail(field, "Expected an array of names", value, Object.keys(table));
  if (value.length === 0 && opts.allowEmpty !== true)
    fail(field, "Expected at least one name", value, Object.keys(table));
  return value.map((v, i) => nameIn(table, v, `${field}[${i}]`));
}

/**
 * An Ethereum address, checked locally and returned checksummed. Names (ENS) are refused here:
 * private chains have no ENS, and a typo must not become a network lookup.
 */
export function address(value: unknown, field: string): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
    fail(field, "Expected an address (0x + 40 hex digits; names are not resolved)", value);
  }
  if (!isAddress(value)) fail(field, "Address checksum mismatch (check the mixed-case letters)", value);
  return getAddress(value);
}

/** A list of addresses (each checked by {@link address}). */
export function addresses(value: unknown, field: string, opts: { allowEmpty?: boolean } = {}): string[] {
  if (!Array.isArray(value)) fail(field, "Expected an array of addresses", value);
  if (value.length === 0 && opts.allowEmpty !== true) fail(field, "Expected at least one address", value);
  return value.map((v, i) => address(v, `${field}[${i}]`));
}

/** A 32-byte value as 0x + 64 hex digits, lowercased. */
export function bytes32(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    fail(field, "Expected 32 bytes as 0x + 64 hex digits", value);
  }
  return value.toLowerCase() as Hex;
}

/** Exactly `length` bytes: a Uint8Array or 0x-prefixed hex. */
export function bytesOf(value: unknown, length: number, field: string): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== length) fail(field, `Expected ${length} bytes`, value);
    return value;
  }
  if (typeof value === "string" && new RegExp(`^0x[0-9a-fA-F]{${2 * length}}$`).test(value)) {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = parseInt(value.slice(2 + 2 * i, 4 + 2 * i), 16);
    return out;
  }
  return fail(field, `Expected ${length} bytes (a Uint8Array or 0x-prefixed hex)`, value);
}

/** An integer in [min, max] (a number or a bigint). */
export function integer(value: unknown, field: string, min: bigint, max: bigint): bigint {
  let n: bigint;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else return fail(field, "Expected an integer", value);
  if (n < min || n > max) fail(field, `Expected an integer from ${min} to ${max}`, value);
  return n;
}

/** An unsigned integer of `bits` bits, as a number (bits ≤ 48) — org ids, reason codes. */
export function uint(value: unknown, field: string, bits: 8 | 16 | 32 | 48): number {
  return Number(integer(value, field, 0n, (1n << BigInt(bits)) - 1n));
}

/**
 * Seconds since the epoch above this are refused: 10^11 s is the year 5138, while any time
 * after 1973 in MILLISECONDS is larger. So a `Date.now()` passed where seconds are expected is
 * caught instead of becoming a consent valid until the year 50,000.
 */
export const MAX_UNIX_SECONDS = 100_000_000_000;

/**
 * A point in time as unix seconds (uint64): a Date, or a number/bigint of SECONDS. Values that
 * can only be milliseconds are refused. `undefined` gives 0 when `optional` (the contracts'
 * "none" sentinel).
 */
export function unixSeconds(value: unknown, field: string, opts: { optional?: boolean } = {}): bigint {
  if (value === undefined && opts.optional === true) return 0n;
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms) || ms < 0) fail(field, "Expected a valid date after 1970", value);
    return BigInt(Math.floor(ms / 1000));
  }
  if (typeof value === "number" && Number.isFinite(value) && !Number.isInteger(value))
    fail(field, "Expected whole seconds", value);
  const n = integer(value, field, 0n, (1n << 64n) - 1n);
  if (n > BigInt(MAX_UNIX_SECONDS))
    fail(field, "Expected unix time in SECONDS (this looks like milliseconds: divide by 1000 or pass a Date)", value);
  return n;
}

/** A duration in seconds, refusing values that look like milliseconds (over `maxSeconds`). */
export function durationSeconds(value: unknown, field: string, maxSeconds: number): number {
  const n = integer(value, field, 0n, BigInt(Number.MAX_SAFE_INTEGER));
  if (n > BigInt(maxSeconds))
    fail(field, `Expected a duration in SECONDS of at most ${maxSeconds} (milliseconds given?)`, value);
  return Number(n);
}

/** An array (elements are checked by the caller). */
export function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(field, "Expected an array", value);
  return value;
}

/** A boolean (no truthy/falsy coercion). */
export function bool(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") fail(field, "Expected true or false", value);
  return value;
}

/** A non-array object (parameters objects). */
export function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, "Expected an object", value);
  return value as Record<string, unknown>;
}

/** Record content: bytes, or a string (encoded as UTF-8). */
export function content(value: unknown, field = "content"): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return new TextEncoder().encode(value);
  return fail(field, "Expected a string or a Uint8Array", value);
}

/** A media type such as "application/fhir+json": 1..255 bytes of printable ASCII, type/subtype. */
export function mediaType(value: unknown, field = "mediaType"): string {
  if (typeof value !== "string" || !/^[\x21-\x7e]+\/[\x20-\x7e]+$/.test(value) || value.length > 255)
    fail(field, 'Expected a media type such as "application/fhir+json"', value);
  return value;
}

/** An optional non-empty string (idempotency keys, names). */
export function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) fail(field, "Expected a non-empty string", value);
  return value;
}
