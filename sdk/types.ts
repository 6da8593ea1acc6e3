/**
 * Branded id types, so a consent id cannot be passed where a record id is expected (mirrors the
 * contracts' `type RecordId is bytes32`). All are 0x-prefixed lowercase 32-byte hex strings.
 *
 * @example
 * ```ts
 * import { newSubjectId, asRecordId } from "medledger";
 * const subject = newSubjectId();            // random: never derived from personal data
 * const record = asRecordId("0x…64 hex…");   // validates, throws InvalidInputError
 * ```
 */
import { hexlify } from "ethers";

import { InvalidInputError } from "./errors.js";

export type Hex = `0x${string}`;
export type SubjectId = Hex & { readonly __brand: "SubjectId" };
export type RecordId = Hex & { readonly __brand: "RecordId" };
export type ConsentId = Hex & { readonly __brand: "ConsentId" };
export type Address = Hex & { readonly __brand: "Address" };

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function bytes32(value: string, what: string): Hex {
  if (typeof value !== "string" || !BYTES32.test(value)) {
    throw new InvalidInputError(`Invalid ${what}: expected 0x + 64 hex digits`, { details: `got ${String(value)}` });
  }
  return value.toLowerCase() as Hex;
}

export const asSubjectId = (value: string): SubjectId => bytes32(value, "subject id") as SubjectId;
export const asRecordId = (value: string): RecordId => bytes32(value, "record id") as RecordId;
export const asConsentId = (value: string): ConsentId => bytes32(value, "consent id") as ConsentId;
export function asAddress(value: string): Address {
  if (typeof value !== "string" || !ADDRESS.test(value)) {
    throw new InvalidInputError("Invalid address: expected 0x + 40 hex digits", { details: `got ${String(value)}` });
  }
  return value as Address;
}

/** 32 random bytes from the platform CSPRNG, as hex. */
export function randomBytes32(random: (n: number) => Uint8Array = defaultRandom): Hex {
  return hexlify(random(32)) as Hex;
}

function defaultRandom(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** A new random subject id (a patient's pseudonym). */
export const newSubjectId = (random?: (n: number) => Uint8Array): SubjectId => randomBytes32(random) as SubjectId;
/** A new random record id (one version of one record). */
export const newRecordId = (random?: (n: number) => Uint8Array): RecordId => randomBytes32(random) as RecordId;

export const ZERO_BYTES32: Hex = `0x${"00".repeat(32)}`;
