/**
 * Writing records: `put` (one version) and `putBatch` (many first versions under one Merkle root).
 *
 * A put, in order:
 * 1. checks every argument (nothing happens on a bad one);
 * 2. looks up the journal: a retry of an earlier attempt resumes it (idempotent, crash-safe);
 * 3. reads who the key is wrapped for (the subject's and the custodian organization's registered
 *    X25519 keys) and, at the same time, estimates the anchor with a placeholder digest and
 *    pointer: a writer the contract would refuse is refused HERE, before anything is stored;
 * 4. seals the content, stores the envelope, wraps the data key, hands the slots to the custodian's
 *    keyholder and writes the journal entry ("stored");
 * 5. anchors with the estimate of step 3 (derived: same call, same gas but for the digest bytes
 *    and the pointer, covered by the headroom; re-estimated when the real pointer is longer), and
 *    marks the entry "anchored".
 * JSON-RPC calls of a fresh put: getPatient, accessorStatus, getOrganization, one gas estimate,
 * eth_sendRawTransaction, the receipt: 6 (the first transaction of a process also reads the nonce).
 *
 * Contract calls built here: RecordRegistry.anchorRecord, anchorBatch; reads
 * ParticipantDirectory.getPatient, accessorStatus, getOrganization.
 *
 * @internal
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { ContractTransaction } from "ethers";

import { AccessDeniedError, ContractRevertError } from "../chain/errors.js";
import type { CategoryName } from "../codes.js";
import { categoryCode, categoryName } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { envelopeContext, keyholderOf } from "../context.js";
import { generateDataKey, sealBytes, wrapDataKey } from "../crypto/index.js";
import { asRecordId, asSubjectId, newRecordId, randomBytes32, ZERO_BYTES32 } from "../types.js";
import type { ConsentId, Hex, RecordId, SubjectId } from "../types.js";
import { mapLimit, parseHex, sha256Hex, toHex, utf8 } from "../util.js";
import { array, content as checkContent, mediaType as checkMediaType, object, optionalString } from "../validate.js";
import { idempotencyKey } from "./journal.js";
import type { JournalEntry } from "./journal.js";
import { batchExists, readAnchor } from "./locate.js";
import { frame } from "./payload.js";

export interface PutParams {
  subject: SubjectId;
  content: Uint8Array | string;
  category: CategoryName;
  mediaType: string;
  /** The version this one supersedes. */
  previous?: RecordId;
  /** Identifies the write across retries; default: a keyed hash of subject, category, media type, previous and content. */
  idempotencyKey?: string;
}

export interface PutBatchParams {
  subject: SubjectId;
  items: readonly {
    content: Uint8Array | string;
    category: CategoryName;
    mediaType: string;
    idempotencyKey?: string;
  }[];
}

/** A checked put. */
interface Checked {
  subject: SubjectId;
  bytes: Uint8Array;
  category: number;
  mediaType: string;
  previous: RecordId | null;
  key: string;
}

/** Who a new record's key is wrapped for: the subject, and the writer's organization (custodian). */
interface Recipients {
  subjectKey: Uint8Array;
  subjectKeyVersion: number;
  custodian: number;
  custodianKey?: Uint8Array;
  custodianKeyVersion: number;
}

/** How many records a batch seals and stores at once. */
const PREPARE_CONCURRENCY = 32;
/** The estimate's stand-in pointer: storage addresses up to this length cost no more gas. */
const PLACEHOLDER_POINTER = "x".repeat(96);
/** The estimate's stand-in digest (non-zero bytes: the most expensive calldata). */
const PLACEHOLDER_DIGEST = `0x${"ff".repeat(32)}`;
const ACTIVE = 0n;

