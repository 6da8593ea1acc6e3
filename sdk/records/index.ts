/**
 * Record actions over a {@link LedgerContext}: `put`, `putBatch`, `get`, `history`, `verify`,
 * `erase`. `MedLedger.records` is the same, bound to one participant.
 *
 * @example
 * ```ts
 * import { createLedgerContext, records } from "medledger";
 * const id = await records.put(ctx, { subject, content: "…", category: "NOTES", mediaType: "text/plain" });
 * const { content } = await records.get(ctx, { recordId: id, purpose: "TREAT" });
 * ```
 */
export { put, putBatch, type PutParams, type PutBatchParams } from "./put.js";
export { get, type GetParams, type RecordContent } from "./get.js";
export { history, verify, erase, type RecordVersion, type VerifyResult } from "./history.js";
export { readAnchor, type AnchorState } from "./locate.js";
