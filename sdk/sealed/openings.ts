/**
 * Openings in transit: a record's {@link LabelOpening} or a consent's {@link SealedTermsOpening}
 * sealed to one recipient's registered X25519 key — the record's custodian keyholder, every
 * keyholder (sealed terms), the patient's app, or an auditor. The construction is the key slot's
 * (`sdk/crypto/keyslot.ts`, as the keyholder's share slots use it): a fresh ephemeral X25519 key per
 * slot, HKDF-SHA256, ChaCha20-Poly1305 with an all-zero nonce (every kek is used once), and a
 * binding that names the deployment, the subject, the record or consent, and the recipient.
 *
 * ## Format, version 1 (integers big-endian)
 *
 * ```
 * slot     = 01 ‖ kind (1) ‖ recipientKeyVersion (u32) ‖ ephemeral public key (32) ‖ sealed payload ‖ tag (16)
 * kind     = 1 labels (payload 33: labels (1) ‖ salt (32); slot 87 bytes)
 *            2 terms  (payload 36: allowLabels (1) ‖ denyLabels (1) ‖ refinement (u16) ‖ salt (32); slot 90)
 *            3 secret (payload 32: a key handed to a keyholder itself or to an auditor; slot 86)
 * binding  = chainId (u256) ‖ keyholderRegistry (20) ‖ registry (20) ‖ subject (32) ‖ id (32) ‖ recipient (u32)
 *            labels: registry = RecordRegistry,  id = recordId
 *            terms:  registry = ConsentRegistry, id = consentId
 *            secret: registry = 0²⁰, subject = 0³², id = the recipient account left-padded to 32 bytes
 *            recipient = the receiving keyholder's id, 0 for anyone else (the patient, an auditor)
 * kek      = HKDF-SHA256(X25519(e, R), salt = E ‖ R, info = "medledger/sealed/opening/v1" ‖ kind ‖ binding)
 * sealed   = ChaCha20-Poly1305(kek, nonce = 0¹², AD = slot[0..38] ‖ binding)(payload)
 * ```
 *
 * An opening moved to another record, consent, subject, deployment or keyholder fails to open
 * (`DecryptionError`). Opening a slot proves nothing about the commitment: the receiver checks the
 * opening against the commitment on chain ({@link labelOpeningMatches}, {@link termsOpeningMatches}).
 *
 * @example
 * ```ts
 * import { sealLabels, labelCommitment } from "medledger";
 * import { sealLabelOpening } from "medledger"; // proposed root export (browser-safe)
 * const opening = sealLabels({ subject, recordId, labels: 4 });
 * const slot = sealLabelOpening({ opening, recipientPublicKey, recipientKeyVersion, binding });
 * ```
 */

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
import { DecryptionError, InvalidInputError, UnsupportedFormatError } from "../errors.js";
import { openBox, sealBox } from "../keyholder/x25519.js";
import type { Hex } from "../types.js";
import { labelCommitment, sealLabels, sealTerms, termsCommitment } from "./commitments.js";
import type { LabelOpening, SealedTermsOpening } from "./commitments.js";

/** Kinds of sealed payload. */
export const OpeningKind = { LABELS: 1, TERMS: 2, SECRET: 3 } as const;
export type OpeningKindCode = (typeof OpeningKind)[keyof typeof OpeningKind];

export const OPENING_SLOT_VERSION = 1;
const PREFIX_LENGTH = 38;
const PAYLOAD_LENGTH: Record<OpeningKindCode, number> = { 1: 33, 2: 36, 3: 32 };
/** Slot lengths by kind (87, 90, 86 bytes). */
export const OPENING_SLOT_LENGTH: Record<OpeningKindCode, number> = { 1: 87, 2: 90, 3: 86 };
const INFO = ascii("medledger/sealed/opening/v1");
const ZERO_ADDRESS = `0x${"00".repeat(20)}`;
const ZERO32: Hex = `0x${"00".repeat(32)}`;

/** Where an opening belongs (the binding); see the module doc. */
export interface OpeningBinding {
  chainId: bigint;
  keyholderRegistry: string;
  /** RecordRegistry (labels), ConsentRegistry (terms), zero (secret). */
  registry: string;
  subject: Hex;
  /** recordId (labels), consentId (terms), the recipient account padded (secret). */
  id: Hex;
  /** The receiving keyholder's id; 0 for the patient's app or an auditor. */
  recipient: number;
}

