/**
 * Sealed vectors: a custodian's share sealed to one aggregation server's registered X25519 key, a
 * server's sum-share sealed to the researcher's registered key, and the commitments that bind
 * them on chain. The construction is the key slot's (`sdk/keyholder/shares.ts`), for a vector:
 *
 * ```
 * payload    = salt (32) ‖ element₀ (8, big-endian, < p) ‖ … ‖ element_{L−1}
 * slot       = 01 ‖ recipientKeyVersion (u32) ‖ ephemeral X25519 public key E (32)
 *              ‖ ChaCha20-Poly1305(kek, nonce 0¹², AD = slot[0..37] ‖ context)(payload) (+ 16-byte tag)
 * kek        = HKDF-SHA256(X25519(e, R), salt = E ‖ R, info = label ‖ context)
 * commitment = sha256("medledger/research/commitment/v1" ‖ context ‖ payload)
 * share context     = 01 ‖ chainId (u256) ‖ studyRegistry (20) ‖ studyId (32) ‖ runId (u32)
 *                     ‖ custodianOrg (u32) ‖ keyholderId (u32) ‖ server index (u32) ‖ cells (u32)
 * sum-share context = 02 ‖ chainId (u256) ‖ studyRegistry (20) ‖ studyId (32) ‖ runId (u32)
 *                     ‖ keyholderId (u32) ‖ cells (u32) ‖ researcher (20) ‖ contributorsDigest (32)
 * labels: medledger/research/share/v1 (to a server), medledger/research/sum-share/v1 (to the
 *         researcher), medledger/research/at-rest/v1 (a server's own sum-share, stored)
 * ```
 *
 * - A fresh ephemeral key per slot makes every kek single-use (the zero nonce is used once).
 * - The context binds a slot to one chain, registry, study, run, custodian, server and position:
 *   a share moved to another run, server or custodian does not open.
 * - The 32-byte random salt makes the commitment hiding: without it a one-cell share (61 bits)
 *   could be found by brute force from its public commitment. The commitment is binding (sha256),
 *   so a server can later open its shares to an auditor and a custodian cannot deny its input.
 *
 * @example
 * ```ts
 * import { sealVector, openVector, encodeShareContext } from "medledger/research";
 * const context = encodeShareContext({ chainId, studyRegistry, studyId, runId, custodianOrg, keyholderId, index, cells });
 * const { slot, commitment } = sealVector({ vector, recipientPublicKey, recipientKeyVersion, context, label: "share" });
 * const { vector: same } = openVector({ slot, recipientPrivateKey, context, cells, label: "share" });
 * ```
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import {
  ascii,
  assertBytes,
  assertInteger,
  concat,
  fromHex,
  readU32BE,
  toHex,
  u256BE,
  u32BE,
  writeU32BE,
} from "../crypto/bytes.js";
import { drawRandom } from "../crypto/random.js";
import type { RandomSource } from "../crypto/random.js";
import { InvalidInputError } from "../errors.js";
import { ephemeralAgreement, publicKeyOf, sharedSecret } from "../keyholder/x25519.js";
import type { Hex } from "../types.js";
import { ShareRefusedError } from "./errors.js";
import { ELEMENT_BYTES, decodeVector, encodeVector } from "./field.js";

export const VECTOR_SLOT_VERSION = 1;
const PREFIX = 37;
const TAG = 16;
const SALT = 32;
const ZERO_NONCE = new Uint8Array(12);
const LABELS = {
  share: ascii("medledger/research/share/v1"),
  sum: ascii("medledger/research/sum-share/v1"),
  rest: ascii("medledger/research/at-rest/v1"),
} as const;
const COMMITMENT_LABEL = ascii("medledger/research/commitment/v1");

export type SlotLabel = keyof typeof LABELS;

/** Where one custodian's share to one server belongs. */
export interface ShareContext {
  chainId: bigint;
  studyRegistry: string;
  studyId: Hex;
  runId: number;
  custodianOrg: number;
  keyholderId: number;
  /** The server's position in the run's server list (the commitment's position on chain). */
  index: number;
  cells: number;
}

/** Where one server's sum-share belongs, and for whom. */
export interface SumShareContext {
  chainId: bigint;
  studyRegistry: string;
  studyId: Hex;
  runId: number;
  keyholderId: number;
  cells: number;
  researcher: string;
  contributorsDigest: Hex;
}

function head(kind: number, chainId: bigint, studyRegistry: string, studyId: Hex, runId: number): Uint8Array {
  if (typeof chainId !== "bigint" || chainId < 1n) throw new InvalidInputError("chainId must be a positive bigint");
  assertInteger(runId, "runId", 1, 0xffff_ffff);
  return concat(
    Uint8Array.of(kind),
    u256BE(chainId),
    fromHex(studyRegistry, "studyRegistry", 20),
    fromHex(studyId, "studyId", 32),
    u32BE(runId),
  );
}

/** Encodes a {@link ShareContext} (105 bytes). */
export function encodeShareContext(c: ShareContext): Uint8Array {
  for (const k of ["custodianOrg", "keyholderId", "cells"] as const) assertInteger(c[k], k, 1, 0xffff_ffff);
  assertInteger(c.index, "index", 0, 255);
  return concat(
    head(1, c.chainId, c.studyRegistry, c.studyId, c.runId),
    u32BE(c.custodianOrg),
    u32BE(c.keyholderId),
    u32BE(c.index),
    u32BE(c.cells),
  );
}

/** Encodes a {@link SumShareContext} (149 bytes). */
export function encodeSumShareContext(c: SumShareContext): Uint8Array {
  assertInteger(c.keyholderId, "keyholderId", 1, 0xffff_ffff);
  assertInteger(c.cells, "cells", 1, 0xffff_ffff);
  return concat(
    head(2, c.chainId, c.studyRegistry, c.studyId, c.runId),
    u32BE(c.keyholderId),
    u32BE(c.cells),
    fromHex(c.researcher, "researcher", 20),
    fromHex(c.contributorsDigest, "contributorsDigest", 32),
  );
}

