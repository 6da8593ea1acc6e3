/**
 * Writing records: `put` (one version) and `putBatch` (many first versions under one Merkle root).
 *
 * A put, in order:
 * 1. checks every argument (nothing happens on a bad one);
 * 2. looks up the journal: a retry of an earlier attempt resumes it (idempotent, crash-safe);
 * 3. draws the record id, seals the record's labels (a salted label commitment, empty mask
 *    included) and estimates the anchor with a placeholder digest and pointer: a writer the
 *    contract would refuse is refused HERE, before anything is stored;
 * 4. seals the content, stores the envelope, deposits the data key with the key custody
 *    (records/custody.ts) and writes the journal entry ("stored", with the label opening);
 * 5. anchors with the estimate of step 3 (derived: same call, same gas but for the digest bytes
 *    and the pointer, covered by the headroom; re-estimated when the real pointer is longer), and
 *    marks the entry "anchored".
 *
 * Identity: a record id is taken for its subject once anchored. An existing anchor (a retry whose
 * earlier transaction was mined, or `RecordExists`) is adopted only when it commits to this
 * write's digest and label commitment in the same category; anything else is a ConflictError.
 * Likewise a batch root of the subject is adopted only with the same tag and size (the root commits
 * to every member leaf, subject included).
 *
 * Batches: every member's id is `tag (16 bytes) ‖ random (16 bytes)` with the batch's random tag,
 * which `BatchAnchored` indexes, so a reader finds a member's batch with one log query.
 *
 * The anchor's custodian organization (the writer's organization when a practitioner anchors, 0
 * when the subject or an ACCESS guardian does) is the contract's own append decision
 * (ConsentRegistry.check), read in parallel with the gas estimate; the key custody gets it with
 * the data key (the keyholder network seals the label opening to that custodian's keyholder).
 *
 * JSON-RPC calls of a fresh put: one gas estimate and the custodian check (in parallel), the
 * custody's reads (keyholder network: the keyholder set, cached; in-process keyholders: getPatient
 * and getOrganization in parallel), eth_sendRawTransaction, the receipt (the first transaction of
 * a process also reads the nonce).
 *
 * Contract calls built here: RecordRegistry.anchorRecord, anchorBatch.
 *
 * @internal
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { ContractTransaction } from "ethers";

import { AccessDeniedError, ContractRevertError } from "../chain/errors.js";
import type { CategoryName, LabelName } from "../codes.js";
import { Action, categoryCode, categoryName, labelMask } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { envelopeContext } from "../context.js";
import { generateDataKey, sealBytes } from "../crypto/index.js";
import { ConflictError, InvalidInputError } from "../errors.js";
import { labelCommitment, sealLabels } from "../sealed/commitments.js";
import { asRecordId, asSubjectId, newRecordId, ZERO_BYTES32 } from "../types.js";
import type { ConsentId, Hex, RecordId, SubjectId } from "../types.js";
import { mapLimit, randomBytes, sha256Hex, toPlainHex, utf8 } from "../util.js";
import { array, content as checkContent, mediaType as checkMediaType, object, optionalString } from "../validate.js";
import { idempotencyKey } from "./journal.js";
import type { JournalEntry } from "./journal.js";
import { adoptAnchor, BATCH_LEAF_TYPES, BATCH_MANIFEST_FORMAT, readAnchor, readBatch, tagOf } from "./locate.js";
import type { BatchManifest } from "./locate.js";
import { frame } from "./payload.js";

export interface PutParams {
  subject: SubjectId;
  content: Uint8Array | string;
  /** The public clinical category (what a chain observer sees). */
  category: CategoryName;
  /** The sensitive labels (sealed: only a salted commitment goes on chain). Default: none. */
  labels?: readonly LabelName[];
  mediaType: string;
  /** The version this one supersedes (same subject, same category). */
  previous?: RecordId;
  /** Identifies the write across retries; default: a keyed hash of subject, category, labels, media type, previous and content. */
  idempotencyKey?: string;
}

export interface PutBatchParams {
  subject: SubjectId;
  items: readonly {
    content: Uint8Array | string;
    category: CategoryName;
    labels?: readonly LabelName[];
    mediaType: string;
    idempotencyKey?: string;
  }[];
}

/** A checked put. */
interface Checked {
  subject: SubjectId;
  bytes: Uint8Array;
  category: number;
  labels: number;
  mediaType: string;
  previous: RecordId | null;
  key: string;
}

/** How many records a batch seals and stores at once. */
const PREPARE_CONCURRENCY = 32;
/** The estimate's stand-in pointer: storage addresses up to this length cost no more gas. */
const PLACEHOLDER_POINTER = "x".repeat(96);
/** The estimate's stand-in digest and root (non-zero bytes: the most expensive calldata). */
const PLACEHOLDER_DIGEST: Hex = `0x${"ff".repeat(32)}`;

