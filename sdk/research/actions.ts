/**
 * Study life cycle on chain: `registerStudy` (a researcher), `approveStudy` (an ethics board),
 * `closeStudy`, and `openRun`. Every argument is checked before anything is sent; every write
 * returns `{ value, receipt }` (`receipt` null when an idempotent retry found it done).
 *
 * Contract calls built here: StudyRegistry.registerStudy, approveStudy, closeStudy, openRun.
 *
 * @example
 * ```ts
 * import { research } from "medledger";
 * const { value: study } = await research.registerStudy(researcherCtx, {
 *   query, protocol: protocolPdfBytes, purpose: "HRESCH", categories: ["OBSERVATIONS", "DEMOGRAPHICS"],
 *   custodians: [hospitalA, hospitalB, hospitalC], validUntil: new Date("2027-01-01"),
 * });
 * await research.approveStudy(boardCtx, { studyId: study.studyId, decision: decisionLetterBytes });
 * const { value: runId } = await research.openRun(researcherCtx, { studyId: study.studyId, window: 3600 });
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";

import type { TxReceipt } from "../chain/client.js";
import type { CategoryName } from "../codes.js";
import { categoryMask, purposeCode } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { InvalidInputError } from "../errors.js";
import type { Hex } from "../types.js";
import { randomHex32, toHex, utf8 } from "../util.js";
import { array, bytes32, object, uint, unixSeconds } from "../validate.js";
import { chainNow, readRun, readStudy, studyError, studyRegistryOf } from "./chain.js";
import { StudyRefusedError } from "./errors.js";
import { parseQuery, queryDigest, queryLayout } from "./query.js";

/** A write's outcome: the value, and the receipt (null when nothing had to be sent). */
export interface Written<T> {
  value: T;
  receipt: TxReceipt | null;
}

/** A document given as its bytes or text (digested with sha256) or as `{ digest }`. */
export type DocumentInput = Uint8Array | string | { digest: Hex };

/** sha256 of a document (or the digest given). */
export function documentDigest(doc: DocumentInput, field: string): Hex {
  if (doc instanceof Uint8Array) return toHex(sha256(doc));
  if (typeof doc === "string") {
    if (doc.length === 0) throw new InvalidInputError(`${field} is empty`, { field });
    return toHex(sha256(utf8(doc)));
  }
  return bytes32(object(doc, field).digest, `${field}.digest`);
}

export interface RegisterStudyParams {
  /** The query document (medledger-query/1); its canonical digest is registered. */
  query: unknown;
  /** The protocol document (or its sha256 as `{ digest }`). */
  protocol: DocumentInput;
  purpose: "HRESCH" | "CLINTRCH";
  /** Public categories custodians read (e.g. DEMOGRAPHICS for age and sex, OBSERVATIONS). */
  categories: readonly CategoryName[];
  /** Custodian organization ids (hospitals, labs). */
  custodians: readonly number[];
  /** Unix seconds or a Date: when the study ends. */
  validUntil: Date | number;
  validFrom?: Date | number;
  /** Default 5 (the contract's floor is 3). */
  minCellSize?: number;
  /** Default 2. */
  minCustodians?: number;
  /** Default 1 (with differential privacy, each run spends ε). */
  maxRuns?: number;
  /** ε of one run; default 0 (no noise). At most 10, in steps of 0.001. */
  epsilon?: number;
  /** The id is studyIdFor(researcher, salt): pass a salt to make retries idempotent. */
  salt?: Hex;
}

export interface RegisteredStudy {
  studyId: Hex;
  queryDigest: Hex;
  protocolDigest: Hex;
  /** The length of every share of this study. */
  cells: number;
}

/**
 * Registers a study (the signer: an ACTIVE researcher of a research institute). With a `salt`, a
 * retry after success returns the registered study (receipt null) if it has the same digests.
 */