function check(ctx: LedgerContext, p: PutParams, field = "params"): Checked {
  object(p, field);
  const subject = asSubjectId(p.subject, `${field}.subject`);
  const bytes = checkContent(p.content, `${field}.content`);
  const category = categoryCode(p.category, `${field}.category`);
  const mediaType = checkMediaType(p.mediaType, `${field}.mediaType`);
  const previous = p.previous === undefined ? null : asRecordId(p.previous, `${field}.previous`);
  const key =
    optionalString(p.idempotencyKey, `${field}.idempotencyKey`) ??
    idempotencyKey(ctx.journal.secret, [subject, categoryName(category), mediaType, previous ?? "", sha256(bytes)]);
  return { subject, bytes, category, mediaType, previous, key };
}

const hintKey = (subject: SubjectId, category: number) => `${subject}/${category}/append`;

/**
 * Reads the registered keys of the subject and of the writer's organization. The organization's
 * key is read at the same time as the writer's status, for the organization the writer belonged
 * to last time (one round trip); only when the status names another one is it read again.
 */
async function recipientsOf(ctx: LedgerContext, subject: SubjectId): Promise<Recipients> {
  const d = ctx.chain.directory;
  const lastOrg = ctx.state.lastOrg;
  const [patient, [status, orgId], guess] = await Promise.all([
    d.getPatient(subject),
    d.accessorStatus(ctx.chain.account),
    lastOrg === undefined ? undefined : d.getOrganization(lastOrg),
  ]);
  const custodian = status === ACTIVE ? Number(orgId) : 0;
  const base = {
    subjectKey: parseHex(patient.encryptionKey)!,
    subjectKeyVersion: Number(patient.keyVersion),
    custodian,
  };
  if (custodian === 0) return { ...base, custodianKeyVersion: 0 };
  ctx.state.lastOrg = custodian;
  const org = guess !== undefined && lastOrg === custodian ? guess : await d.getOrganization(custodian);
  return { ...base, custodianKey: parseHex(org.encryptionKey)!, custodianKeyVersion: Number(org.keyVersion) };
}

/**
 * Estimates an anchor built by `build(hint)`: with the consent this writer used last for the
 * subject and category, or, when that one no longer covers it, with none (the contract searches).
 */
async function estimateAnchor(
  ctx: LedgerContext,
  hintName: string,
  build: (hint: string) => Promise<ContractTransaction>,
): Promise<{ gas: bigint; hint: string }> {
  const cached = ctx.state.hints.get(hintName);
  if (cached !== undefined) {
    try {
      return { gas: await ctx.chain.estimate(build(cached)), hint: cached };
    } catch (err) {
      if (!(err instanceof AccessDeniedError)) throw err;
      ctx.state.hints.delete(hintName);
    }
  }
  return { gas: await ctx.chain.estimate(build(ZERO_BYTES32)), hint: ZERO_BYTES32 };
}

function anchorRecordCall(ctx: LedgerContext, e: JournalEntry, digest: string, pointer: string, hint: string) {
  return ctx.chain.records.anchorRecord.populateTransaction(
    e.recordId,
    e.subject,
    e.category,
    digest,
    e.previous ?? ZERO_BYTES32,
    pointer,
    hint,
  );
}

function anchorBatchCall(
  ctx: LedgerContext,
  subject: SubjectId,
  b: { root: string; count: number; categories: number; pointer: string },
  hint: string,
) {
  return ctx.chain.records.anchorBatch.populateTransaction(subject, b.root, b.count, b.categories, b.pointer, hint);
}