function check(ctx: LedgerContext, p: PutParams, field = "params"): Checked {
  object(p, field);
  const subject = asSubjectId(p.subject, `${field}.subject`);
  const bytes = checkContent(p.content, `${field}.content`);
  const category = categoryCode(p.category, `${field}.category`);
  const labels = labelMask(p.labels ?? [], `${field}.labels`);
  const mediaType = checkMediaType(p.mediaType, `${field}.mediaType`);
  const previous = p.previous === undefined ? null : asRecordId(p.previous, `${field}.previous`);
  const key =
    optionalString(p.idempotencyKey, `${field}.idempotencyKey`) ??
    idempotencyKey(ctx.journal.secret, [
      subject,
      categoryName(category),
      String(labels),
      mediaType,
      previous ?? "",
      sha256(bytes),
    ]);
  return { subject, bytes, category, labels, mediaType, previous, key };
}

const hintKey = (subject: SubjectId, category: number) => `${subject}/${category}/append`;

/** A new batch tag: 16 random bytes (0x + 32 hex digits). */
const newTag = (): Hex => `0x${toPlainHex(randomBytes(16))}`;
/** A new member id of the batch with `tag`: the tag, then 16 random bytes. */
const memberId = (tag: Hex): RecordId => `${tag}${toPlainHex(randomBytes(16))}` as RecordId;

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

type AnchorFields = Pick<JournalEntry, "subject" | "recordId" | "category" | "labelCommitment" | "previous">;

function anchorRecordCall(ctx: LedgerContext, e: AnchorFields, digest: string, pointer: string, hint: string) {
  return ctx.chain.records.anchorRecord.populateTransaction(
    e.subject,
    e.recordId,
    e.category,
    digest,
    e.labelCommitment,
    e.previous ?? ZERO_BYTES32,
    pointer,
    hint,
  );
}

interface BatchFields {
  root: string;
  tag: Hex;
  count: number;
  categories: number;
  pointer: string;
}

function anchorBatchCall(ctx: LedgerContext, subject: SubjectId, b: BatchFields, hint: string) {
  return ctx.chain.records.anchorBatch.populateTransaction(
    subject,
    b.root,
    b.tag,
    b.count,
    b.categories,
    b.pointer,
    hint,
  );
}

/**
 * Seals, stores, deposits the data key with the custody and records the journal entry
 * ("stored", with the opening of the label commitment).
 */
async function prepare(ctx: LedgerContext, p: Checked, recordId: RecordId, custodian: number): Promise<JournalEntry> {
  const labels = sealLabels({ subject: p.subject, recordId, labels: p.labels });
  const context = envelopeContext(ctx, recordId, p.subject);
  const dataKey = generateDataKey();
  try {
    const envelope = await sealBytes(frame(p.mediaType, p.bytes, labels), {
      key: dataKey,
      context,
      backend: ctx.backend,
      chunkSize: ctx.chunkSize,
    });
    const digest = sha256Hex(envelope);
    const pointer = await ctx.storage.put(envelope);
    await ctx.custody.deposit({ writer: ctx.chain.signer, subject: p.subject, recordId, dataKey, labels, custodian });
    const entry: JournalEntry = {
      recordId,
      subject: p.subject,
      category: p.category,
      mediaType: p.mediaType,
      previous: p.previous,
      pointer,
      digest,
      labelCommitment: labelCommitment(labels),
      labels,
      stage: "stored",
    };
    // From here on a retry resumes this entry: the content is stored before anything is anchored.
    await ctx.journal.put(p.key, entry);
    return entry;
  } finally {
    dataKey.fill(0);
  }
}

/**
 * The custodian organization an anchor by this participant gets: the contract's own append
 * decision (its `accessorOrg`: the writer's organization when a practitioner anchors under a
 * consent, 0 when the subject or an ACCESS guardian does).
 */
export async function anchorCustodian(ctx: LedgerContext, subject: SubjectId, category: number): Promise<number> {
  const d = await ctx.chain.consents.check(ctx.chain.account, subject, category, 0, Action.APPEND);
  return Number(d.accessorOrg);
}

/** Adopts an existing anchor of the entry's id if it is this very record (ConflictError otherwise). */
async function adoptExisting(ctx: LedgerContext, entry: JournalEntry): Promise<boolean> {
  const state = await readAnchor(ctx, entry.subject, entry.recordId);
  return state !== undefined && adoptAnchor(state, entry.recordId, entry);
}

