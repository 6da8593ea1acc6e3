/**
 * Key shares: a record's 32-byte data key split k-of-n with `shamir-secret-sharing` (audited twice,
 * zero dependencies, GF(2^8)), each share sealed to one keyholder's registered X25519 key, and the
 * commitments a reader checks a released share against. The formats are specified in
 * docs/keyholders.md ("Shares"); in short:
 *
 * ```
 * share        = y (32) ‖ x (1)                                   (the package's layout)
 * shareContext = chainId (u256) ‖ keyholderRegistry (20) ‖ recordRegistry (20) ‖ subject (32)
 *                ‖ recordId (32) ‖ keyholderId (u32) ‖ epoch (u64) ‖ x (1)          149 bytes
 * slot (86)    = 01 ‖ recipientKeyVersion (u32) ‖ ephemeral public key (32) ‖ sealed share (33 + 16)
 * kek          = HKDF-SHA256(X25519(e, R), salt = E ‖ R, info = label ‖ binding)
 * sealed share = ChaCha20-Poly1305(kek, nonce = 0¹², AD = slot[0..37] ‖ binding)(share)
 * binding      = shareContext                               (label …/holder: a keyholder's copy)
 *              = shareContext ‖ reader (20) ‖ request nonce (32)  (label …/release: to a reader)
 * commitment   = sha256("medledger/keyshare/commitment/v1" ‖ shareContext ‖ share)
 * keyCheck     = sha256("medledger/keycheck/v1" ‖ recordContext ‖ dataKey)
 * recordContext = chainId (u256) ‖ keyholderRegistry (20) ‖ recordRegistry (20) ‖ subject ‖ recordId
 * ```
 *
 * The construction is the key slot's (`sdk/crypto/keyslot.ts`: a fresh ephemeral key per slot, so
 * the all-zero nonce is used once per kek), for a 33-byte payload and a context that also names the
 * keyholder, the membership epoch and the x coordinate, so a share moved to another record,
 * keyholder or epoch does not open.
 *
 * @example
 * ```ts
 * import { splitDataKey, sealShare, shareCommitment } from "medledger/keyholder";
 * const shares = await splitDataKey(dataKey, 3, 2);
 * const slot = sealShare({ share: shares[0], recipientPublicKey, recipientKeyVersion: 1, context });
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { combine, split } from "shamir-secret-sharing";

import {
  ascii,
  assertBytes,
  assertInteger,
  concat,
  fromHex,
  readU32BE,
  toHex,
  u256BE,
  writeU32BE,
} from "../crypto/bytes.js";
import { DecryptionError, InvalidInputError, UnsupportedFormatError } from "../errors.js";
import type { Hex } from "../types.js";
import { openBox, sealBox } from "./x25519.js";

/** Bytes of a share: 32 (y) + 1 (x). */
export const SHARE_LENGTH = 33;
/** Bytes of a sealed share slot: 1 + 4 + 32 + 33 + 16. */
export const SHARE_SLOT_LENGTH = 86;
/** Share slot format version. */
export const SHARE_SLOT_VERSION = 1;
/** Bytes of an encoded share context. */
export const SHARE_CONTEXT_LENGTH = 149;

const HOLDER_LABEL = ascii("medledger/keyshare/v1/holder");
const RELEASE_LABEL = ascii("medledger/keyshare/v1/release");
const COMMITMENT_LABEL = ascii("medledger/keyshare/commitment/v1");
const KEYCHECK_LABEL = ascii("medledger/keycheck/v1");
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** Which record a key belongs to, in which deployment. */
export interface RecordRef {
  chainId: bigint;
  keyholderRegistry: string;
  recordRegistry: string;
  subject: Hex;
  recordId: Hex;
}

/** Where one share belongs: a record, a keyholder, a membership epoch and an x coordinate. */
export interface ShareContext extends RecordRef {
  keyholderId: number;
  epoch: bigint;
  x: number;
}

/** The reader and request a released share is bound to. */
export interface ReleaseBinding {
  reader: string;
  nonce: Hex;
}

function bytes32(value: string, name: string): Uint8Array {
  if (typeof value !== "string" || !BYTES32.test(value)) {
    throw new InvalidInputError(`${name} must be 0x + 64 hex digits`, { details: `got ${String(value)}` });
  }
  return fromHex(value, name, 32);
}

/** Encodes a {@link RecordRef} (136 bytes, fixed widths: injective). */
export function encodeRecordContext(ref: RecordRef): Uint8Array {
  if (typeof ref.chainId !== "bigint" || ref.chainId < 1n)
    throw new InvalidInputError("chainId must be a positive bigint");
  return concat(
    u256BE(ref.chainId),
    fromHex(ref.keyholderRegistry, "keyholderRegistry", 20),
    fromHex(ref.recordRegistry, "recordRegistry", 20),
    bytes32(ref.subject, "subject"),
    bytes32(ref.recordId, "recordId"),
  );
}

