/**
 * A record's versions, integrity check and erasure.
 *
 * Contract calls built here: RecordRegistry.eraseRecord.
 *
 * @internal
 */
import type { TxReceipt, Write } from "../chain/client.js";
import type { LedgerContext } from "../context.js";
import { asRecordId, asSubjectId } from "../types.js";
import type { Hex, RecordId, SubjectId } from "../types.js";
import { sha256Hex } from "../util.js";
import { object } from "../validate.js";
import { locate, successorOf } from "./locate.js";

export interface RecordVersion {
  recordId: RecordId;
  previous: RecordId | null;
  /** sha256 of the envelope, as anchored. */
  digest: Hex;
  /** The salted commitment to the record's sensitive labels (its opening is not on chain). */
  labelCommitment: Hex;
  pointer: string;
  custodian: number;
  category: number;
  anchoredAt: number;
  erased: boolean;
  superseded: boolean;
}

export interface VerifyResult {
  intact: boolean;
  recordId: RecordId;
  /** The digest anchored on chain. */
  digest: Hex;
  /** The digest of what storage returned (null: nothing readable). */
  stored: Hex | null;
  erased: boolean;
}

/** The subject and record id of a params object (InvalidInputError naming the bad one). */
function ref(params: { subject: SubjectId; recordId: RecordId }): { subject: SubjectId; id: RecordId } {
  object(params, "params");
  return { subject: asSubjectId(params.subject, "subject"), id: asRecordId(params.recordId, "recordId") };
}

async function versionOf(ctx: LedgerContext, subject: SubjectId, id: RecordId): Promise<RecordVersion> {
  const r = await locate(ctx, subject, id);
  return {
    recordId: id,
    previous: r.previous,
    digest: r.digest,
    labelCommitment: r.labelCommitment,
    pointer: r.pointer,
    custodian: r.state.custodian,
    category: r.state.category,
    anchoredAt: r.state.anchoredAt,
    erased: r.state.erasedAt !== 0,
    superseded: r.state.superseded,
  };
}

/**
 * Every version of the record's chain, oldest first (from events; superseded versions included).
 *
 * @example
 * ```ts
 * const versions = await records.history(ctx, { subject, recordId });
 * ```
 */
export async function history(
  ctx: LedgerContext,
  params: { subject: SubjectId; recordId: RecordId },
): Promise<RecordVersion[]> {
  const { subject, id } = ref(params);
  const versions: RecordVersion[] = [];
  // Walk back to the first version.
  let cursor: RecordVersion | null = await versionOf(ctx, subject, id);
  while (cursor !== null) {
    versions.unshift(cursor);
    cursor = cursor.previous === null ? null : await versionOf(ctx, subject, cursor.previous);
  }
  // Walk forward through successors.
  let last = versions[versions.length - 1]!;
  while (last.superseded) {
    const next = await successorOf(ctx, subject, last.recordId);
    if (next === null) break;
    last = await versionOf(ctx, subject, next);
    versions.push(last);
  }
  return versions;
}

/** Re-reads the stored envelope and checks it against the anchored digest (no key needed). */
export async function verify(
  ctx: LedgerContext,
  params: { subject: SubjectId; recordId: RecordId },
): Promise<VerifyResult> {
  const { subject, id } = ref(params);
  const r = await locate(ctx, subject, id);
  // A missing or unreadable envelope is not intact.
  const stored: Hex | null = await ctx.storage.getBytes(r.pointer).then(sha256Hex, () => null);
  return { intact: stored === r.digest, recordId: id, digest: r.digest, stored, erased: r.state.erasedAt !== 0 };
}

/**
 * Erases a record version (the subject or a guardian with ERASE): tombstone on chain, then
 * crypto-shredding: the key custody destroys the key material and the ciphertext is deleted. The
 * commitment stays on chain. A retry after a crash finishes the shredding (`receipt` is null when
 * the tombstone was there).
 */
export async function erase(
  ctx: LedgerContext,
  params: { subject: SubjectId; recordId: RecordId },
): Promise<Write<RecordId, TxReceipt | null>> {
  const { subject, id } = ref(params);
  const r = await locate(ctx, subject, id);
  const receipt =
    r.state.erasedAt === 0
      ? (await ctx.chain.send(ctx.chain.records.eraseRecord.populateTransaction(subject, id))).receipt
      : null;
  await ctx.custody.erase({ subject, recordId: id, custodian: r.state.custodian });
  await ctx.storage.delete(r.pointer);
  return { value: id, receipt };
}
