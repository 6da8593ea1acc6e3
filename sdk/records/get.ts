/**
 * Reading a record: the access is logged on chain FIRST, then the custodian's keyholder releases
 * the data key (it checks that log on its own node), then the envelope is fetched, checked
 * against the on-chain digest, and opened.
 *
 * JSON-RPC calls of a reader without the writer's journal: getRecord, the anchor event (for the
 * storage pointer), the gas estimate of `access` (the contract's own consent check: a refusal is
 * an AccessDeniedError and nothing is sent), eth_sendRawTransaction, the receipt: 5. The
 * keyholder's calls run on its own node.
 *
 * Contract calls built here: RecordRegistry.access, breakGlassAccess.
 *
 * @internal
 */
import type { CategoryName, PurposeName } from "../codes.js";
import { categoryName, purposeCode } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { envelopeContext, keyholderOf, privateKeyOf } from "../context.js";
import { openBytes, unwrapDataKey } from "../crypto/index.js";
import { IntegrityError, InvalidInputError } from "../errors.js";
import { keyReleaseMessage } from "../keyholder/keyholder.js";
import { asRecordId, ZERO_BYTES32 } from "../types.js";
import type { ConsentId, RecordId, SubjectId } from "../types.js";
import { parseHex, sha256Hex } from "../util.js";
import { object, uint } from "../validate.js";
import { anchorStateOf, pointerOf } from "./locate.js";
import { unframe } from "./payload.js";

export interface GetParams {
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
 * const { content, mediaType } = await records.get(ctx, { recordId, purpose: "TREAT" });
 * ```
 */
export async function get(ctx: LedgerContext, params: GetParams): Promise<RecordContent> {
  object(params, "params");
  const id = asRecordId(params.recordId, "recordId");
  const purpose = purposeCode(params.purpose);
  const reasonCode =
    params.emergency === undefined
      ? undefined
      : uint(object(params.emergency, "emergency").reasonCode, "emergency.reasonCode", 16);
  privateKeyOf(ctx);

  // The storage pointer is looked up while the anchor state is read (both are reads).
  const pointer = pointerOf(ctx, id);
  pointer.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  const anchor = await anchorStateOf(ctx, id);
  // Before the access is logged: no keyholder, no point in logging a read that cannot complete.
  const keyholder = keyholderOf(ctx, anchor.custodian);
  const name = hintKey(anchor.subject, anchor.category, purpose);
  const call =
    reasonCode !== undefined
      ? ctx.chain.records.breakGlassAccess.populateTransaction([id], purpose, reasonCode)
      : ctx.chain.records.access.populateTransaction(id, purpose, ctx.state.hints.get(name) ?? ZERO_BYTES32);
  // The estimate runs the contract's consent check: a refusal is a typed error, nothing is sent.
  const logged = await ctx.chain.send(call);
  const accessed = logged.events.find((e) => e.name === "RecordAccessed");
  if (accessed?.args.basis === CONSENT_BASIS) ctx.state.hints.set(name, accessed.args.basisId as ConsentId);

  const accessTx = logged.receipt.hash;
  const signature = await ctx.chain.signer.signMessage(
    keyReleaseMessage({ recordId: id, accessTxHash: accessTx, chainId: ctx.chain.chainId, orgId: anchor.custodian }),
  );
  const slot = await keyholder.release({ recordId: id, reader: ctx.chain.account, accessTxHash: accessTx, signature });
  const slotBytes = parseHex(slot);
  if (slotBytes === undefined) throw new InvalidInputError("The keyholder returned a malformed key slot");
  const context = envelopeContext(ctx, id, anchor.subject);
  const dataKey = unwrapDataKey({ slot: slotBytes, recipientPrivateKey: privateKeyOf(ctx), context });
  try {
    const envelope = await ctx.storage.getBytes(await pointer);
    const digest = sha256Hex(envelope);
    if (digest !== anchor.digest) {
      throw new IntegrityError("The stored envelope does not match its on-chain digest", {
        details: `record ${id}: on chain ${anchor.digest}, stored ${digest}`,
      });
    }
    const payload = await openBytes(envelope, { key: dataKey, context, backend: ctx.backend });
    const { mediaType, content } = unframe(payload);
    return {
      recordId: id,
      subject: anchor.subject,
      category: categoryName(anchor.category),
      mediaType,
      content,
      accessTx,
    };
  } finally {
    dataKey.fill(0);
  }
}