/** Seals, stores, wraps the data key and records the journal entry ("stored"). */
async function prepare(ctx: LedgerContext, p: Checked, r: Recipients, recordId: RecordId): Promise<JournalEntry> {
  const context = envelopeContext(ctx, recordId, p.subject);
  const dataKey = generateDataKey();
  try {
    const envelope = await sealBytes(frame(p.mediaType, p.bytes), {
      key: dataKey,
      context,
      backend: ctx.backend,
      chunkSize: ctx.chunkSize,
    });
    const digest = sha256Hex(envelope);
    const pointer = await ctx.storage.put(envelope);
    const wrap = (recipientPublicKey: Uint8Array, recipientKeyVersion: number) =>
      toHex(wrapDataKey({ dataKey, recipientPublicKey, recipientKeyVersion, context }));
    await keyholderOf(ctx, r.custodian).storeSlots(recordId, {
      subject: wrap(r.subjectKey, r.subjectKeyVersion),
      custodian: r.custodianKey === undefined ? undefined : wrap(r.custodianKey, r.custodianKeyVersion),
    });
    const entry: JournalEntry = {
      recordId,
      subject: p.subject,
      category: p.category,
      mediaType: p.mediaType,
      previous: p.previous,
      pointer,
      digest,
      custodian: r.custodian,
      stage: "stored",
    };
    // From here on a retry resumes this entry: the content is stored before anything is anchored.
    await ctx.journal.put(p.key, entry);
    return entry;
  } finally {
    dataKey.fill(0);
  }
}

/** Anchors a stored entry (unless it already is) and marks it anchored. */
async function anchor(ctx: LedgerContext, entry: JournalEntry, key: string, known?: { gas: bigint; hint: string }) {
  const name = hintKey(entry.subject, entry.category);
  try {
    let gas = known?.gas;
    let hint = known?.hint ?? ZERO_BYTES32;
    if (gas === undefined || entry.pointer.length > PLACEHOLDER_POINTER.length) {
      ({ gas, hint } = await estimateAnchor(ctx, name, (h) =>
        anchorRecordCall(ctx, entry, entry.digest, entry.pointer, h),
      ));
    }
    const sent = await ctx.chain.send(anchorRecordCall(ctx, entry, entry.digest, entry.pointer, hint), { gas });
    const event = sent.events.find((e) => e.name === "RecordAnchored");
    const consentId = (event?.args.consentId as string | undefined)?.toLowerCase();
    if (consentId !== undefined && consentId !== ZERO_BYTES32) ctx.state.hints.set(name, consentId as ConsentId);
  } catch (err) {
    // A transaction from an earlier attempt was mined meanwhile: the record is anchored once.
    if (!(err instanceof ContractRevertError && err.errorName === "RecordExists")) throw err;
  }
  entry.stage = "anchored";
  await ctx.journal.put(key, entry);
}

async function attempt(ctx: LedgerContext, p: Checked): Promise<RecordId> {
  const existing = await ctx.journal.get(p.key);
  if (existing !== undefined) {
    if (existing.stage !== "anchored") {
      // An earlier attempt stored it; it may have been anchored since (a transaction in flight).
      if ((await readAnchor(ctx, existing.recordId)) === undefined) await anchor(ctx, existing, p.key);
      else {
        existing.stage = "anchored";
        await ctx.journal.put(p.key, existing);
      }
    }
    return existing.recordId;
  }
  const recordId = newRecordId();
  const draft: JournalEntry = {
    recordId,
    subject: p.subject,
    category: p.category,
    mediaType: p.mediaType,
    previous: p.previous,
    pointer: PLACEHOLDER_POINTER,
    digest: PLACEHOLDER_DIGEST as Hex,
    custodian: 0,
    stage: "stored",
  };
  const [recipients, estimate] = await Promise.all([
    recipientsOf(ctx, p.subject),
    estimateAnchor(ctx, hintKey(p.subject, p.category), (h) =>
      anchorRecordCall(ctx, draft, PLACEHOLDER_DIGEST, PLACEHOLDER_POINTER, h),
    ),
  ]);
  const entry = await prepare(ctx, p, recipients, recordId);
  await anchor(ctx, entry, p.key, estimate);
  return recordId;
}

/**
 * Seals `content`, stores the envelope, hands the key slots to the custodian's keyholder and
 * anchors the record; returns its id. Idempotent and crash-safe: a retry with the same arguments
 * (or the same `idempotencyKey`) completes the same record and never anchors twice.
 *
 * @example
 * ```ts
 * import { records } from "medledger";
 * const id = await records.put(ctx, { subject, content: json, category: "OBSERVATIONS", mediaType: "application/fhir+json" });
 * ```
 */
