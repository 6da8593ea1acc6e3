/**
 * A custodian's contribution to a run (the signer: an ACTIVE research data steward — RESEARCHER
 * role — of one of the study's custodians). In order:
 *
 * 1. checks the study (open), the run (still taking contributions), that this custodian has not
 *    contributed yet (a retry returns the recorded contribution: idempotent) and that the query
 *    given is the registered one (digest and length);
 * 2. finds the custodian's own records in the study's categories (latest versions, not erased):
 *    those it anchored, or the `records` given (batch members are proven, as for any read);
 * 3. reads them through the normal access path: `RecordRegistry.accessForStudy`, which logs each
 *    read with the study's purpose, basis STUDY and the study id — so each patient's access history
 *    shows the study — and skips every patient whose research consents in force now do not allow
 *    the study (denies win); then the key custody releases each logged record's key and the
 *    envelope is checked against its anchored digest and opened. A patient counts only if every
 *    one of its records was logged and opened;
 * 4. evaluates the query locally over exactly those patients;
 * 5. splits the result vector into one additive share per aggregation server of the run, seals
 *    each to its server's registered X25519 key, signs each delivery (EIP-712) and delivers all of
 *    them — if any server cannot take its share, nothing is committed and an
 *    {@link AggregationPendingError} names it (the run waits; retry before the deadline);
 * 6. commits on chain: the number of patients evaluated and one commitment per server.
 *
 * What it returns holds no value of the custodian's: only the commitments, counts and transaction
 * hashes that the chain shows anyway. The vector and the shares are zeroed after use.
 *
 * Contract calls built here: RecordRegistry.accessForStudy, StudyRegistry.commitContribution.
 *
 * @example
 * ```ts
 * import { research } from "medledger";
 * const { value } = await research.contribute(stewardCtx, { studyId, runId, query });
 * console.log(`${value.subjects} patients contributed; commitments ${value.commitments.join(", ")}`);
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { getBytes, hexlify } from "ethers";

import { startBlock } from "../chain/addressBook.js";
import { decodeLog } from "../chain/events.js";
import type { LedgerContext } from "../context.js";
import { envelopeContext, readerKeysOf } from "../context.js";
import type { RandomSource } from "../crypto/random.js";
import { openBytes } from "../crypto/index.js";
import { IntegrityError, InvalidInputError } from "../errors.js";
import { AccessBasis, categoryMask } from "../codes.js";
import { locate } from "../records/locate.js";
import { unframe } from "../records/payload.js";
import { asRecordId, asSubjectId } from "../types.js";
import type { Hex, RecordId, SubjectId } from "../types.js";
import { fromUtf8, mapLimit, sha256Hex } from "../util.js";
import { array, bytes32, object, uint } from "../validate.js";
import type { Written } from "./actions.js";
import { readRun, readStudy, resolverOf, serverMembers, studyError, studyRegistryOf } from "./chain.js";
import type { ServerMember, ServerResolver } from "./chain.js";
import { AggregationPendingError, StudyRefusedError } from "./errors.js";
import type { Waiting } from "./errors.js";
import { evaluateQuery } from "./evaluate.js";
import type { PatientData } from "./evaluate.js";
import { splitVector } from "./field.js";
import { AGGREGATION_SHARE_TYPES, aggregationDomain } from "./protocol.js";
import type { ShareDelivery } from "./protocol.js";
import { parseQuery, queryDigest, queryLayout } from "./query.js";
import { encodeShareContext, sealVector } from "./seal.js";

export interface ContributeParams {
  studyId: Hex;
  runId: number;
  /** The study's query document (checked against the registered digest). */
  query: unknown;
  /** How to reach the aggregation servers (default: HTTP at their registered endpoints). */
  servers?: ServerResolver;
  /**
   * The records to read (default: every record this custodian anchored, in the study's
   * categories, latest versions, not erased).
   */
  records?: readonly { subject: SubjectId; recordId: RecordId }[];
  /** Key releases and envelope reads in parallel (default 16). */
  concurrency?: number;
  /** Records per access transaction (default and most: 256). */
  batchSize?: number;
  /** Randomness for shares and salts (tests; default the platform CSPRNG). */
  random?: RandomSource;
}

/** A contribution as the chain records it (no value of the custodian's). */
export interface Contribution {
  studyId: Hex;
  runId: number;
  custodianOrg: number;
  /** Patients evaluated (their reads are in the access log). */
  subjects: number;
  /** One per server, in the run's server order. */
  commitments: Hex[];
  servers: number[];
  /** The access transactions of this contribution's reads (empty for a recorded one). */
  accessTxs: Hex[];
  /** Patients whose reads were logged but whose records could not all be opened (left out). */
  unreadable: number;
}

