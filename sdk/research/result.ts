/**
 * The researcher's side of a run: `result` asks every aggregation server to aggregate (idempotent:
 * a server that already did returns what it published), fetches each server's sum-share sealed to
 * the researcher's registered key, checks it against the commitment the server published on
 * chain, adds them, applies disclosure control (release.ts) and checks the totals against the
 * chain before anything is returned:
 *
 * - the patients evaluated (cell 0, never noised) equal the sum of the patient counts the
 *   custodians committed on chain;
 * - each custodian's committed count does not exceed the patients its steward's study reads for
 *   this study logged since the run opened (the access log bounds every claim);
 * - without noise, no count exceeds the patients evaluated.
 * A failed check is an IntegrityError naming it (a custodian inflated its input, or a server
 * summed something else): nothing is released. Then the result's digest is anchored on chain
 * (`publish`, default true; a retry with the same digest sends nothing).
 *
 * A run that is not over says so (`AggregationPendingError` naming the custodians that have not
 * contributed, with the deadline); a server that is down or has not published says so (naming it);
 * a run with too few contributors is refused for good (`StudyRefusedError`
 * `StudyTooFewContributions`). No path returns a per-custodian or per-server value.
 *
 * Contract calls built here: StudyRegistry.publishResult.
 *
 * @example
 * ```ts
 * import { research } from "medledger";
 * const { value: result } = await research.result(researcherCtx, { studyId, runId, query });
 * for (const g of result.groups) console.log(g.group, g.count ?? "suppressed");
 * ```
 */
import { getBytes } from "ethers";

import { startBlock } from "../chain/addressBook.js";
import { decodeLog } from "../chain/events.js";
import { AccessBasis } from "../codes.js";
import type { LedgerContext } from "../context.js";
import { readerKeysOf } from "../context.js";
import { IntegrityError } from "../errors.js";
import { readerKey } from "../records/custody.js";
import type { Hex } from "../types.js";
import { bytes32, object, uint } from "../validate.js";
import type { Written } from "./actions.js";
import { chainNow, readRun, readStudy, resolverOf, serverMembers, studyError, studyRegistryOf } from "./chain.js";
import type { ServerResolver } from "./chain.js";
import { AggregationPendingError, StudyRefusedError } from "./errors.js";
import type { Waiting } from "./errors.js";
import { toSigned } from "./field.js";
import { SUM_SHARE_REQUEST_TYPES, aggregationDomain } from "./protocol.js";
import { parseQuery, queryDigest, queryLayout } from "./query.js";
import { combineTotals, releaseResult, resultDigest } from "./release.js";
import type { StudyResult } from "./release.js";
import { encodeSumShareContext, openVector, slotKeyVersion } from "./seal.js";

export interface ResultParams {
  studyId: Hex;
  runId: number;
  /** The study's query document (checked against the registered digest). */
  query: unknown;
  servers?: ServerResolver;
  /** Anchor the result's digest on chain (default true). */
  publish?: boolean;
}

/** The released result and its digest (anchored on chain when published). */
export interface ReleasedResult extends StudyResult {
  digest: Hex;
}

const STUDY_BASIS = BigInt(AccessBasis.indexOf("STUDY"));

function waitingOf(id: number, err: unknown): Waiting {
  const e = err as { refusal?: string; name?: string; shortMessage?: string; message?: string };
  return {
    kind: "server",
    id,
    reason: e.refusal ?? (e.name === "AggregationUnreachable" ? "UNREACHABLE" : "ERROR"),
    message: e.shortMessage ?? e.message ?? "",
  };
}

