/**
 * Branded id types, so a consent id cannot be passed where a record id is expected (mirrors the
 * contracts' `type RecordId is bytes32`). All are 0x-prefixed lowercase 32-byte hex strings.
 *
 * @example
 * ```ts
 * import { asSubjectId, asRecordId } from "medledger";
 * const subject = asSubjectId(input.subject); // validates, throws InvalidInputError
 * const record = asRecordId("0x…64 hex…");    // validates, throws InvalidInputError
 * ```
 */
import { randomHex32 } from "./util.js";
import { address, bytes32 } from "./validate.js";

export type Hex = `0x${string}`;
export type SubjectId = Hex & { readonly __brand: "SubjectId" };
export type RecordId = Hex & { readonly __brand: "RecordId" };
export type ConsentId = Hex & { readonly __brand: "ConsentId" };
export type Address = Hex & { readonly __brand: "Address" };

/** A subject id from its hex (InvalidInputError unless 0x + 64 hex digits); `field` names the parameter. */
export const asSubjectId = (value: string, field = "subject"): SubjectId => bytes32(value, field) as SubjectId;
/** A record id from its hex (InvalidInputError unless 0x + 64 hex digits). */
export const asRecordId = (value: string, field = "recordId"): RecordId => bytes32(value, field) as RecordId;
/** A consent id from its hex (InvalidInputError unless 0x + 64 hex digits). */
export const asConsentId = (value: string, field = "consentId"): ConsentId => bytes32(value, field) as ConsentId;
/** A checksummed address, validated locally (names are never resolved). */
export const asAddress = (value: string, field = "address"): Address => address(value, field) as Address;

/** 32 random bytes from the platform CSPRNG, as hex. */
export const randomBytes32 = (random?: (n: number) => Uint8Array): Hex => randomHex32(random);

/**
 * A random 32-byte subject id. Contracts 1.1 derive registered subject ids from the registrant and
 * a salt (`directory.registerPatient`, `directory.subjectIdFor`); a random one names no subject
 * (tests, 1.0 imports).
 */
export const newSubjectId = (random?: (n: number) => Uint8Array): SubjectId => randomHex32(random) as SubjectId;
/** A new random record id (one version of one record). */
export const newRecordId = (random?: (n: number) => Uint8Array): RecordId => randomHex32(random) as RecordId;

export const ZERO_BYTES32: Hex = `0x${"00".repeat(32)}`;
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
