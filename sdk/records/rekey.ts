/**
 * Re-keying a record: a reader who opened a record still holds its data key, so after a consent
 * is revoked the record is sealed anew. `rekey` reads the record (logged like any read), seals the
 * same content under a fresh data key as a linked version (`previous` = the old one: same
 * category, same sensitive labels under a fresh salt), deposits the new key with the custody,
 * anchors it, and then retires the old version's key material (each keyholder deletes its share
 * once its own node shows the old version superseded). The old key then opens nothing new.
 *
 * Who may: whoever may both read and append the record: the subject or an ACCESS guardian (the
 * successor is then held by the subject, custodian 0: only the subject may move a record), or a
 * practitioner of the custodian organization with read and append consent.
 *
 * @internal
 */
import type { CategoryName, PurposeName } from "../codes.js";
import { categoryName, labelNames } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { ConflictError, InvalidInputError } from "../errors.js";
import { asRecordId, asSubjectId } from "../types.js";
import type { RecordId, SubjectId } from "../types.js";
import { object } from "../validate.js";
import { get } from "./get.js";
import { locate, successorOf } from "./locate.js";
import { put } from "./put.js";

export interface RekeyParams {
  subject: SubjectId;
  recordId: RecordId;
  /** The purpose the read is logged with (default PATRQT: the subject or a guardian re-keys). */
  purpose?: PurposeName;
}

export interface RekeyResult {
  /** The new version (sealed under a fresh key). */
  value: RecordId;
  /** The version it supersedes (its key material retired). */
  previous: RecordId;
}

/**
 * Re-seals a record under a new data key as a linked version and retires the old key material.
 * Idempotent: a retry after a crash finds the successor it anchored (the writer's journal) and
 * only finishes the retirement.
 *
 * @throws ConflictError when the record is erased, or superseded by a version this call did not write
 *
 * @example
 * ```ts
 * const { value: successor } = await records.rekey(ctx, { subject, recordId });
 * ```
 */
export async function rekey(ctx: LedgerContext, params: RekeyParams): Promise<RekeyResult> {
  object(params, "params");
  const subject = asSubjectId(params.subject, "subject");
  const previous = asRecordId(params.recordId, "recordId");
  const purpose = params.purpose ?? "PATRQT";
  const old = await locate(ctx, subject, previous);
  if (old.state.erasedAt !== 0) throw new ConflictError("record", previous, `Record ${previous} is erased`);
  const retire = () =>
    ctx.custody.retire({ by: ctx.chain.signer, subject, recordId: previous, custodian: old.state.custodian });
  if (old.state.superseded) {
    // A retry: the successor this participant anchored (its journal says so) only needs the retirement.
    const next = await successorOf(ctx, subject, previous);
    if (next === null || (await ctx.journal.byRecord(next))?.previous !== previous)
      throw new ConflictError("record", previous, `Record ${previous} is superseded: re-key its latest version`);
    await retire();
    return { value: next, previous };
  }
  const read = await get(ctx, { subject, recordId: previous, purpose });
  // Never drop a label: the successor commits to exactly the labels the old version committed to.
  const mask = read.labelOpening?.labels ?? (await ctx.journal.byRecord(previous))?.labels.labels;
  if (mask === undefined)
    throw new InvalidInputError(
      `Record ${previous} was sealed without its label opening, and this participant's journal does not have it`,
      { field: "recordId" },
    );
  try {
    const value = await put(ctx, {
      subject,
      content: read.content,
      category: categoryName(old.state.category) as CategoryName,
      labels: labelNames(mask),
      mediaType: read.mediaType,
      previous,
    });
    await retire();
    return { value, previous };
  } finally {
    read.content.fill(0);
  }
}