/** Combines a finished run's sum-shares into its released result (module comment). */
export async function result(ctx: LedgerContext, p: ResultParams): Promise<Written<ReleasedResult>> {
  object(p, "params");
  const studyId = bytes32(p.studyId, "studyId").toLowerCase() as Hex;
  const runId = uint(p.runId, "runId", 32);
  const resolver = resolverOf(p.servers);
  const query = parseQuery(p.query);
  const [study, run, now] = await Promise.all([readStudy(ctx, studyId), readRun(ctx, studyId, runId), chainNow(ctx)]);
  if (queryDigest(query) !== study.queryDigest.toLowerCase() || queryLayout(query).cells !== study.cells) {
    throw new StudyRefusedError("QUERY_MISMATCH", "The query is not the study's registered query");
  }
  if (now < run.deadline && run.contributors.length < study.custodians.length) {
    throw new AggregationPendingError(
      study.custodians
        .filter((c) => !run.contributors.includes(c))
        .map((id) => ({
          kind: "custodian",
          id,
          reason: "NOT_CONTRIBUTED",
          message: `the run takes contributions until ${run.deadline}`,
        })),
      "The run still takes contributions",
    );
  }
  if (run.contributors.length < study.minCustodians) {
    throw new StudyRefusedError(
      "StudyTooFewContributions",
      "Too few custodians contributed: the run releases nothing",
      {
        details: `${run.contributors.length} of at least ${study.minCustodians}; custodians that did not contribute: ${study.custodians
          .filter((c) => !run.contributors.includes(c))
          .join(", ")}`,
      },
    );
  }
  const studies = studyRegistryOf(ctx);
  const studyRegistry = await studies.getAddress();
  const members = await serverMembers(ctx, run.servers);
  const published = await Promise.all(members.map((m) => studies.getSumShare(studyId, runId, m.id)));
  // Ask the servers that have not published yet to aggregate (idempotent on their side).
  const waiting: Waiting[] = [];
  await Promise.all(
    members.map(async (m, i) => {
      if (published[i]![1] !== 0n) return;
      try {
        await resolver(m).aggregate({ studyId, runId, ...(study.epsilonMilli > 0 ? { query: p.query } : {}) });
      } catch (err) {
        waiting.push(waitingOf(m.id, err));
      }
    }),
  );
  if (waiting.length > 0) throw new AggregationPendingError(waiting.sort((a, b) => a.id - b.id));

  // Each server's sum-share, sealed to the researcher, checked against its published commitment.
  const digest = (await studies.contributorsDigest(studyId, runId)).toLowerCase() as Hex;
  const domain = aggregationDomain(ctx.chain.chainId, studyRegistry);
  const keys = readerKeysOf(ctx);
  const expiry = Math.floor(Date.now() / 1000) + 240;
  const sums = await Promise.all(
    members.map(async (m) => {
      try {
        const request = { studyId, runId, keyholderId: m.id, researcher: ctx.chain.account, expiry };
        const signature = await ctx.chain.signer.signTypedData(domain, SUM_SHARE_REQUEST_TYPES, request);
        const answer = await resolver(m).sumShare({ request, signature });
        const [onChain] = await studies.getSumShare(studyId, runId, m.id);
        const slot = getBytes(answer.slot);
        const key = readerKey(keys, slotKeyVersion(slot));
        if (key === undefined)
          throw new IntegrityError("No private key for the key version the sum-share is sealed to");
        const opened = openVector({
          slot,
          recipientPrivateKey: key,
          context: encodeSumShareContext({
            chainId: ctx.chain.chainId,
            studyRegistry,
            studyId,
            runId,
            keyholderId: m.id,
            cells: study.cells,
            researcher: ctx.chain.account,
            contributorsDigest: digest,
          }),
          label: "sum",
          cells: study.cells,
        });
        if (opened.commitment !== onChain.toLowerCase()) {
          throw new IntegrityError(`Server ${m.id}'s sum-share does not match the commitment it published`);
        }
        return opened.vector;
      } catch (err) {
        if (err instanceof IntegrityError) throw err;
        waiting.push(waitingOf(m.id, err));
        return undefined;
      }
    }),
  );
  if (waiting.length > 0) throw new AggregationPendingError(waiting.sort((a, b) => a.id - b.id));
  const totals = combineTotals(sums as bigint[][], study.cells);
  for (const s of sums) s!.fill(0n);

  await checkTotals(ctx, study.epsilonMilli > 0, studyId, runId, totals, queryLayout(query));
  const released = releaseResult({
    query,
    totals,
    studyId,
    runId,
    queryDigest: study.queryDigest.toLowerCase() as Hex,
    contributors: run.contributors,
    excluded: study.custodians.filter((c) => !run.contributors.includes(c)),
    servers: run.servers,
    minCellSize: study.minCellSize,
    epsilonMilli: study.epsilonMilli,
  });
  totals.fill(0n);
  const value: ReleasedResult = { ...released, digest: resultDigest(released) };
  if (p.publish === false) return { value, receipt: null };
  if (run.resultDigest !== null) {
    if (run.resultDigest.toLowerCase() === value.digest) return { value, receipt: null };
    throw new StudyRefusedError("StudyResultExists", "Another result digest is anchored for this run", {
      details: run.resultDigest,
    });
  }
  const sent = await ctx.chain
    .send(studies.publishResult.populateTransaction(studyId, runId, value.digest))
    .catch(studyError);
  return { value, receipt: sent.receipt };
}

