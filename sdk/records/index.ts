/**
 * Record actions over a {@link LedgerContext}: `put`, `putBatch`, `get`, `history`, `verify`,
 * `erase`, `rekey`. `MedLedger.records` is the same, bound to one participant. Records are keyed by
 * (subject, record id), as on chain.
 *
 * @example
 * ```ts
 * import { createLedgerContext, records } from "medledger";
 * const id = await records.put(ctx, { subject, content: "…", category: "NOTES", mediaType: "text/plain" });
 * const { content } = await records.get(ctx, { subject, recordId: id, purpose: "TREAT" });
 * ```
 */
export { put, putBatch, type PutParams, type PutBatchParams } from "./put.js";
export { get, type GetParams, type RecordContent } from "./get.js";
export { history, verify, erase, type RecordVersion, type VerifyResult } from "./history.js";
export { rekey, type RekeyParams, type RekeyResult } from "./rekey.js";
export { readAnchor, recordCommitment, accessedUnder, type AnchorState } from "./locate.js";
export { networkCustody, type RecordCustody } from "./custody.js";
