/**
 * Sealed commitments: what the chain holds instead of a record's sensitive labels and a consent's
 * sealed terms (issue "sealed sensitive labels").
 *
 * The chain stores and emits only these 32-byte commitments and never branches on them (any
 * branch would be public: every node re-executes every transaction). The openings — the label
 * mask or the sealed terms, and the salt — never go on chain; they travel encrypted to the
 * keyholders (who enforce the sealed rule at key release) and to the patient's app.
 *
 * ## Format, version 1
 *
 * ```
 * labelCommitment  = keccak256(abi.encode(LABELS_DOMAIN, bytes32 subject, bytes32 recordId,
 *                                         uint8 labels, bytes32 salt))
 * termsCommitment  = keccak256(abi.encode(TERMS_DOMAIN, bytes32 subject, uint8 allowLabels,
 *                                         uint8 denyLabels, uint16 refinement, bytes32 salt))
 * LABELS_DOMAIN    = keccak256("MedLedger.sealed.labels.v1")
 * TERMS_DOMAIN     = keccak256("MedLedger.sealed.terms.v1")
 * ```
 *
 * - `labels`, `allowLabels`, `denyLabels` are masks over the four sensitive labels
 *   (MENTAL_HEALTH 1, SEXUAL_REPRODUCTIVE 2, SUBSTANCE_USE 4, GENETICS 8); the empty mask is
 *   committed too, so a record or consent without sensitive labels looks like any other.
 * - `refinement` is a public-category mask that narrows where a permit's `allowLabels` apply
 *   (0: wherever the permit's public categories apply).
 * - `salt` is 32 bytes from a CSPRNG, fresh for every commitment: without it the four-bit label
 *   mask could be found by trying all 16 values. A salt is never reused, so no commitment repeats.
 * - The subject (and for records the record id) are bound in, so an opening cannot be replayed
 *   for another record or another patient's consent.
 *
 * @example
 * ```ts
 * import { sealLabels, labelCommitment } from "medledger";
 * const opening = sealLabels({ subject, recordId, labels: 4 });   // SUBSTANCE_USE
 * const commitment = labelCommitment(opening);                     // goes on chain
 * ```
 */
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";

import { InvalidInputError } from "../errors.js";
import type { Hex } from "../types.js";
import { randomHex32 } from "../util.js";

/** The four sensitive labels as a mask: MENTAL_HEALTH 1, SEXUAL_REPRODUCTIVE 2, SUBSTANCE_USE 4, GENETICS 8. */
export const ALL_LABELS_MASK = 0x0f;
/** Public categories are bit indexes 0..15. */
const ALL_PUBLIC_CATEGORIES_MASK = 0xffff;

export const LABELS_DOMAIN = keccak256(toUtf8Bytes("MedLedger.sealed.labels.v1")) as Hex;
export const TERMS_DOMAIN = keccak256(toUtf8Bytes("MedLedger.sealed.terms.v1")) as Hex;

/** The opening of a record's label commitment. */
export interface LabelOpening {
  readonly version: 1;
  readonly subject: Hex;
  readonly recordId: Hex;
  /** Mask over the four sensitive labels (0: none). */
  readonly labels: number;
  readonly salt: Hex;
}

/** The opening of a consent's sealed-terms commitment. */
export interface SealedTermsOpening {
  readonly version: 1;
  readonly subject: Hex;
  /** Labels a permit lets through (0: no sensitive record). Ignored for a deny. */
  readonly allowLabels: number;
  /** Labels a deny refuses (0: only its public terms bind). Ignored for a permit. */
  readonly denyLabels: number;
  /** Public-category mask narrowing where `allowLabels` apply (0: everywhere the permit applies). */
  readonly refinement: number;
  readonly salt: Hex;
}

const coder = AbiCoder.defaultAbiCoder();
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

function bytes32(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !BYTES32.test(value))
    throw new InvalidInputError(`${field} must be 32 bytes of hex (0x + 64 digits)`, { field });
  return value.toLowerCase() as Hex;
}

function mask(value: unknown, field: string, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max)
    throw new InvalidInputError(`${field} must be an integer mask in 0..${max}`, { field });
  return value;
}

/** A fresh label opening (new CSPRNG salt unless one is given, e.g. by tests). */
export function sealLabels(p: { subject: string; recordId: string; labels: number; salt?: string }): LabelOpening {
  return {
    version: 1,
    subject: bytes32(p.subject, "subject"),
    recordId: bytes32(p.recordId, "recordId"),
    labels: mask(p.labels, "labels", ALL_LABELS_MASK),
    salt: p.salt === undefined ? randomHex32() : bytes32(p.salt, "salt"),
  };
}

/** A fresh sealed-terms opening (new CSPRNG salt unless one is given). */
export function sealTerms(p: {
  subject: string;
  allowLabels?: number;
  denyLabels?: number;
  refinement?: number;
  salt?: string;
}): SealedTermsOpening {
  return {
    version: 1,
    subject: bytes32(p.subject, "subject"),
    allowLabels: mask(p.allowLabels ?? 0, "allowLabels", ALL_LABELS_MASK),
    denyLabels: mask(p.denyLabels ?? 0, "denyLabels", ALL_LABELS_MASK),
    refinement: mask(p.refinement ?? 0, "refinement", ALL_PUBLIC_CATEGORIES_MASK),
    salt: p.salt === undefined ? randomHex32() : bytes32(p.salt, "salt"),
  };
}

/** The on-chain commitment to a record's labels. */
export function labelCommitment(o: LabelOpening): Hex {
  const checked = sealLabels(o);
  return keccak256(
    coder.encode(
      ["bytes32", "bytes32", "bytes32", "uint8", "bytes32"],
      [LABELS_DOMAIN, checked.subject, checked.recordId, checked.labels, checked.salt],
    ),
  ) as Hex;
}

/** The on-chain commitment to a consent's sealed terms. */
export function termsCommitment(o: SealedTermsOpening): Hex {
  const checked = sealTerms(o);
  return keccak256(
    coder.encode(
      ["bytes32", "bytes32", "uint8", "uint8", "uint16", "bytes32"],
      [TERMS_DOMAIN, checked.subject, checked.allowLabels, checked.denyLabels, checked.refinement, checked.salt],
    ),
  ) as Hex;
}