export async function registerStudy(ctx: LedgerContext, p: RegisterStudyParams): Promise<Written<RegisteredStudy>> {
  object(p, "params");
  const query = parseQuery(p.query);
  const digest = queryDigest(query);
  const cells = queryLayout(query).cells;
  const protocolDigest = documentDigest(p.protocol, "protocol");
  if (p.purpose !== "HRESCH" && p.purpose !== "CLINTRCH") {
    throw new InvalidInputError("purpose must be HRESCH or CLINTRCH", {
      field: "purpose",
      allowed: ["HRESCH", "CLINTRCH"],
    });
  }
  const categories = categoryMask(array(p.categories, "categories") as CategoryName[], "categories");
  if (categories === 0) throw new InvalidInputError("a study reads at least one category", { field: "categories" });
  const custodians = array(p.custodians, "custodians").map((c, i) => uint(c, `custodians[${i}]`, 32));
  const epsilon = p.epsilon ?? 0;
  if (typeof epsilon !== "number" || !Number.isFinite(epsilon) || epsilon < 0 || epsilon > 10) {
    throw new InvalidInputError("epsilon must be a number in [0, 10]", { field: "epsilon" });
  }
  const epsilonMilli = Math.round(epsilon * 1000);
  const salt = p.salt === undefined ? randomHex32() : bytes32(p.salt, "salt");
  const params = {
    protocolDigest,
    queryDigest: digest,
    purpose: purposeCode(p.purpose),
    categories,
    cells,
    minCellSize: uint(p.minCellSize ?? 5, "minCellSize", 32),
    minCustodians: uint(p.minCustodians ?? 2, "minCustodians", 8),
    maxRuns: uint(p.maxRuns ?? 1, "maxRuns", 8),
    epsilonMilli,
    validFrom: unixSeconds(p.validFrom ?? 0, "validFrom"),
    validUntil: unixSeconds(p.validUntil, "validUntil"),
    custodians: [...custodians].sort((a, b) => a - b),
  };
  const studies = studyRegistryOf(ctx);
  const studyId = (await studies.studyIdFor(ctx.chain.account, salt)) as Hex;
  const value = { studyId, queryDigest: digest, protocolDigest, cells };
  if (p.salt !== undefined) {
    const existing = await readStudy(ctx, studyId).catch((err: unknown) => {
      if (err instanceof StudyRefusedError && err.reason === "StudyUnknown") return undefined;
      throw err;
    });
    if (existing !== undefined) {
      if (existing.queryDigest !== digest || existing.protocolDigest !== protocolDigest) {
        throw new StudyRefusedError("StudyExists", "A different study was registered with this salt", {
          details: studyId,
        });
      }
      return { value, receipt: null };
    }
  }
  const sent = await ctx.chain.send(studies.registerStudy.populateTransaction(salt, params)).catch(studyError);
  return { value, receipt: sent.receipt };
}

/** Approves a study (the signer: an ACTIVE member of an ethics board). Idempotent. */
export async function approveStudy(
  ctx: LedgerContext,
  p: { studyId: Hex; decision: DocumentInput },
): Promise<Written<{ studyId: Hex; decisionDigest: Hex }>> {
  object(p, "params");
  const studyId = bytes32(p.studyId, "studyId");
  const decisionDigest = documentDigest(p.decision, "decision");
  const study = await readStudy(ctx, studyId);
  if (study.approval !== null) {
    if (study.approval.decisionDigest === decisionDigest) return { value: { studyId, decisionDigest }, receipt: null };
    throw new StudyRefusedError("StudyAlreadyApproved", "The study was already approved", {
      details: `by board ${study.approval.boardOrg}`,
    });
  }
  const sent = await ctx.chain
    .send(studyRegistryOf(ctx).approveStudy.populateTransaction(studyId, decisionDigest))
    .catch(studyError);
  return { value: { studyId, decisionDigest }, receipt: sent.receipt };
}

/** Closes a study for ever (its researcher, or a member of the approving board). Idempotent. */
export async function closeStudy(ctx: LedgerContext, p: { studyId: Hex }): Promise<Written<{ studyId: Hex }>> {
  const studyId = bytes32(object(p, "params").studyId, "studyId");
  const study = await readStudy(ctx, studyId);
  if (study.closedAt !== null) return { value: { studyId }, receipt: null };
  const sent = await ctx.chain.send(studyRegistryOf(ctx).closeStudy.populateTransaction(studyId)).catch(studyError);
  return { value: { studyId }, receipt: sent.receipt };
}

/**
 * Opens a run (the study's researcher). With `reuseOpen` (default true), a run that still takes
 * contributions is returned instead of opening another: a re-run does not spend a run (or ε).
 */
export async function openRun(
  ctx: LedgerContext,
  p: { studyId: Hex; window?: number; reuseOpen?: boolean },
): Promise<Written<number>> {
  object(p, "params");
  const studyId = bytes32(p.studyId, "studyId");
  const window = uint(p.window ?? 3600, "window", 32);
  const study = await readStudy(ctx, studyId);
  if ((p.reuseOpen ?? true) && study.runCount > 0) {
    const last = await readRun(ctx, studyId, study.runCount);
    if ((await chainNow(ctx)) < last.deadline && last.contributors.length < study.custodians.length) {
      return { value: study.runCount, receipt: null };
    }
  }
  const sent = await ctx.chain
    .send(studyRegistryOf(ctx).openRun.populateTransaction(studyId, window))
    .catch(studyError);
  const opened = sent.events.find((e) => e.name === "RunOpened");
  if (opened === undefined) throw new StudyRefusedError("NO_EVENT", "openRun emitted no RunOpened event");
  return { value: Number(opened.args.runId as bigint), receipt: sent.receipt };
}