/** The binding of a secret handed to `account` (a keyholder's own key at rest, or an auditor's copy). */
export function secretBinding(p: {
  chainId: bigint;
  keyholderRegistry: string;
  account: string;
  recipient: number;
}): OpeningBinding {
  return {
    chainId: p.chainId,
    keyholderRegistry: p.keyholderRegistry,
    registry: ZERO_ADDRESS,
    subject: ZERO32,
    id: `0x${"00".repeat(12)}${p.account.slice(2).toLowerCase()}` as Hex,
    recipient: p.recipient,
  };
}

function encodeBinding(b: OpeningBinding): Uint8Array {
  if (typeof b.chainId !== "bigint" || b.chainId < 1n) throw new InvalidInputError("chainId must be a positive bigint");
  assertInteger(b.recipient, "recipient", 0, 0xffff_ffff);
  return concat(
    u256BE(b.chainId),
    fromHex(b.keyholderRegistry, "keyholderRegistry", 20),
    fromHex(b.registry, "registry", 20),
    fromHex(b.subject, "subject", 32),
    fromHex(b.id, "id", 32),
    u32BE(b.recipient),
  );
}

/** Seals a raw payload of `kind` (lengths per kind) to a recipient's X25519 key. */
export function sealPayload(p: {
  kind: OpeningKindCode;
  payload: Uint8Array;
  recipientPublicKey: Uint8Array;
  recipientKeyVersion: number;
  binding: OpeningBinding;
}): Uint8Array {
  const length = PAYLOAD_LENGTH[p.kind];
  if (length === undefined) throw new InvalidInputError(`Unknown opening kind ${String(p.kind)}`);
  assertBytes(p.payload, "payload", length);
  assertBytes(p.recipientPublicKey, "recipientPublicKey", 32);
  assertInteger(p.recipientKeyVersion, "recipientKeyVersion", 0, 0xffff_ffff);
  const binding = encodeBinding(p.binding);
  const header = new Uint8Array(6);
  header[0] = OPENING_SLOT_VERSION;
  header[1] = p.kind;
  writeU32BE(header, 2, p.recipientKeyVersion);
  return sealBox({
    header,
    recipientPublicKey: p.recipientPublicKey,
    info: concat(INFO, Uint8Array.of(p.kind), binding),
    binding,
    payload: p.payload,
  });
}

/** The kind and recipient key version of a slot (checks version and length). */
export function openingSlotHeader(slot: Uint8Array): { kind: OpeningKindCode; keyVersion: number } {
  if (!(slot instanceof Uint8Array) || slot.length < PREFIX_LENGTH)
    throw new UnsupportedFormatError("Not an opening slot");
  if (slot[0] !== OPENING_SLOT_VERSION) throw new UnsupportedFormatError(`Unsupported opening slot version ${slot[0]}`);
  const kind = slot[1] as OpeningKindCode;
  if (OPENING_SLOT_LENGTH[kind] !== slot.length)
    throw new UnsupportedFormatError(
      `An opening slot of kind ${kind} must be ${OPENING_SLOT_LENGTH[kind] ?? "?"} bytes`,
    );
  return { kind, keyVersion: readU32BE(slot, 2) };
}

/** Opens a slot of the expected kind; DecryptionError for a wrong key, binding or any flipped bit. */
export function openPayload(p: {
  slot: Uint8Array;
  kind: OpeningKindCode;
  recipientPrivateKey: Uint8Array;
  binding: OpeningBinding;
}): Uint8Array {
  const { kind } = openingSlotHeader(p.slot);
  if (kind !== p.kind) throw new DecryptionError(`Expected an opening of kind ${p.kind}, got ${kind}`);
  assertBytes(p.recipientPrivateKey, "recipientPrivateKey", 32);
  const binding = encodeBinding(p.binding);
  return openBox({
    box: p.slot,
    headerLength: 6,
    recipientPrivateKey: p.recipientPrivateKey,
    info: concat(INFO, Uint8Array.of(kind), binding),
    binding,
    what: "Opening slot",
  });
}

// ───────────────────────── payload codecs ─────────────────────────