/** Anchors a stored entry (unless it already is: adopted only if it is this record) and marks it anchored. */
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
    // An anchor of this id was mined meanwhile: ours (an earlier attempt) is adopted, anything
    // else is a ConflictError; never a silent success.
    if (!(err instanceof ContractRevertError && err.errorName === "RecordExists")) throw err;
    await adoptExisting(ctx, entry);
  }
  entry.stage = "anchored";
  await ctx.journal.put(key, entry);
}

async function attempt(ctx: LedgerContext, p: Checked): Promise<RecordId> {
  const existing = await ctx.journal.get(p.key);
  if (existing !== undefined) {
    if (existing.stage !== "anchored") {
      // An earlier attempt stored it; it may have been anchored since (a transaction in flight).
      if (await adoptExisting(ctx, existing)) {
        existing.stage = "anchored";
        await ctx.journal.put(p.key, existing);
      } else await anchor(ctx, existing, p.key);
    }
    return existing.recordId;
  }
  const recordId = newRecordId();
  const draft: AnchorFields = {
    recordId,
    subject: p.subject,
    category: p.category,
    // The real commitment is drawn in prepare(); any non-zero 32 bytes cost the same gas.
    labelCommitment: PLACEHOLDER_DIGEST,
    previous: p.previous,
  };
  const [estimate, custodian] = await Promise.all([
    estimateAnchor(ctx, hintKey(p.subject, p.category), (h) =>
      anchorRecordCall(ctx, draft, PLACEHOLDER_DIGEST, PLACEHOLDER_POINTER, h),
    ),
    anchorCustodian(ctx, p.subject, p.category),
  ]);
  const entry = await prepare(ctx, p, recordId, custodian);
  await anchor(ctx, entry, p.key, estimate);
  return recordId;
}

/**
 * Seals `content`, stores the envelope, deposits the data key with the key custody and anchors
 * the record (its public category, and a salted commitment to its sensitive labels); returns its
 * id. Idempotent and crash-safe: a retry with the same arguments (or the same `idempotencyKey`)
 * completes the same record and never anchors twice.
 *
 * @throws ConflictError when the record id is anchored with other content (never adopted)
 *
 * @example
 * ```ts
 * import { records } from "medledger";
 * const id = await records.put(ctx, { subject, content: json, category: "CONDITIONS", labels: ["MENTAL_HEALTH"], mediaType: "application/fhir+json" });
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

type Member = { entry: JournalEntry; key: string };

/**
 * The subject's batch with `root`, if any, must be this very batch (same tag and size);
 * ConflictError otherwise. False when the subject has no batch with `root`.
 */
async function adoptBatch(
  ctx: LedgerContext,
  subject: SubjectId,
  b: { root: Hex; tag: Hex; count: number },
): Promise<boolean> {
  const existing = await readBatch(ctx, subject, b.root);
  if (existing === undefined) return false;
  if (existing.tag !== b.tag || existing.count !== b.count)
    throw new ConflictError(
      "batch",
      b.root,
      `Batch root ${b.root} of subject ${subject} is anchored with other terms`,
      {
        details: `on chain: tag ${existing.tag}, ${existing.count} records; this batch: tag ${b.tag}, ${b.count} records`,
      },
    );
  return true;
}

async function markAnchored(ctx: LedgerContext, members: readonly Member[]): Promise<void> {
  for (const { entry, key } of members) {
    entry.stage = "anchored";
    await ctx.journal.put(key, entry);
  }
}

/**
 * Anchors one batch (pending entries sharing a tag): stores the manifest, writes each member's
 * root and proof to the journal BEFORE anchoring (a retry then finds and adopts the batch), and
 * anchors it unless the subject already has it (adopted only with the same tag and size).
 */
async function anchorGroup(
  ctx: LedgerContext,
  subject: SubjectId,
  tag: Hex,
  group: readonly Member[],
  estimate: { gas: bigint; hint: string } | undefined,
  estimatedCount: number,
): Promise<void> {
  const leaves = group.map(({ entry: e }) => [subject, e.recordId, e.category, e.digest, e.labelCommitment]);
  const tree = StandardMerkleTree.of(leaves, BATCH_LEAF_TYPES);
  const root = tree.root as Hex;
  const categories = group.reduce((m, { entry }) => m | (1 << entry.category), 0);
  const manifest: BatchManifest = {
    format: BATCH_MANIFEST_FORMAT,
    subject,
    root,
    tag,
    records: group.map(({ entry: e }, i) => ({
      recordId: e.recordId,
      category: e.category,
      digest: e.digest,
      labelCommitment: e.labelCommitment,
      pointer: e.pointer,
      proof: tree.getProof(i) as Hex[],
    })),
  };
  const pointer = await ctx.storage.put(utf8(JSON.stringify(manifest)));
  const b = { root, tag, count: group.length, categories, pointer };
  for (const [i, { entry, key }] of group.entries()) {
    entry.batch = { root, proof: tree.getProof(i) as Hex[], count: group.length };
    await ctx.journal.put(key, entry);
  }
  if (!(await adoptBatch(ctx, subject, b))) {
    const name = hintKey(subject, group[0]!.entry.category);
    let e = estimate;
    if (e === undefined || estimatedCount !== group.length || pointer.length > PLACEHOLDER_POINTER.length)
      e = await estimateAnchor(ctx, name, (h) => anchorBatchCall(ctx, subject, b, h));
    try {
      await ctx.chain.send(anchorBatchCall(ctx, subject, b, e.hint), { gas: e.gas });
    } catch (err) {
      // Mined meanwhile (an earlier attempt): adopted only if it is this batch.
      if (!(err instanceof ContractRevertError && err.errorName === "RecordBatchExists")) throw err;
      if (!(await adoptBatch(ctx, subject, b))) throw err;
    }
  }
  await markAnchored(ctx, group);
}