/** Encodes a {@link ShareContext} ({@link SHARE_CONTEXT_LENGTH} bytes). */
export function encodeShareContext(ctx: ShareContext): Uint8Array {
  assertInteger(ctx.keyholderId, "keyholderId", 1, 0xffff_ffff);
  assertInteger(ctx.x, "x", 1, 255);
  if (typeof ctx.epoch !== "bigint" || ctx.epoch < 0n || ctx.epoch >= 1n << 64n) {
    throw new InvalidInputError("epoch must be a uint64 bigint");
  }
  const tail = new Uint8Array(13);
  writeU32BE(tail, 0, ctx.keyholderId);
  new DataView(tail.buffer).setBigUint64(4, ctx.epoch);
  tail[12] = ctx.x;
  return concat(encodeRecordContext(ctx), tail);
}

/** The x coordinate of a share (its last byte). */
export function shareX(share: Uint8Array): number {
  assertBytes(share, "share", SHARE_LENGTH);
  return share[SHARE_LENGTH - 1]!;
}

/**
 * Splits a 32-byte data key into `n` shares, any `k` of which recover it (2 ≤ k ≤ n ≤ 255).
 *
 * @example
 * ```ts
 * const shares = await splitDataKey(dataKey, 3, 2); // three 33-byte shares
 * ```
 */
export async function splitDataKey(dataKey: Uint8Array, n: number, k: number): Promise<Uint8Array[]> {
  assertBytes(dataKey, "dataKey", 32);
  assertInteger(k, "k (threshold)", 2, 255);
  assertInteger(n, "n (shares)", k, 255);
  return split(dataKey, n, k);
}

/** Recovers a data key from k shares (no integrity check: verify commitments and the key check). */
export async function combineShares(shares: readonly Uint8Array[]): Promise<Uint8Array> {
  if (shares.length < 2) throw new InvalidInputError("at least two shares are needed");
  for (const s of shares) assertBytes(s, "share", SHARE_LENGTH);
  return combine([...shares]);
}

/** The commitment a reader checks a share against. */
export function shareCommitment(ctx: ShareContext, share: Uint8Array): Hex {
  assertBytes(share, "share", SHARE_LENGTH);
  if (share[SHARE_LENGTH - 1] !== ctx.x) throw new InvalidInputError("the share's x does not match its context");
  return toHex(sha256(concat(COMMITMENT_LABEL, encodeShareContext(ctx), share))) as Hex;
}

/** The key check value of a record's data key. */
export function keyCheckValue(ref: RecordRef, dataKey: Uint8Array): Hex {
  assertBytes(dataKey, "dataKey", 32);
  return toHex(sha256(concat(KEYCHECK_LABEL, encodeRecordContext(ref), dataKey))) as Hex;
}

function binding(ctx: ShareContext, release: ReleaseBinding | undefined): { label: Uint8Array; bytes: Uint8Array } {
  const context = encodeShareContext(ctx);
  if (release === undefined) return { label: HOLDER_LABEL, bytes: context };
  return {
    label: RELEASE_LABEL,
    bytes: concat(context, fromHex(release.reader, "reader", 20), bytes32(release.nonce, "nonce")),
  };
}

/** Parameters of {@link sealShare}. */
export interface SealShareParams {
  share: Uint8Array;
  recipientPublicKey: Uint8Array;
  recipientKeyVersion: number;
  context: ShareContext;
  /** Set when releasing to a reader: binds the slot to that reader and request. */
  release?: ReleaseBinding;
}

/** Seals a share to a recipient's X25519 key (86-byte slot). */
export function sealShare(p: SealShareParams): Uint8Array {
  assertBytes(p.share, "share", SHARE_LENGTH);
  assertBytes(p.recipientPublicKey, "recipientPublicKey", 32);
  assertInteger(p.recipientKeyVersion, "recipientKeyVersion", 0, 0xffff_ffff);
  if (p.share[SHARE_LENGTH - 1] !== p.context.x)
    throw new InvalidInputError("the share's x does not match its context");
  const { label, bytes } = binding(p.context, p.release);
  const header = new Uint8Array(5);
  header[0] = SHARE_SLOT_VERSION;
  writeU32BE(header, 1, p.recipientKeyVersion);
  return sealBox({
    header,
    recipientPublicKey: p.recipientPublicKey,
    info: concat(label, bytes),
    binding: bytes,
    payload: p.share,
  });
}

/** The recipient key version a slot was sealed for. */
export function shareSlotKeyVersion(slot: Uint8Array): number {
  assertBytes(slot, "slot", SHARE_SLOT_LENGTH);
  if (slot[0] !== SHARE_SLOT_VERSION) throw new UnsupportedFormatError(`Unsupported share slot version ${slot[0]}`);
  return readU32BE(slot, 1);
}

/** Parameters of {@link openShare}. */
export interface OpenShareParams {
  slot: Uint8Array;
  recipientPrivateKey: Uint8Array;
  context: ShareContext;
  release?: ReleaseBinding;
}

/** Opens a share slot; DecryptionError for a wrong key, context, binding or any flipped bit. */
export function openShare(p: OpenShareParams): Uint8Array {
  shareSlotKeyVersion(p.slot);
  assertBytes(p.recipientPrivateKey, "recipientPrivateKey", 32);
  const { label, bytes } = binding(p.context, p.release);
  const share = openBox({
    box: p.slot,
    headerLength: 5,
    recipientPrivateKey: p.recipientPrivateKey,
    info: concat(label, bytes),
    binding: bytes,
    what: "Share slot",
  });
  if (share[SHARE_LENGTH - 1] !== p.context.x) throw new DecryptionError("Share x does not match its context");
  return share;
}
