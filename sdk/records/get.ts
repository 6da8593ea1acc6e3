/**
 * Reading a record: the record is located and checked against its anchor, the key custody is
 * asked whether the read would be released (before anything is logged; when it refuses, the
 * contract's own check is estimated so that a read the chain refuses is reported with its public
 * reason, an AccessDeniedError, and only the rest as the custody's refusal), the access is logged on
 * chain, then the custody releases the data key (it checks that log on its own node), then the
 * envelope is fetched, checked against the anchored digest, and opened.
 *
 * JSON-RPC calls of a reader without the writer's journal: getRecord and the anchor event (in
 * parallel), the gas estimate of `access` (the contract's own consent check: a refusal is an
 * AccessDeniedError and nothing is sent), eth_sendRawTransaction, the receipt: 5. A batch member
 * read for the first time adds one log query on its batch's tag and the proof's transaction. The
 * keyholders' calls run on their own nodes.
 *
 * Contract calls built here: RecordRegistry.access, breakGlassAccess.
 *
 * @internal
 */
import type { CategoryName, LabelName, PurposeName } from "../codes.js";
import { categoryName, labelNames, purposeCode } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { envelopeContext, readerKeysOf } from "../context.js";
import { openBytes } from "../crypto/index.js";
import { IntegrityError } from "../errors.js";
import { labelCommitment, sealLabels } from "../sealed/commitments.js";
import type { LabelOpening } from "../sealed/commitments.js";
import { asRecordId, asSubjectId, ZERO_BYTES32 } from "../types.js";
import type { ConsentId, Hex, RecordId, SubjectId } from "../types.js";
import { sha256Hex } from "../util.js";
import { object, uint } from "../validate.js";
import { locate } from "./locate.js";
import { unframe } from "./payload.js";

export interface GetParams {
  subject: SubjectId;
  recordId: RecordId;
  purpose: PurposeName;
  /** Break-glass: read without consent as an emergency responder (purpose ETREAT or BTG). */
  emergency?: { reasonCode: number };
}

export interface RecordContent {
  recordId: RecordId;
  subject: SubjectId;
  category: CategoryName | `CATEGORY_${number}`;
  mediaType: string;
  content: Uint8Array;
  /**
   * The record's sensitive labels, from the opening sealed inside the envelope (checked against
   * the anchored label commitment); undefined for a record sealed without it.
   */
  labels?: LabelName[];
  /** That opening (mask and salt): what a re-key commits its successor to. */
  labelOpening?: LabelOpening;
  /** The transaction that logged this read. */
  accessTx: string;
}

const hintKey = (subject: SubjectId, category: number, purpose: number) => `${subject}/${category}/read/${purpose}`;
const CONSENT_BASIS = 1n;

/**
 * Reads a record (see the module comment for the order of steps).
 *
 * @example
 * ```ts
 * import { records } from "medledger";
 * const { content, mediaType } = await records.get(ctx, { subject, recordId, purpose: "TREAT" });
 * ```
 */
export async function get(ctx: LedgerContext, params: GetParams): Promise<RecordContent> {
  object(params, "params");
  const subject = asSubjectId(params.subject, "subject");
  const id = asRecordId(params.recordId, "recordId");
  const purpose = purposeCode(params.purpose);
  const reasonCode =
    params.emergency === undefined
      ? undefined
      : uint(object(params.emergency, "emergency").reasonCode, "emergency.reasonCode", 16);
  const readerKeys = readerKeysOf(ctx);

  const record = await locate(ctx, subject, id);
  const { custodian, category } = record.state;
  const reader = ctx.chain.signer;
  const name = hintKey(subject, category, purpose);
  const accessCall = (hint: string) =>
    reasonCode !== undefined
      ? ctx.chain.records.breakGlassAccess.populateTransaction(subject, [id], purpose, reasonCode)
      : ctx.chain.records.access.populateTransaction(subject, id, purpose, hint);
  // Before the access is logged: a read the custody would refuse leaves no trace on chain.
  let consentHint: string;
  try {
    ({ consentHint } = await ctx.custody.preflight({ reader, subject, recordId: id, purpose, custodian }));
  } catch (err) {
    // A read the chain itself refuses is reported with the contract's reason (AccessDeniedError,
    // whatever the custody): the estimate runs the same check and sends nothing.
    await ctx.chain.estimate(accessCall(ctx.state.hints.get(name) ?? ZERO_BYTES32));
    throw err;
  }
  // The custodian keyholder's sealed check names the permit it passed under; log under that one.
  const call = accessCall(consentHint !== ZERO_BYTES32 ? consentHint : (ctx.state.hints.get(name) ?? ZERO_BYTES32));
  // The estimate runs the contract's consent check: a refusal is a typed error, nothing is sent.
  const logged = await ctx.chain.send(call);
  const accessed = logged.events.find((e) => e.name === "RecordAccessed");
  if (accessed?.args.basis === CONSENT_BASIS) ctx.state.hints.set(name, accessed.args.basisId as ConsentId);

  const accessTx = logged.receipt.hash as Hex;
  const dataKey = await ctx.custody.release({ reader, readerKeys, subject, recordId: id, accessTx, custodian });
  try {
    const envelope = await ctx.storage.getBytes(record.pointer);
    const digest = sha256Hex(envelope);
    if (digest !== record.digest) {
      throw new IntegrityError("The stored envelope does not match its anchored digest", {
        details: `record ${id}: anchored ${record.digest}, stored ${digest}`,
      });
    }
    const context = envelopeContext(ctx, id, subject);
    const payload = await openBytes(envelope, { key: dataKey, context, backend: ctx.backend });
    const { mediaType, content, labels } = unframe(payload);
    const out: RecordContent = {
      recordId: id,
      subject,
      category: categoryName(category),
      mediaType,
      content,
      accessTx,
    };
    if (labels !== undefined) {
      const opening = sealLabels({ subject, recordId: id, ...labels });
      if (labelCommitment(opening) !== record.labelCommitment)
        throw new IntegrityError("The sealed label opening does not open the anchored label commitment", {
          details: `record ${id}`,
        });
      out.labels = labelNames(opening.labels);
      out.labelOpening = opening;
    }
    return out;
  } finally {
    dataKey.fill(0);
  }
}