/**
 * Stores many first versions of one subject's records and anchors them with ONE Merkle root (a
 * manifest with every member's proof is stored too). Each member is later provable and readable;
 * its id starts with the batch's tag, so any reader finds its batch with one log query.
 * Idempotent like {@link put}.
 *
 * @throws ConflictError when the subject already has this root with another tag or size
 */
export async function putBatch(ctx: LedgerContext, params: PutBatchParams): Promise<RecordId[]> {
  object(params, "params");
  const subject = asSubjectId(params.subject, "subject");
  const checked = array(params.items, "items").map((item, i) =>
    check(ctx, { ...(object(item, `items[${i}]`) as Omit<PutParams, "subject">), subject }, `items[${i}]`),
  );
  if (checked.length === 0) return [];
  const versioned = checked.findIndex((p) => p.previous !== null);
  if (versioned >= 0)
    throw new InvalidInputError(
      `A batch holds first versions only (put a new version with records.put): items[${versioned}].previous`,
      { field: `items[${versioned}].previous` },
    );

  const existing = await Promise.all(checked.map((p) => ctx.journal.get(p.key)));
  // New members join the tag of an unfinished earlier attempt (the largest), else a fresh one.
  const earlier = new Map<Hex, number>();
  for (const e of existing)
    if (e !== undefined && e.stage !== "anchored")
      earlier.set(tagOf(e.recordId), (earlier.get(tagOf(e.recordId)) ?? 0) + 1);
  const tag = [...earlier].sort((a, b) => b[1] - a[1])[0]?.[0] ?? newTag();
  const fresh = checked.filter((_, i) => existing[i] === undefined);
  let estimate: { gas: bigint; hint: string } | undefined;
  let custodian = 0;
  if (fresh.length > 0) {
    // Refused before anything is stored, like put.
    const categories = fresh.reduce((m, p) => m | (1 << p.category), 0);
    const b = { root: PLACEHOLDER_DIGEST, tag, count: checked.length, categories, pointer: PLACEHOLDER_POINTER };
    [estimate, custodian] = await Promise.all([
      estimateAnchor(ctx, hintKey(subject, fresh[0]!.category), (h) => anchorBatchCall(ctx, subject, b, h)),
      anchorCustodian(ctx, subject, fresh[0]!.category),
    ]);
  }
  const prepared = await mapLimit([...checked.keys()], PREPARE_CONCURRENCY, async (i) => {
    const p = checked[i]!;
    const entry = existing[i] ?? (await prepare(ctx, p, memberId(tag), custodian));
    const member: Member = { entry, key: p.key };
    return member;
  });
  // Members an earlier attempt planned into a batch: adopted if that batch was anchored meanwhile.
  const planned = new Map<Hex, Member[]>();
  for (const p of prepared)
    if (p.entry.stage !== "anchored" && p.entry.batch !== undefined)
      planned.set(p.entry.batch.root, [...(planned.get(p.entry.batch.root) ?? []), p]);
  for (const [root, members] of planned) {
    const { count } = members[0]!.entry.batch!;
    if (await adoptBatch(ctx, subject, { root, tag: tagOf(members[0]!.entry.recordId), count }))
      await markAnchored(ctx, members);
  }
  const groups = new Map<Hex, Member[]>();
  for (const p of prepared.filter((x) => x.entry.stage !== "anchored")) {
    const t = tagOf(p.entry.recordId);
    groups.set(t, [...(groups.get(t) ?? []), p]);
  }
  for (const [t, group] of groups)
    await anchorGroup(ctx, subject, t, group, t === tag ? estimate : undefined, checked.length);
  return prepared.map((p) => p.entry.recordId);
}