interface Candidate {
  subject: SubjectId;
  recordId: RecordId;
  category: number;
  pointer: string;
  digest: Hex;
}

const STUDY_BASIS = BigInt(AccessBasis.indexOf("STUDY"));
const JSON_TYPES = /^application\/(fhir\+)?json\b/;

/** The custodian's latest, unerased records in `categories` (a mask), from the chain's events. */
async function discover(ctx: LedgerContext, org: number, categories: number): Promise<Candidate[]> {
  const book = ctx.chain.addressBook;
  const records = ctx.chain.records;
  const address = book.contracts.RecordRegistry.address;
  const fromBlock = startBlock(book);
  const [anchored, erased] = await Promise.all([
    ctx.chain.rpc.logs({
      address,
      topics: records.interface.encodeFilterTopics("RecordAnchored", [null, null, org]),
      fromBlock,
    }),
    ctx.chain.rpc.logs({ address, topics: records.interface.encodeFilterTopics("RecordErased", []), fromBlock }),
  ]);
  const gone = new Set(erased.map((l) => `${l.topics[1]}/${l.topics[2]}`.toLowerCase()));
  const all: Candidate[] = [];
  for (const log of anchored) {
    const { args } = decodeLog(log)!;
    const subject = (args.subject as string).toLowerCase() as SubjectId;
    const previous = (args.previous as string).toLowerCase();
    if (!/^0x0+$/.test(previous)) gone.add(`${subject}/${previous}`);
    all.push({
      subject,
      recordId: (args.recordId as string).toLowerCase() as RecordId,
      category: Number(args.category as bigint),
      pointer: args.pointer as string,
      digest: (args.digest as string).toLowerCase() as Hex,
    });
  }
  return all.filter((c) => (categories & (1 << c.category)) !== 0 && !gone.has(`${c.subject}/${c.recordId}`));
}

/** The records given, located through the normal path (a batch member is proven first). */
async function located(
  ctx: LedgerContext,
  list: ContributeParams["records"] & object,
  org: number,
  categories: number,
) {
  const out: Candidate[] = [];
  for (const [i, r] of array(list, "records").entries()) {
    const o = object(r, `records[${i}]`);
    const subject = asSubjectId(o.subject as string, `records[${i}].subject`);
    const recordId = asRecordId(o.recordId as string, `records[${i}].recordId`);
    const l = await locate(ctx, subject, recordId);
    if (l.state.custodian !== org) {
      throw new InvalidInputError(`records[${i}] is held by organization ${l.state.custodian}, not by this custodian`);
    }
    if ((categories & (1 << l.state.category)) === 0 || l.state.erasedAt !== 0 || l.state.superseded) continue;
    out.push({ subject, recordId, category: l.state.category, pointer: l.pointer, digest: l.digest });
  }
  return out;
}

