/**
 * A record's versions, integrity check and erasure.
 *
 * Contract calls built here: RecordRegistry.eraseRecord.
 *
 * @internal
 */
import type { TxReceipt, Write } from "../chain/client.js";
import type { LedgerContext } from "../context.js";
import { keyholderOf } from "../context.js";
import { asRecordId } from "../types.js";
import type { Hex, RecordId } from "../types.js";
import { sha256Hex } from "../util.js";
import { anchorStateOf, anchoredEvent, pointerOf, successorOf } from "./locate.js";
import type { AnchorState } from "./locate.js";

export interface RecordVersion {
  recordId: RecordId;
  previous: RecordId | null;
  digest: Hex;
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

async function versionOf(ctx: LedgerContext, id: RecordId, state?: AnchorState): Promise<RecordVersion> {
  const s = state ?? (await anchorStateOf(ctx, id));
  const event = await anchoredEvent(ctx, id);
  return {
    recordId: id,
    previous: event?.previous ?? null,
    digest: s.digest,
    pointer: event?.pointer ?? (await pointerOf(ctx, id)),
    custodian: s.custodian,
    category: s.category,
    anchoredAt: s.anchoredAt,
    erased: s.erasedAt !== 0,
    superseded: s.superseded,
  };
}

/**
 * Every version of the record's chain, oldest first (from events; superseded versions included).
 *
 * @example
 * ```ts
 * const versions = await records.history(ctx, { recordId });
 * ```
 */
export async function history(ctx: LedgerContext, params: { recordId: RecordId }): Promise<RecordVersion[]> {
  const id = asRecordId(params?.recordId, "recordId");
  const versions: RecordVersion[] = [];
  // Walk back to the first version.
  let cursor: RecordVersion | null = await versionOf(ctx, id);
  while (cursor !== null) {
    versions.unshift(cursor);
    cursor = cursor.previous === null ? null : await versionOf(ctx, cursor.previous);
  }
  // Walk forward through successors.
  let last = versions[versions.length - 1]!;
  while (last.superseded) {
    const next = await successorOf(ctx, last.recordId);
    if (next === null) break;
    last = await versionOf(ctx, next);
    versions.push(last);
  }
  return versions;
}

/** Re-reads the stored envelope and checks it against the on-chain digest (no key needed). */
export async function verify(ctx: LedgerContext, params: { recordId: RecordId }): Promise<VerifyResult> {
  const id = asRecordId(params?.recordId, "recordId");
  const state = await anchorStateOf(ctx, id);
  const pointer = await pointerOf(ctx, id);
  // A missing or unreadable envelope is not intact.
  const stored: Hex | null = await ctx.storage.getBytes(pointer).then(sha256Hex, () => null);
  return { intact: stored === state.digest, recordId: id, digest: state.digest, stored, erased: state.erasedAt !== 0 };
}

/**
 * Erases a record version (the subject or a guardian with ERASE): tombstone on chain, then
 * crypto-shredding: the key slots and the ciphertext are destroyed. The digest stays on chain.
 * A retry after a crash finishes the shredding (`receipt` is null when the tombstone was there).
 */
export async function erase(
  ctx: LedgerContext,
  params: { recordId: RecordId },
): Promise<Write<RecordId, TxReceipt | null>> {
  const id = asRecordId(params?.recordId, "recordId");
  const state = await anchorStateOf(ctx, id);
  const pointer = await pointerOf(ctx, id);
  const receipt =
    state.erasedAt === 0 ? (await ctx.chain.send(ctx.chain.records.eraseRecord.populateTransaction(id))).receipt : null;
  await keyholderOf(ctx, state.custodian).shred(id);
  await ctx.storage.delete(pointer);
  return { value: id, receipt };
}