export async function put(ctx: LedgerContext, params: PutParams): Promise<RecordId> {
  const p = check(ctx, params);
  // The same write issued twice at once joins the first attempt instead of racing it.
  const running = ctx.state.inFlight.get(p.key);
  if (running !== undefined) return running;
  const pending = attempt(ctx, p);
  ctx.state.inFlight.set(p.key, pending);
  try {
    return await pending;
  } finally {
    ctx.state.inFlight.delete(p.key);
  }
}

/**
 * Stores many first versions of one subject's records and anchors them with ONE Merkle root (a
 * manifest with every member's proof is stored too). Each member is later provable and readable.
 * Idempotent like {@link put}.
 */
export async function putBatch(ctx: LedgerContext, params: PutBatchParams): Promise<RecordId[]> {
  object(params, "params");
  const subject = asSubjectId(params.subject, "subject");
  const checked = array(params.items, "items").map((item, i) =>
    check(ctx, { ...(object(item, `items[${i}]`) as Omit<PutParams, "subject">), subject }, `items[${i}]`),
  );
  if (checked.length === 0) return [];
  const categories = checked.reduce((m, p) => m | (1 << p.category), 0) >>> 0;
  const name = hintKey(subject, checked[0]!.category);
  const batchCall = (b: { root: string; count: number; pointer: string }, hint: string) =>
    anchorBatchCall(ctx, subject, { ...b, categories }, hint);

  const existing = await Promise.all(checked.map((p) => ctx.journal.get(p.key)));
  let estimate: { gas: bigint; hint: string } | undefined;
  let recipients: Recipients | undefined;
  if (existing.some((e) => e === undefined)) {
    // Refused before anything is stored, like put.
    [recipients, estimate] = await Promise.all([
      recipientsOf(ctx, subject),
      estimateAnchor(ctx, name, (h) =>
        batchCall({ root: randomBytes32(), count: checked.length, pointer: PLACEHOLDER_POINTER }, h),
      ),
    ]);
  }
  const prepared = await mapLimit([...checked.keys()], PREPARE_CONCURRENCY, async (i) => {
    const p = checked[i]!;
    const entry = existing[i] ?? (await prepare(ctx, p, recipients!, newRecordId()));
    return { entry, key: p.key };
  });
  const pending = prepared.filter((p) => p.entry.stage !== "anchored");
  if (pending.length > 0) {
    const tree = StandardMerkleTree.of(
      pending.map((p): [string, number, string] => [p.entry.recordId, p.entry.category, p.entry.digest]),
      ["bytes32", "uint8", "bytes32"],
    );
    const root = tree.root as Hex;
    const manifest = utf8(
      JSON.stringify({
        format: "medledger-batch/1",
        root,
        subject,
        records: pending.map((p, i) => ({
          recordId: p.entry.recordId,
          category: p.entry.category,
          digest: p.entry.digest,
          pointer: p.entry.pointer,
          proof: tree.getProof(i),
        })),
      }),
    );
    const pointer = await ctx.storage.put(manifest);
    if (!(await batchExists(ctx, root))) {
      const b = { root, count: pending.length, pointer };
      if (estimate === undefined || pending.length !== checked.length || pointer.length > PLACEHOLDER_POINTER.length)
        estimate = await estimateAnchor(ctx, name, (h) => batchCall(b, h));
      await ctx.chain.send(batchCall(b, estimate.hint), { gas: estimate.gas });
    }
    for (const [i, p] of pending.entries()) {
      p.entry.batch = { root, proof: tree.getProof(i) as Hex[] };
      p.entry.stage = "anchored";
      await ctx.journal.put(p.key, p.entry);
    }
  }
  return prepared.map((p) => p.entry.recordId);
}