/** Groups candidates by subject and packs whole subjects into access batches of ≤ `size` records. */
function batches(candidates: readonly Candidate[], size: number): Candidate[][][] {
  const bySubject = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const list = bySubject.get(c.subject) ?? [];
    list.push(c);
    bySubject.set(c.subject, list);
  }
  const out: Candidate[][][] = [];
  let current: Candidate[][] = [];
  let count = 0;
  for (const list of bySubject.values()) {
    // A subject with more records than one batch holds is split across batches; it then counts
    // only if every batch logged it.
    for (let i = 0; i < list.length; i += size) {
      const part = list.slice(i, i + size);
      if (count + part.length > size && current.length > 0) {
        out.push(current);
        current = [];
        count = 0;
      }
      current.push(part);
      count += part.length;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Contributes this custodian's share of a run (see the module comment). */
export async function contribute(ctx: LedgerContext, p: ContributeParams): Promise<Written<Contribution>> {
  object(p, "params");
  const studyId = bytes32(p.studyId, "studyId").toLowerCase() as Hex;
  const runId = uint(p.runId, "runId", 32);
  const resolver = resolverOf(p.servers);
  const concurrency = uint(p.concurrency ?? 16, "concurrency", 16) || 1;
  const batchSize = Math.min(uint(p.batchSize ?? 256, "batchSize", 16) || 1, 256);
  const query = parseQuery(p.query);
  const [study, run, status] = await Promise.all([
    readStudy(ctx, studyId),
    readRun(ctx, studyId, runId),
    ctx.chain.directory.accessorStatus(ctx.chain.account),
  ]);
  const org = Number(status[1]);
  if (!study.custodians.includes(org)) {
    throw new StudyRefusedError(
      "StudyNotCustodian",
      "This participant is not a research steward of a custodian of the study",
      {
        details: `organization ${org}; custodians ${study.custodians.join(", ")}`,
      },
    );
  }
  if (queryDigest(query) !== study.queryDigest.toLowerCase() || queryLayout(query).cells !== study.cells) {
    throw new StudyRefusedError("QUERY_MISMATCH", "The query is not the study's registered query", {
      details: `registered ${study.queryDigest}, given ${queryDigest(query)}`,
    });
  }
  const studies = studyRegistryOf(ctx);
  // Idempotent: a custodian that already contributed gets its recorded contribution back.
  if (run.contributors.includes(org))
    return { value: await recorded(ctx, studyId, runId, org, run.servers), receipt: null };

  const categories = categoryMask(study.categories);
  const candidates =
    p.records === undefined ? await discover(ctx, org, categories) : await located(ctx, p.records, org, categories);

  // 3. The reads, logged by the chain (which skips patients who do not allow the study).
  const logged = new Set<string>();
  const accessTxs: Hex[] = [];
  const wanted = new Map<string, Candidate[]>();
  for (const c of candidates) wanted.set(c.subject, [...(wanted.get(c.subject) ?? []), c]);
  for (const batch of batches(candidates, batchSize)) {
    const reads = batch.map((part) => ({ subject: part[0]!.subject, recordIds: part.map((c) => c.recordId) }));
    const sent = await ctx.chain
      .send(ctx.chain.records.accessForStudy.populateTransaction(studyId, runId, reads))
      .catch(studyError);
    accessTxs.push(sent.receipt.hash as Hex);
    for (const e of sent.events) {
      if (e.name !== "RecordAccessed" || e.args.basis !== STUDY_BASIS) continue;
      if ((e.args.basisId as string).toLowerCase() !== studyId) continue;
      logged.add(`${(e.args.subject as string).toLowerCase()}/${(e.args.recordId as string).toLowerCase()}`);
    }
  }
  const accessTxOf = new Map<string, Hex>();
  // (Each record's access transaction: the batch it was in.)
  let t = 0;
  for (const batch of batches(candidates, batchSize)) {
    for (const part of batch) for (const c of part) accessTxOf.set(`${c.subject}/${c.recordId}`, accessTxs[t]!);
    t++;
  }
  const contributing = [...wanted.entries()].filter(([, list]) =>
    list.every((c) => logged.has(`${c.subject}/${c.recordId}`)),
  );

  // The keys, after the logged access, and the envelopes, checked against their anchored digests.
  const readerKeys = readerKeysOf(ctx);
  let unreadable = 0;
  const patients = (
    await mapLimit(contributing, concurrency, async ([, list]): Promise<PatientData | undefined> => {
      const resources: unknown[] = [];
      for (const c of list) {
        const content = await openRecord(ctx, c, org, accessTxOf.get(`${c.subject}/${c.recordId}`)!, readerKeys).catch(
          () => undefined,
        );
        if (content === undefined) {
          unreadable++;
          return undefined;
        }
        resources.push(content);
      }
      return { resources };
    })
  ).filter((x): x is PatientData => x !== undefined);

  // 4–5. Local evaluation, shares, delivery to every server.
  const { vector, evaluated } = evaluateQuery(query, patients);
  const members = await serverMembers(ctx, run.servers);
  const shares = splitVector(vector, members.length, p.random);
  vector.fill(0n);
  const domain = aggregationDomain(ctx.chain.chainId, await studies.getAddress());
  const expiry = Math.floor(Date.now() / 1000) + 240;
  const prepared = await Promise.all(
    members.map(async (m, index) => {
      const sealed = sealVector({
        vector: shares[index]!,
        recipientPublicKey: hexBytes(m.encryptionKey),
        recipientKeyVersion: m.keyVersion,
        context: encodeShareContext({
          chainId: ctx.chain.chainId,
          studyRegistry: await studies.getAddress(),
          studyId,
          runId,
          custodianOrg: org,
          keyholderId: m.id,
          index,
          cells: study.cells,
        }),
        label: "share",
        ...(p.random === undefined ? {} : { random: p.random }),
      });
      shares[index]!.fill(0n);
      const delivery: ShareDelivery = {
        studyId,
        runId,
        keyholderId: m.id,
        custodianOrg: org,
        commitment: sealed.commitment,
        slotDigest: hexlify(sha256(sealed.slot)) as Hex,
        expiry,
      };
      const signature = (await ctx.chain.signer.signTypedData(domain, AGGREGATION_SHARE_TYPES, delivery)) as Hex;
      return { member: m, delivery, signature, slot: hexlify(sealed.slot) as Hex };
    }),
  );
  await deliverAll(prepared, resolver);

  // 6. The commitment on chain.
  const commitments = prepared.map((x) => x.delivery.commitment);
  const sent = await ctx.chain
    .send(studies.commitContribution.populateTransaction(studyId, runId, evaluated, commitments))
    .catch(async (err: unknown) => {
      if ((await readRun(ctx, studyId, runId)).contributors.includes(org)) return undefined; // a concurrent retry won
      return studyError(err);
    });
  if (sent === undefined) return { value: await recorded(ctx, studyId, runId, org, run.servers), receipt: null };
  return {
    value: {
      studyId,
      runId,
      custodianOrg: org,
      subjects: evaluated,
      commitments,
      servers: run.servers,
      accessTxs,
      unreadable,
    },
    receipt: sent.receipt,
  };
}

const hexBytes = (h: Hex): Uint8Array => getBytes(h);

/** Releases a logged record's key, fetches and checks its envelope, opens it; JSON content parsed. */
async function openRecord(
  ctx: LedgerContext,
  c: Candidate,
  org: number,
  accessTx: Hex,
  readerKeys: ReturnType<typeof readerKeysOf>,
): Promise<unknown> {
  const dataKey = await ctx.custody.release({
    reader: ctx.chain.signer,
    readerKeys,
    subject: c.subject,
    recordId: c.recordId,
    accessTx,
    custodian: org,
  });
  try {
    const envelope = await ctx.storage.getBytes(c.pointer);
    if (sha256Hex(envelope) !== c.digest) {
      throw new IntegrityError("The stored envelope does not match its anchored digest", { details: c.recordId });
    }
    const payload = await openBytes(envelope, {
      key: dataKey,
      context: envelopeContext(ctx, c.recordId, c.subject),
      backend: ctx.backend,
    });
    const { mediaType, content } = unframe(payload);
    if (!JSON_TYPES.test(mediaType)) return undefined;
    return JSON.parse(fromUtf8(content)) as unknown;
  } finally {
    dataKey.fill(0);
  }
}

/** Delivers every share; throws AggregationPendingError naming each server that did not take its share. */
async function deliverAll(
  prepared: { member: ServerMember; delivery: ShareDelivery; signature: Hex; slot: Hex }[],
  resolver: ServerResolver,
): Promise<void> {
  const settled = await Promise.allSettled(
    prepared.map((x) =>
      resolver(x.member).receiveShare({ delivery: x.delivery, signature: x.signature, slot: x.slot }),
    ),
  );
  const waiting: Waiting[] = [];
  for (const [i, s] of settled.entries()) {
    if (s.status === "fulfilled") continue;
    const err = s.reason as { refusal?: string; name?: string; shortMessage?: string; message?: string };
    waiting.push({
      kind: "server",
      id: prepared[i]!.member.id,
      reason: err.refusal ?? (err.name === "AggregationUnreachable" ? "UNREACHABLE" : "ERROR"),
      message: err.shortMessage ?? err.message ?? "",
    });
  }
  if (waiting.length > 0) {
    throw new AggregationPendingError(
      waiting,
      "Not every aggregation server took its share: nothing was committed; retry before the deadline",
    );
  }
}

/** A recorded contribution, from its event. */
async function recorded(
  ctx: LedgerContext,
  studyId: Hex,
  runId: number,
  org: number,
  servers: number[],
): Promise<Contribution> {
  const studies = studyRegistryOf(ctx);
  const logs = await studies.queryFilter(
    studies.filters.ContributionCommitted(studyId, runId, org),
    startBlock(ctx.chain.addressBook),
  );
  const e = logs.at(-1);
  if (e === undefined) throw new StudyRefusedError("NO_EVENT", "The recorded contribution has no event");
  return {
    studyId,
    runId,
    custodianOrg: org,
    subjects: Number(e.args.subjects),
    commitments: e.args.commitments.map((c) => c.toLowerCase() as Hex),
    servers,
    accessTxs: [],
    unreadable: 0,
  };
}
