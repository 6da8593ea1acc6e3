/**
 * Where a record is and what it commits to: its anchor state on chain (keyed by subject and
 * record id), its storage pointer, digest and label commitment (from the writer's journal, the
 * anchor event, or — for a Merkle batch member — the batch manifest, found with ONE log query on
 * the batch's tag), and the checks that tie them together.
 *
 * Constant-time record → batch lookup: a batch member's id is `tag (16 bytes) ‖ random (16
 * bytes)`, and `BatchAnchored` carries the tag as an indexed topic, so a reader without the
 * writer's journal finds the member's batch with one `eth_getLogs` on (subject, tag) and one
 * manifest fetch, however many batches the chain holds. The manifest is checked against the
 * chain (its root is the event's, the member's leaf verifies against it) before it is used.
 *
 * Absence is only ever the contract's specific answer (`RecordUnknown`, `RecordUnknownBatch`):
 * an RPC failure or any other revert is rethrown, never read as "not there".
 *
 * Contract calls built here: RecordRegistry.getRecord, getBatch, proveRecord; event queries
 * RecordAnchored, BatchAnchored.
 *
 * @internal
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, keccak256 } from "ethers";

import { ContractRevertError } from "../chain/errors.js";
import { startBlock } from "../chain/addressBook.js";
import { decodeLog } from "../chain/events.js";
import type { LedgerContext } from "../context.js";
import { ConflictError, IntegrityError, NotFoundError } from "../errors.js";
import { asRecordId, ZERO_BYTES32 } from "../types.js";
import type { ConsentId, Hex, RecordId, SubjectId } from "../types.js";
import { fromUtf8 } from "../util.js";

/** A record's state on chain (getRecord). */
export interface AnchorState {
  subject: SubjectId;
  /** keccak256(abi.encode(digest, labelCommitment)): what the registry stores. */
  commitment: Hex;
  custodian: number;
  category: number;
  anchoredAt: number;
  erasedAt: number;
  superseded: boolean;
}

/** A batch's state on chain (getBatch). */
export interface BatchState {
  tag: Hex;
  custodian: number;
  count: number;
  categories: number;
  anchoredAt: number;
}

/** A batch member's leaf, proof and where its envelope is. */
export interface BatchMember {
  root: Hex;
  category: number;
  digest: Hex;
  labelCommitment: Hex;
  proof: Hex[];
  pointer: string;
}

/** What the anchor event of a single record says. */
export interface AnchoredEvent {
  pointer: string;
  digest: Hex;
  labelCommitment: Hex;
  previous: RecordId | null;
  blockNumber: number;
  consentId: ConsentId;
}

/** A located record: its state on chain and the off-chain facts checked against it. */
export interface Located {
  state: AnchorState;
  pointer: string;
  /** sha256 of the envelope (anchored through the commitment). */
  digest: Hex;
  labelCommitment: Hex;
  previous: RecordId | null;
}

/** The StandardMerkleTree leaf types of a batch (IRecordRegistry.BatchAnchored). */
export const BATCH_LEAF_TYPES = ["bytes32", "bytes32", "uint8", "bytes32", "bytes32"];
/** The batch manifest format written by records.putBatch. */
export const BATCH_MANIFEST_FORMAT = "medledger-batch/2";

/** A batch manifest (stored next to the envelopes; the chain holds only its pointer). */
export interface BatchManifest {
  format: typeof BATCH_MANIFEST_FORMAT;
  subject: SubjectId;
  root: Hex;
  tag: Hex;
  records: {
    recordId: RecordId;
    category: number;
    digest: Hex;
    labelCommitment: Hex;
    pointer: string;
    proof: Hex[];
  }[];
}

const coder = AbiCoder.defaultAbiCoder();
const isRevert = (err: unknown, name: string) => err instanceof ContractRevertError && err.errorName === name;
const lower = <T extends string>(v: string) => v.toLowerCase() as T;

/** What the registry stores for a record: keccak256(abi.encode(digest, labelCommitment)). */
export function recordCommitment(digest: string, labelCommitment: string): Hex {
  return keccak256(coder.encode(["bytes32", "bytes32"], [digest, labelCommitment])) as Hex;
}

/** The 16-byte tag a batch member's id starts with (0x + 32 hex digits). */
export const tagOf = (recordId: string): Hex => recordId.slice(0, 34).toLowerCase() as Hex;