/** Labels payload: labels (1) ‖ salt (32). */
export function encodeLabelPayload(o: LabelOpening): Uint8Array {
  const checked = sealLabels(o);
  return concat(Uint8Array.of(checked.labels), fromHex(checked.salt, "salt", 32));
}

export function decodeLabelPayload(payload: Uint8Array, subject: Hex, recordId: Hex): LabelOpening {
  assertBytes(payload, "payload", 33);
  try {
    return sealLabels({ subject, recordId, labels: payload[0]!, salt: toHex(payload.subarray(1)) });
  } catch (cause) {
    throw new DecryptionError("The label opening is malformed", { cause });
  }
}

/** Terms payload: allowLabels (1) ‖ denyLabels (1) ‖ refinement (u16) ‖ salt (32). */
export function encodeTermsPayload(o: SealedTermsOpening): Uint8Array {
  const checked = sealTerms(o);
  return concat(
    Uint8Array.of(checked.allowLabels, checked.denyLabels, checked.refinement >>> 8, checked.refinement & 0xff),
    fromHex(checked.salt, "salt", 32),
  );
}

export function decodeTermsPayload(payload: Uint8Array, subject: Hex): SealedTermsOpening {
  assertBytes(payload, "payload", 36);
  try {
    return sealTerms({
      subject,
      allowLabels: payload[0]!,
      denyLabels: payload[1]!,
      refinement: (payload[2]! << 8) | payload[3]!,
      salt: toHex(payload.subarray(4)),
    });
  } catch (cause) {
    throw new DecryptionError("The sealed-terms opening is malformed", { cause });
  }
}

// ───────────────────────── typed helpers ─────────────────────────

/** Seals a record's label opening to a recipient (binding: `id` = the opening's record id). */
export function sealLabelOpening(p: {
  opening: LabelOpening;
  recipientPublicKey: Uint8Array;
  recipientKeyVersion: number;
  binding: Omit<OpeningBinding, "subject" | "id">;
}): Uint8Array {
  return sealPayload({
    kind: OpeningKind.LABELS,
    payload: encodeLabelPayload(p.opening),
    recipientPublicKey: p.recipientPublicKey,
    recipientKeyVersion: p.recipientKeyVersion,
    binding: { ...p.binding, subject: p.opening.subject, id: p.opening.recordId },
  });
}

export function openLabelOpening(p: {
  slot: Uint8Array;
  recipientPrivateKey: Uint8Array;
  binding: OpeningBinding;
}): LabelOpening {
  const payload = openPayload({ ...p, kind: OpeningKind.LABELS });
  return decodeLabelPayload(payload, p.binding.subject, p.binding.id);
}

/** Seals a consent's sealed-terms opening to a recipient (binding: `id` = the consent id). */
export function sealTermsOpening(p: {
  opening: SealedTermsOpening;
  consentId: Hex;
  recipientPublicKey: Uint8Array;
  recipientKeyVersion: number;
  binding: Omit<OpeningBinding, "subject" | "id">;
}): Uint8Array {
  return sealPayload({
    kind: OpeningKind.TERMS,
    payload: encodeTermsPayload(p.opening),
    recipientPublicKey: p.recipientPublicKey,
    recipientKeyVersion: p.recipientKeyVersion,
    binding: { ...p.binding, subject: p.opening.subject, id: p.consentId },
  });
}

export function openTermsOpening(p: {
  slot: Uint8Array;
  recipientPrivateKey: Uint8Array;
  binding: OpeningBinding;
}): SealedTermsOpening {
  const payload = openPayload({ ...p, kind: OpeningKind.TERMS });
  return decodeTermsPayload(payload, p.binding.subject);
}

/** Whether `opening` opens `commitment` for exactly this subject and record. */
export function labelOpeningMatches(
  opening: LabelOpening,
  subject: string,
  recordId: string,
  commitment: string,
): boolean {
  return (
    opening.subject === subject.toLowerCase() &&
    opening.recordId === recordId.toLowerCase() &&
    labelCommitment(opening) === commitment.toLowerCase()
  );
}

/** Whether `opening` opens `commitment` for exactly this subject. */
export function termsOpeningMatches(opening: SealedTermsOpening, subject: string, commitment: string): boolean {
  return opening.subject === subject.toLowerCase() && termsCommitment(opening) === commitment.toLowerCase();
}
