/**
 * The access log of a subject, from RecordAccessed events (one log query on the indexed subject):
 * who read what, when, why, and on what basis (consent, emergency session, the subject themself).
 *
 * Event queries built here: RecordAccessed.
 *
 * @example
 * ```ts
 * import { audit } from "medledger";
 * for (const e of await audit.accessHistory(ctx, { subject })) console.log(e.accessor, e.purpose, e.basis);
 * ```
 */
import { startBlock } from "../chain/addressBook.js";
import { decodeLog } from "../chain/events.js";
import type { AccessBasisName, PurposeName } from "../codes.js";
import { accessBasisName, purposeName } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { asRecordId, asSubjectId } from "../types.js";
import type { Hex, RecordId, SubjectId } from "../types.js";
import { object } from "../validate.js";

export interface AccessLogEntry {
  recordId: RecordId;
  subject: SubjectId;
  accessor: string;
  purpose: PurposeName | `PURPOSE_${number}`;
  basis: AccessBasisName;
  /** The consent id (CONSENT), the break-glass session id (EMERGENCY) or zero (SUBJECT). */
  basisId: Hex;
  blockNumber: number;
  /** Unix seconds of the block. */
  timestamp: number;
  transactionHash: string;
}

/** Every logged access to a subject's records, oldest first. */
export async function accessHistory(ctx: LedgerContext, p: { subject: SubjectId }): Promise<AccessLogEntry[]> {
  const subject = asSubjectId(object(p, "params").subject as string);
  const records = ctx.chain.records;
  const logs = await ctx.chain.rpc.logs({
    address: ctx.chain.addressBook.contracts.RecordRegistry.address,
    topics: records.interface.encodeFilterTopics("RecordAccessed", [subject]),
    fromBlock: startBlock(ctx.chain.addressBook),
  });
  const times = new Map<number, number>();
  const out: AccessLogEntry[] = [];
  for (const log of logs) {
    let timestamp = times.get(log.blockNumber);
    if (timestamp === undefined) {
      timestamp = await ctx.chain.rpc.blockTimestamp(log.blockNumber);
      times.set(log.blockNumber, timestamp);
    }
    const { args } = decodeLog(log)!;
    out.push({
      recordId: asRecordId(args.recordId as string),
      subject: asSubjectId(args.subject as string),
      accessor: args.accessor as string,
      purpose: purposeName(args.purpose as bigint),
      basis: accessBasisName(args.basis as bigint),
      basisId: args.basisId as Hex,
      blockNumber: log.blockNumber,
      timestamp,
      transactionHash: log.transactionHash,
    });
  }
  return out;
}