/** The record's anchor state; undefined only when the registry says RecordUnknown. */
export async function readAnchor(
  ctx: LedgerContext,
  subject: SubjectId,
  id: RecordId,
): Promise<AnchorState | undefined> {
  try {
    const r = await ctx.chain.records.getRecord(subject, id);
    return {
      subject,
      commitment: lower(r.commitment),
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

/** A batch's state; undefined only when the registry says RecordUnknownBatch. */
export async function readBatch(ctx: LedgerContext, subject: SubjectId, root: Hex): Promise<BatchState | undefined> {
  try {
    const b = await ctx.chain.records.getBatch(subject, root);
    return {
      tag: lower(b.tag),
      custodian: Number(b.custodian),
      count: Number(b.count),
      categories: Number(b.categories),
      anchoredAt: Number(b.anchoredAt),
    };
  } catch (err) {
    if (isRevert(err, "RecordUnknownBatch")) return undefined;
    throw err;
  }
}

async function events(
  ctx: LedgerContext,
  name: "RecordAnchored" | "BatchAnchored" | "RecordAccessed",
  args: unknown[],
) {
  const logs = await ctx.chain.rpc.logs({
    address: ctx.chain.addressBook.contracts.RecordRegistry.address,
    topics: ctx.chain.records.interface.encodeFilterTopics(name, args),
    fromBlock: startBlock(ctx.chain.addressBook),
  });
  return logs.map((log) => ({ log, parsed: decodeLog(log)! }));
}

/** The RecordAnchored event of a record (undefined for batch members and unknown ids). */
export async function anchoredEvent(
  ctx: LedgerContext,
  subject: SubjectId,
  id: RecordId,
): Promise<AnchoredEvent | undefined> {
  const [event] = await events(ctx, "RecordAnchored", [subject, id]);
  if (event === undefined) return undefined;
  const a = event.parsed.args;
  const previous = a.previous as string;
  return {
    pointer: a.pointer as string,
    digest: lower(a.digest as string),
    labelCommitment: lower(a.labelCommitment as string),
    previous: previous === ZERO_BYTES32 ? null : asRecordId(previous),
    blockNumber: event.log.blockNumber,
    consentId: lower(a.consentId as string),
  };
}

/** The id of the version of `subject` that superseded `id`, from the anchor events (null if none). */
export async function successorOf(ctx: LedgerContext, subject: SubjectId, id: RecordId): Promise<RecordId | null> {
  const next = (await events(ctx, "RecordAnchored", [subject])).find(
    (e) => (e.parsed.args.previous as string).toLowerCase() === id,
  );
  return next === undefined ? null : asRecordId(next.parsed.args.recordId as string);
}

/**
 * The records of `subject` whose access the chain logged under `consentId` (RecordAccessed with
 * that basis id), each once, in the order of their first access.
 */
export async function accessedUnder(ctx: LedgerContext, subject: SubjectId, consentId: string): Promise<RecordId[]> {
  const wanted = consentId.toLowerCase();
  const ids = new Set<RecordId>();
  for (const e of await events(ctx, "RecordAccessed", [subject]))
    if ((e.parsed.args.basisId as string).toLowerCase() === wanted)
      ids.add(asRecordId(e.parsed.args.recordId as string));
  return [...ids];
}

/** Reads a manifest; undefined when this store does not hold it or it is not a manifest. */
async function readManifest(ctx: LedgerContext, pointer: string): Promise<BatchManifest | undefined> {
  try {
    const m = JSON.parse(fromUtf8(await ctx.storage.getBytes(pointer))) as BatchManifest;
    return m?.format === BATCH_MANIFEST_FORMAT && Array.isArray(m.records) ? m : undefined;
  } catch (err) {
    // Another custodian's storage, or not a manifest: not this member's.
    if (err instanceof NotFoundError || err instanceof IntegrityError || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Whether `leaf` is in the tree of `root` (malformed values: not a member). */
function verifies(root: Hex, leaf: unknown[], proof: unknown): boolean {
  try {
    return StandardMerkleTree.verify(root, BATCH_LEAF_TYPES, leaf, proof as Hex[]);
  } catch {
    return false;
  }
}

/**
 * A batch member's leaf and proof: from the writer's journal, or from its batch's manifest, found
 * by ONE log query on (subject, tag). The manifest's entry counts only if its leaf verifies
 * against the root the chain anchored for this subject.
 */
export async function findBatchMember(
  ctx: LedgerContext,
  subject: SubjectId,
  id: RecordId,
): Promise<BatchMember | undefined> {
  const local = await ctx.journal.byRecord(id);
  if (local?.batch !== undefined && local.stage === "anchored" && local.subject === subject)
    return {
      root: local.batch.root,
      proof: local.batch.proof,
      category: local.category,
      digest: local.digest,
      labelCommitment: local.labelCommitment,
      pointer: local.pointer,
    };
  for (const { parsed } of await events(ctx, "BatchAnchored", [subject, null, tagOf(id)])) {
    const root = lower<Hex>(parsed.args.root as string);
    const manifest = await readManifest(ctx, parsed.args.pointer as string);
    const m = manifest?.records.find((r) => r.recordId?.toLowerCase() === id);
    if (m === undefined) continue;
    if (verifies(root, [subject, id, m.category, m.digest, m.labelCommitment], m.proof))
      return {
        root,
        category: m.category,
        digest: lower(m.digest),
        labelCommitment: lower(m.labelCommitment),
        proof: m.proof,
        pointer: m.pointer,
      };
  }
  return undefined;
}

/** Proves a batch member on chain (gives it its own anchor state); already proven is fine. */
export async function proveMember(
  ctx: LedgerContext,
  subject: SubjectId,
  id: RecordId,
  member: BatchMember,
): Promise<void> {
  try {
    await ctx.chain.send(
      ctx.chain.records.proveRecord.populateTransaction(
        subject,
        member.root,
        id,
        member.category,
        member.digest,
        member.labelCommitment,
        member.proof,
      ),
    );
  } catch (err) {
    // Proven meanwhile (another reader proves batch members on first access): the caller
    // checks the stored commitment against the member's.
    if (!isRevert(err, "RecordExists")) throw err;
  }
}

/**
 * Checks that the facts found off chain (digest, label commitment) are what the chain anchored;
 * IntegrityError otherwise.
 */
function checkCommitment(state: AnchorState, id: RecordId, digest: Hex, labelCommitment: Hex): void {
  if (recordCommitment(digest, labelCommitment) !== state.commitment)
    throw new IntegrityError("The record's digest and label commitment do not match its anchor", {
      details: `record ${id} of ${state.subject}: anchored ${state.commitment}, found digest ${digest}, label commitment ${labelCommitment}`,
    });
}

/**
 * Finds a record (see the module comment): its anchor state and its pointer, digest and label
 * commitment, checked against the anchor. A batch member not yet proven is proven first.
 * NotFoundError if the subject has no such record.
 */
export async function locate(ctx: LedgerContext, subject: SubjectId, id: RecordId): Promise<Located> {
  const local = await ctx.journal.byRecord(id);
  const mine = local !== undefined && local.subject === subject ? local : undefined;
  // The anchor state and the anchor event are read at the same time (both are reads).
  const [state, event] = await Promise.all([
    readAnchor(ctx, subject, id),
    mine !== undefined ? undefined : anchoredEvent(ctx, subject, id),
  ]);
  let found: Omit<Located, "state"> | undefined =
    mine !== undefined
      ? { pointer: mine.pointer, digest: mine.digest, labelCommitment: mine.labelCommitment, previous: mine.previous }
      : event;
  let anchored = state;
  if (found === undefined || (anchored === undefined && mine?.batch !== undefined && mine.stage === "anchored")) {
    const member = await findBatchMember(ctx, subject, id);
    if (member === undefined) throw new NotFoundError(`Record ${id} of subject ${subject} is not anchored`);
    found = { pointer: member.pointer, digest: member.digest, labelCommitment: member.labelCommitment, previous: null };
    if (anchored === undefined) {
      await proveMember(ctx, subject, id, member);
      anchored = await readAnchor(ctx, subject, id);
    }
  }
  if (anchored === undefined) throw new NotFoundError(`Record ${id} of subject ${subject} is not anchored`);
  checkCommitment(anchored, id, found.digest, found.labelCommitment);
  return { state: anchored, ...found };
}

/**
 * Whether an existing anchor of `id` is this writer's own record (same commitment, category and,
 * when given, previous version): true to adopt it; ConflictError when the id is taken by
 * something else (another writer anchored it first with other content).
 */
export function adoptAnchor(
  state: AnchorState,
  id: RecordId,
  mine: { digest: Hex; labelCommitment: Hex; category: number },
): true {
  const expected = recordCommitment(mine.digest, mine.labelCommitment);
  if (state.commitment !== expected || state.category !== mine.category)
    throw new ConflictError(
      "record",
      id,
      `Record id ${id} of subject ${state.subject} is anchored with other content`,
      {
        details: `on chain: commitment ${state.commitment}, category ${state.category}; this write: commitment ${expected}, category ${mine.category}`,
      },
    );
  return true;
}
