/**
 * The record context every ciphertext is bound to (envelope chunks and key slots alike).
 */
import { InvalidInputError } from "../errors.js";
import { assertBytes, fromHex, u256BE } from "./bytes.js";

/** Where a sealed record belongs: a ciphertext moved to another record, chain or registry fails to open. */
export interface EnvelopeContext {
  /** The record version's random 32-byte id (the on-chain `RecordId`). */
  recordId: Uint8Array;
  /** The data subject's (patient's) 32-byte id. */
  subjectId: Uint8Array;
  /** EIP-155 chain id of the network holding the anchor, 1 ≤ chainId < 2^256. */
  chainId: bigint;
  /** Record registry contract address: `0x` + 40 hex digits, any case (the checksum is not checked). */
  registry: string;
}

/** Length of {@link encodeContext}'s output: 32 + 32 + 32 + 20. */
export const CONTEXT_ENCODED_LENGTH = 116;

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * Validates `context` and encodes it as fixed-width fields, so the encoding is injective:
 *
 * ```
 * recordId (32) || subjectId (32) || chainId (uint256, 32 bytes big-endian) || registry (20)
 * ```
 *
 * Throws InvalidInputError naming the bad field (wrong id length, chainId outside [1, 2^256 - 1],
 * registry not 0x + 40 hex digits).
 *
 * @example
 * ```ts
 * import { encodeContext } from "medledger";
 * const bytes = encodeContext({ recordId, subjectId, chainId: 31337n, registry }); // 116 bytes
 * ```
 */
export function encodeContext(context: EnvelopeContext): Uint8Array {
  if (typeof context !== "object" || context === null) {
    throw new InvalidInputError("context must be an object { recordId, subjectId, chainId, registry }");
  }
  assertBytes(context.recordId, "context.recordId", 32);
  assertBytes(context.subjectId, "context.subjectId", 32);
  if (typeof context.chainId !== "bigint" || context.chainId < 1n || context.chainId > MAX_UINT256) {
    throw new InvalidInputError("context.chainId must be a bigint in [1, 2^256 - 1]", {
      details: `got ${typeof context.chainId === "bigint" ? context.chainId.toString() : typeof context.chainId}`,
    });
  }
  if (typeof context.registry !== "string" || !ADDRESS_RE.test(context.registry)) {
    throw new InvalidInputError("context.registry must be a 20-byte address (0x + 40 hex digits)", {
      details: `got ${typeof context.registry === "string" ? JSON.stringify(context.registry) : typeof context.registry}`,
    });
  }
  const out = new Uint8Array(CONTEXT_ENCODED_LENGTH);
  out.set(context.recordId, 0);
  out.set(context.subjectId, 32);
  out.set(u256BE(context.chainId), 64);
  out.set(fromHex(context.registry, "context.registry", 20), 96);
  return out;
}