/** The commitment to a payload (salt ‖ vector) in its context. */
export function vectorCommitment(context: Uint8Array, payload: Uint8Array): Hex {
  return toHex(sha256(concat(COMMITMENT_LABEL, context, payload))) as Hex;
}

/** The commitment to `vector` with `salt` in `context`. */
export function commitVector(context: Uint8Array, salt: Uint8Array, vector: readonly bigint[]): Hex {
  assertBytes(salt, "salt", SALT);
  return vectorCommitment(context, concat(salt, encodeVector(vector)));
}

export interface SealVectorParams {
  vector: readonly bigint[];
  recipientPublicKey: Uint8Array;
  recipientKeyVersion: number;
  context: Uint8Array;
  label: SlotLabel;
  /** The commitment's salt; default 32 fresh random bytes. */
  salt?: Uint8Array;
  random?: RandomSource;
}

export interface SealedVector {
  slot: Uint8Array;
  commitment: Hex;
  salt: Uint8Array;
}

function kek(shared: Uint8Array, e: Uint8Array, r: Uint8Array, label: SlotLabel, context: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, concat(e, r), concat(LABELS[label], context), 32);
}

/** Seals a vector to a recipient's X25519 key and commits to it. */
export function sealVector(p: SealVectorParams): SealedVector {
  const salt = p.salt ?? drawRandom(SALT, p.random);
  assertBytes(salt, "salt", SALT);
  const payload = concat(salt, encodeVector(p.vector));
  const commitment = vectorCommitment(p.context, payload);
  const slot = sealPayload({ ...p, payload });
  payload.fill(0);
  return { slot, commitment, salt };
}

/**
 * Seals raw payload bytes (salt ‖ encoded vector). {@link sealVector} is the API; this is exported
 * for tests that must build malformed payloads (an element ≥ p) a server has to refuse.
 * @internal
 */
export function sealPayload(
  p: Omit<SealVectorParams, "vector" | "salt" | "random"> & { payload: Uint8Array },
): Uint8Array {
  assertBytes(p.recipientPublicKey, "recipientPublicKey", 32);
  assertInteger(p.recipientKeyVersion, "recipientKeyVersion", 0, 0xffff_ffff);
  const { ephemeralPublicKey, shared } = ephemeralAgreement(p.recipientPublicKey);
  const slot = new Uint8Array(PREFIX + p.payload.length + TAG);
  slot[0] = VECTOR_SLOT_VERSION;
  writeU32BE(slot, 1, p.recipientKeyVersion);
  slot.set(ephemeralPublicKey, 5);
  const key = kek(shared, ephemeralPublicKey, p.recipientPublicKey, p.label, p.context);
  shared.fill(0);
  slot.set(chacha20poly1305(key, ZERO_NONCE, concat(slot.subarray(0, PREFIX), p.context)).encrypt(p.payload), PREFIX);
  key.fill(0);
  return slot;
}

/** The recipient key version a slot was sealed to (BAD_SLOT if it is not a vector slot). */
export function slotKeyVersion(slot: Uint8Array): number {
  if (!(slot instanceof Uint8Array) || slot.length < PREFIX + SALT + TAG || slot[0] !== VECTOR_SLOT_VERSION) {
    throw new ShareRefusedError("BAD_SLOT", "Not a sealed vector (format 1)");
  }
  return readU32BE(slot, 1);
}

export interface OpenVectorParams {
  slot: Uint8Array;
  recipientPrivateKey: Uint8Array;
  context: Uint8Array;
  label: SlotLabel;
  /** The expected number of elements: any other length is refused (BAD_LENGTH). */
  cells: number;
}

export interface OpenedVector {
  vector: bigint[];
  salt: Uint8Array;
  commitment: Hex;
}

/**
 * Opens a sealed vector. Refuses, with a {@link ShareRefusedError}: a slot that is not one or does
 * not authenticate (`BAD_SLOT`: wrong key, context or label, any flipped bit), a vector of another
 * length (`BAD_LENGTH`), an element ≥ p (`OUT_OF_RANGE`).
 */
export function openVector(p: OpenVectorParams): OpenedVector {
  slotKeyVersion(p.slot);
  assertBytes(p.recipientPrivateKey, "recipientPrivateKey", 32);
  const e = p.slot.subarray(5, PREFIX);
  let payload: Uint8Array;
  try {
    const shared = sharedSecret(p.recipientPrivateKey, e);
    const key = kek(shared, e, publicKeyOf(p.recipientPrivateKey), p.label, p.context);
    shared.fill(0);
    payload = chacha20poly1305(key, ZERO_NONCE, concat(p.slot.subarray(0, PREFIX), p.context)).decrypt(
      p.slot.subarray(PREFIX),
    );
    key.fill(0);
  } catch (cause) {
    throw new ShareRefusedError("BAD_SLOT", "The sealed vector does not open: wrong key, wrong context or tampered", {
      cause,
    });
  }
  if ((payload.length - SALT) % ELEMENT_BYTES !== 0 || payload.length - SALT !== p.cells * ELEMENT_BYTES) {
    throw new ShareRefusedError("BAD_LENGTH", "The share has the wrong length", {
      details: `expected ${p.cells} elements, got ${(payload.length - SALT) / ELEMENT_BYTES}`,
    });
  }
  const vector = decodeVector(payload.subarray(SALT), p.cells);
  return { vector, salt: payload.slice(0, SALT), commitment: vectorCommitment(p.context, payload) };
}