/** The plausibility checks of the module comment; IntegrityError naming the one that fails. */
async function checkTotals(
  ctx: LedgerContext,
  noisy: boolean,
  studyId: Hex,
  runId: number,
  totals: readonly bigint[],
  layout: ReturnType<typeof queryLayout>,
): Promise<void> {
  const studies = studyRegistryOf(ctx);
  const from = startBlock(ctx.chain.addressBook);
  const [commits, opened] = await Promise.all([
    studies.queryFilter(studies.filters.ContributionCommitted(studyId, runId), from),
    studies.queryFilter(studies.filters.RunOpened(studyId, runId), from),
  ]);
  const claimed = commits.reduce((n, e) => n + BigInt(e.args.subjects), 0n);
  const evaluated = toSigned(totals[0]!);
  if (evaluated !== claimed) {
    throw new IntegrityError("The totals do not match the custodians' committed patient counts", {
      details: `evaluated ${evaluated}, committed ${claimed}`,
    });
  }
  // Each custodian's claim against its steward's logged study reads since the run opened.
  const openedAt = opened[0]?.blockNumber ?? from;
  const logs = await ctx.chain.rpc.logs({
    address: ctx.chain.addressBook.contracts.RecordRegistry.address,
    topics: ctx.chain.records.interface.encodeFilterTopics("RecordAccessed", []),
    fromBlock: openedAt,
  });
  const readBy = new Map<string, Set<string>>();
  for (const log of logs) {
    const e = decodeLog(log);
    if (e === null || e.args.basis !== STUDY_BASIS || (e.args.basisId as string).toLowerCase() !== studyId) continue;
    const who = (e.args.accessor as string).toLowerCase();
    const set = readBy.get(who) ?? new Set<string>();
    set.add((e.args.subject as string).toLowerCase());
    readBy.set(who, set);
  }
  for (const e of commits) {
    const read = readBy.get(e.args.contributor.toLowerCase())?.size ?? 0;
    if (BigInt(e.args.subjects) > BigInt(read)) {
      throw new IntegrityError(`Custodian ${e.args.custodianOrg} claims more patients than its study reads logged`, {
        details: `claimed ${e.args.subjects}, logged ${read}`,
      });
    }
  }
  if (!noisy) {
    for (let i = 1; i < totals.length; i++) {
      const role = layout.cellInfo(i).role;
      if (role === "valueSum") continue;
      const v = toSigned(totals[i]!);
      if (v < 0n || v > evaluated) {
        throw new IntegrityError("A count in the totals is impossible (negative or above the patients evaluated)", {
          details: `cell ${i}: ${v} of ${evaluated}`,
        });
      }
    }
  }
}
