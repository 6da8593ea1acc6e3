/**
 * Where a record is: its anchor state on chain, its storage pointer, and — for a member of a
 * Merkle batch not yet proven — its proof, from the writer's journal or the batch manifests.
 *
 * Absence is only ever the contract's specific answer (`RecordUnknown`, `RecordUnknownBatch`):
 * an RPC failure or any other revert is rethrown, never read as "not there".
 *
 * Contract calls built here: RecordRegistry.getRecord, getBatch, proveRecord; event queries
 * RecordAnchored, RecordProven, BatchAnchored.
 *
 * @internal
 */
import { ContractRevertError } from "../chain/errors.js";
import { startBlock } from "../chain/addressBook.js";
import { decodeLog } from "../chain/events.js";
import type { LedgerContext } from "../context.js";
import { IntegrityError, NotFoundError } from "../errors.js";
import { asRecordId, ZERO_BYTES32 } from "../types.js";
import type { ConsentId, Hex, RecordId, SubjectId } from "../types.js";
import { fromUtf8 } from "../util.js";

/** A record's state on chain. */
export interface AnchorState {
  subject: SubjectId;
  digest: Hex;
  custodian: number;
  category: number;
  anchoredAt: number;
  erasedAt: number;
  superseded: boolean;
}

/** A batch member's proof and where its envelope is. */
export interface BatchMember {
  root: Hex;
  category: number;
  digest: Hex;
  proof: Hex[];
  pointer: string;
}

/** What the anchor event of a record says. */
export interface AnchoredEvent {
  pointer: string;
  previous: RecordId | null;
  blockNumber: number;
  consentId: ConsentId;
}

const isRevert = (err: unknown, name: string) => err instanceof ContractRevertError && err.errorName === name;

/** The record's anchor state; undefined only when the registry says RecordUnknown. */
export async function readAnchor(ctx: LedgerContext, id: RecordId): Promise<AnchorState | undefined> {
  try {
    const r = await ctx.chain.records.getRecord(id);
    return {
      subject: r.subject.toLowerCase() as SubjectId,
      digest: r.digest.toLowerCase() as Hex,
      custodian: Number(r.custodian),
      category: Number(r.category),
      anchoredAt: Number(r.anchoredAt),
      erasedAt: Number(r.erasedAt),
      superseded: r.superseded,
    };
  } catch (err) {
    if (isRevert(err, "RecordUnknown")) return undefined;
    throw err;
  }
}

/** Whether a batch root is anchored; false only when the registry says RecordUnknownBatch. */
export async function batchExists(ctx: LedgerContext, root: Hex): Promise<boolean> {
  try {
    await ctx.chain.records.getBatch(root);
    return true;
  } catch (err) {
    if (isRevert(err, "RecordUnknownBatch")) return false;
    throw err;
  }
}

async function events(ctx: LedgerContext, name: "RecordAnchored" | "RecordProven" | "BatchAnchored", args: unknown[]) {
  const records = ctx.chain.records;
  const logs = await ctx.chain.rpc.logs({
    address: ctx.chain.addressBook.contracts.RecordRegistry.address,
    topics: records.interface.encodeFilterTopics(name, args),
    fromBlock: startBlock(ctx.chain.addressBook),
  });
  return logs.map((log) => ({ log, parsed: decodeLog(log)! }));
}

/** The RecordAnchored event of a record (undefined for batch members and unknown ids). */
export async function anchoredEvent(ctx: LedgerContext, id: RecordId): Promise<AnchoredEvent | undefined> {
  const [event] = await events(ctx, "RecordAnchored", [id]);
  if (event === undefined) return undefined;
  const previous = event.parsed.args.previous as string;
  return {
    pointer: event.parsed.args.pointer as string,
    previous: previous === ZERO_BYTES32 ? null : asRecordId(previous),
    blockNumber: event.log.blockNumber,
    consentId: (event.parsed.args.consentId as string).toLowerCase() as ConsentId,
  };
}

/** The id of the version that superseded `id`, from the anchor events (null if none). */
export async function successorOf(ctx: LedgerContext, id: RecordId): Promise<RecordId | null> {
  const next = (await events(ctx, "RecordAnchored", [])).find(
    (e) => (e.parsed.args.previous as string).toLowerCase() === id,
  );
  return next === undefined ? null : asRecordId(next.parsed.args.recordId as string);
}

interface Manifest {
  root: Hex;
  records: { recordId: string; category: number; digest: Hex; pointer: string; proof: Hex[] }[];
}

/** A batch member's proof: from the journal, or from the batch manifests on chain. */
export async function findBatchMember(ctx: LedgerContext, id: RecordId): Promise<BatchMember | undefined> {
  const local = await ctx.journal.byRecord(id);
  if (local?.batch !== undefined)
    return { ...local.batch, category: local.category, digest: local.digest, pointer: local.pointer };
  // A proven member names its batch; otherwise every batch manifest is a candidate.
  const [proven] = await events(ctx, "RecordProven", [id]);
  const batches = await events(ctx, "BatchAnchored", [proven?.parsed.args.root ?? null]);
  for (const { parsed } of batches) {
    let manifest: Manifest;
    try {
      manifest = JSON.parse(fromUtf8(await ctx.storage.getBytes(parsed.args.pointer as string))) as Manifest;
    } catch (err) {
      // A manifest this store does not hold (another custodian's storage), or not a manifest: skip.
      if (err instanceof NotFoundError || err instanceof IntegrityError || err instanceof SyntaxError) continue;
      throw err;
    }
    const m = manifest.records?.find((r) => r.recordId.toLowerCase() === id);
    if (m !== undefined)
      return { root: manifest.root, category: m.category, digest: m.digest, proof: m.proof, pointer: m.pointer };
  }
  return undefined;
}

/** Proves a batch member on chain (gives it its own anchor state); already proven is fine. */
export async function proveMember(ctx: LedgerContext, id: RecordId, member: BatchMember): Promise<void> {
  try {
    await ctx.chain.send(
      ctx.chain.records.proveRecord.populateTransaction(member.root, id, member.category, member.digest, member.proof),
    );
  } catch (err) {
    // Proven meanwhile (another reader proves batch members on first access): fine.
    if (!isRevert(err, "RecordExists")) throw err;
  }
}

/** The record's anchor state; a batch member not yet proven is proven first. NotFoundError if unknown. */
export async function anchorStateOf(ctx: LedgerContext, id: RecordId): Promise<AnchorState> {
  const state = await readAnchor(ctx, id);
  if (state !== undefined) return state;
  const member = await findBatchMember(ctx, id);
  if (member === undefined) throw new NotFoundError(`Record ${id} is not anchored`);
  await proveMember(ctx, id, member);
  const proven = await readAnchor(ctx, id);
  if (proven === undefined) throw new NotFoundError(`Record ${id} is not anchored`);
  return proven;
}

/** Where the envelope is stored: the writer's journal, the anchor event, or the batch manifest. */
export async function pointerOf(ctx: LedgerContext, id: RecordId): Promise<string> {
  const local = await ctx.journal.byRecord(id);
  if (local !== undefined) return local.pointer;
  const anchored = await anchoredEvent(ctx, id);
  if (anchored !== undefined) return anchored.pointer;
  const member = await findBatchMember(ctx, id);
  if (member !== undefined) return member.pointer;
  throw new NotFoundError(`No storage pointer known for record ${id}`);
}
