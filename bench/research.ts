/**
 * Research benchmark (issue 12; not a test), on Hardhat's in-process chain with the research
 * consortium of fixtures/research-consortium.ts: three hospitals (custodians), three keyholders that
 * serve the aggregation routes over HTTP on 127.0.0.1, the keyholder network for record keys.
 *
 * - `researchAggregateP95Ms` (target ≤ 200 ms), `researchAggregateP50Ms`: the aggregation step
 *   alone — shares in, result out — for a 1,000-cell histogram, 3 custodians and 3 servers: one
 *   `research.result` call once the three custodians have delivered their shares, i.e. each server
 *   opens and sums its three shares, seals its sum-share and publishes its commitment on chain,
 *   the researcher fetches the three sum-shares over HTTP, opens them, checks them against the
 *   chain, applies disclosure control and anchors the result digest. One fresh run per sample. The
 *   custodians hold no patients here: a share is uniformly random whatever the input, so the step's
 *   cost depends on the cells, custodians and servers only;
 * - `researchAggregateComputeP95Ms`, `researchAggregateComputeP50Ms`: the same step without chain or
 *   HTTP (open nine shares, three sums, seal and open three sum-shares, combine, release), to tell
 *   computation from transport;
 * - `researchStudySeconds` (target ≤ 30 s): a whole study end to end over `researchStudyPatients`
 *   patients (the vendored Synthea patients copied with fresh ids; 1,000, or 150 with `quick`)
 *   across the three hospitals, each with a DEMOGRAPHICS and an OBSERVATIONS record: register,
 *   approve, open a run, the three hospitals contribute at once (study reads logged on chain, keys
 *   released by the keyholder network, local evaluation, shares, commitments), then the result.
 *   Enrolling the patients is set-up, not timed (`researchEnrollSeconds`);
 * - `researchBenchLoadAvg`: the 1-minute load average at the end (2 shared cores).
 *
 *   npx hardhat run bench/research.ts             # prints the figures, writes reports/research.json
 *   MEDLEDGER_BENCH_QUICK=1 npx hardhat run bench/research.ts
 */
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { network } from "hardhat";

import { createIdentity, research } from "../sdk/index.js";
import type { Hex } from "../sdk/index.js";
import { randomVector, splitVector, sumVectors } from "../sdk/research/field.js";
import { parseQuery, queryLayout } from "../sdk/research/query.js";
import { combineTotals, releaseResult } from "../sdk/research/release.js";
import { encodeShareContext, encodeSumShareContext, openVector, sealVector } from "../sdk/research/seal.js";
import { HBA1C, hba1cQuery, syntheaCohort } from "../fixtures/research-data.js";
import { setUpResearchConsortium } from "../fixtures/research-consortium.js";
import type { ResearchConsortium } from "../fixtures/research-consortium.js";

/** A query whose vector has exactly 1,000 cells: patients evaluated, the count, 998 histogram bins. */
export function histogramQuery(cells = 1000): Record<string, unknown> {
  const edges = Array.from({ length: cells - 3 }, (_, i) => 3 + i / 50);
  return {
    language: "medledger-query/1",
    asOf: "2021-01-01",
    criteria: [],
    groupBy: [],
    measures: [{ kind: "histogram", of: { observation: { codes: [HBA1C], unit: "%" }, pick: "latest" }, edges }],
  };
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const round = (x: number) => Math.round(x * 10) / 10;
const DAY = 24 * 3600;

async function chainNow(c: ResearchConsortium): Promise<number> {
  return (await c.provider.getBlock("latest"))!.timestamp;
}

async function approvedStudy(c: ResearchConsortium, query: unknown, maxRuns: number): Promise<Hex> {
  const { value } = await research.registerStudy(c.researcher.ml.context, {
    query,
    protocol: "Benchmark protocol",
    purpose: "HRESCH",
    categories: ["DEMOGRAPHICS", "OBSERVATIONS"],
    custodians: c.hospitals.map((h) => h.orgId),
    validUntil: (await chainNow(c)) + 30 * DAY,
    minCellSize: 3,
    maxRuns,
  });
  await research.approveStudy(c.boardMember.ml.context, { studyId: value.studyId, decision: "Approved" });
  return value.studyId;
}

const contributeAll = (c: ResearchConsortium, studyId: Hex, runId: number, query: unknown) =>
  Promise.all(
    c.hospitals.map((h) => research.contribute(h.steward.ml.context, { studyId, runId, query, servers: c.resolver })),
  );

/** `research.result` times over fresh runs of a 1,000-cell study (module comment). */
async function aggregateOverChain(c: ResearchConsortium, samples: number): Promise<number[]> {
  const query = histogramQuery();
  const studyId = await approvedStudy(c, query, samples + 2);
  const times: number[] = [];
  for (let i = 0; i < samples + 2; i++) {
    const { value: runId } = await research.openRun(c.researcher.ml.context, { studyId, window: 3600 });
    await contributeAll(c, studyId, runId, query);
    const t = performance.now();
    await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
    if (i >= 2) times.push(performance.now() - t); // two warm-up runs
  }
  return times;
}

/** The same step as pure computation: no chain, no HTTP (module comment). */
function aggregateCompute(samples: number): number[] {
  const query = parseQuery(histogramQuery());
  const cells = queryLayout(query).cells;
  const servers = [createIdentity(), createIdentity(), createIdentity()];
  const researcher = createIdentity();
  const base: { chainId: bigint; studyRegistry: string; studyId: Hex; runId: number; cells: number } = {
    chainId: 31337n,
    studyRegistry: `0x${"11".repeat(20)}`,
    studyId: `0x${"22".repeat(32)}`,
    runId: 1,
    cells,
  };
  const shareContext = (custodianOrg: number, index: number) =>
    encodeShareContext({ ...base, custodianOrg, keyholderId: index + 1, index });
  const sumContext = (index: number) =>
    encodeSumShareContext({
      ...base,
      keyholderId: index + 1,
      researcher: researcher.address,
      contributorsDigest: `0x${"33".repeat(32)}`,
    });
  const times: number[] = [];
  for (let s = 0; s < samples + 2; s++) {
    // Set-up (not timed): three custodians' vectors, split and sealed to the three servers.
    const slots = [1, 2, 3].map((org) =>
      splitVector(randomVector(cells), 3).map(
        (share, index) =>
          sealVector({
            vector: share,
            recipientPublicKey: servers[index]!.x25519.publicKey,
            recipientKeyVersion: 1,
            context: shareContext(org, index),
            label: "share",
          }).slot,
      ),
    );
    const t = performance.now();
    const sumSlots = servers.map((server, index) => {
      const vectors = [1, 2, 3].map(
        (org) =>
          openVector({
            slot: slots[org - 1]![index]!,
            recipientPrivateKey: server.x25519.privateKey,
            context: shareContext(org, index),
            label: "share",
            cells,
          }).vector,
      );
      return sealVector({
        vector: sumVectors(vectors, cells),
        recipientPublicKey: researcher.x25519.publicKey,
        recipientKeyVersion: 1,
        context: sumContext(index),
        label: "sum",
      }).slot;
    });
    const sums = sumSlots.map(
      (slot, index) =>
        openVector({
          slot,
          recipientPrivateKey: researcher.x25519.privateKey,
          context: sumContext(index),
          label: "sum",
          cells,
        }).vector,
    );
    releaseResult({
      query,
      totals: combineTotals(sums, cells),
      studyId: base.studyId,
      runId: 1,
      queryDigest: base.studyId,
      contributors: [1, 2, 3],
      excluded: [],
      servers: [1, 2, 3],
      minCellSize: 3,
      epsilonMilli: 0,
    });
    if (s >= 2) times.push(performance.now() - t);
  }
  return times;
}

/**
 * A whole study over the enrolled patients (module comment): seconds, patients evaluated, and
 * patients whose reads were logged but whose records could not all be opened (left out).
 */
async function wholeStudy(c: ResearchConsortium): Promise<{ seconds: number; evaluated: number; unreadable: number }> {
  const query = hba1cQuery();
  const t = performance.now();
  const studyId = await approvedStudy(c, query, 1);
  const { value: runId } = await research.openRun(c.researcher.ml.context, { studyId, window: 3600 });
  const contributions = await contributeAll(c, studyId, runId, query);
  const { value } = await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
  const seconds = (performance.now() - t) / 1000;
  const unreadable = contributions.reduce((n, x) => n + x.value.unreadable, 0);
  const consenting = c.patients.filter((p) => p.research === "permit").length;
  if (value.evaluated + unreadable !== consenting) {
    throw new Error(
      `bench/research: ${value.evaluated} patients evaluated and ${unreadable} unreadable, ${consenting} consent`,
    );
  }
  return { seconds, evaluated: value.evaluated, unreadable };
}

export async function benchResearch(opts: { quick?: boolean } = {}): Promise<Record<string, number>> {
  const quick = opts.quick === true;
  const samples = quick ? 10 : 40;
  const patients = quick ? 150 : 1000;
  const compute = aggregateCompute(quick ? 20 : 100);
  // Blocks may share a timestamp: enrolling 1,000 patients mines thousands of blocks in minutes,
  // and with one second per block the chain's clock would run an hour or more ahead of the
  // keyholders' (which refuse an access from the future beyond their clock skew).
  const conn = await network.create({ override: { allowBlocksWithSameTimestamp: true } });
  try {
    const [funder] = await conn.ethers.getSigners();
    const c = await setUpResearchConsortium({ provider: conn.ethers.provider, funder: funder!, http: true });
    try {
      const aggregate = await aggregateOverChain(c, samples);
      const enrollStart = performance.now();
      // Every tenth patient denies research and every tenth says nothing (the others permit).
      await c.enroll(syntheaCohort(patients), {
        research: (i) => (i % 10 === 3 ? "deny" : i % 10 === 7 ? "none" : "permit"),
      });
      const enrollSeconds = (performance.now() - enrollStart) / 1000;
      const study = await wholeStudy(c);
      return {
        researchAggregateP95Ms: round(percentile(aggregate, 95)),
        researchAggregateP50Ms: round(percentile(aggregate, 50)),
        researchAggregateSamples: aggregate.length,
        researchAggregateComputeP95Ms: round(percentile(compute, 95)),
        researchAggregateComputeP50Ms: round(percentile(compute, 50)),
        researchAggregateCells: queryLayout(parseQuery(histogramQuery())).cells,
        researchStudySeconds: round(study.seconds),
        researchStudyPatients: patients,
        researchStudyEvaluated: study.evaluated,
        researchStudyUnreadable: study.unreadable,
        researchEnrollSeconds: round(enrollSeconds),
        researchBenchLoadAvg: round(loadavg()[0] ?? 0),
      };
    } finally {
      await c.stop();
    }
  } finally {
    await conn.close();
  }
}

// `npx hardhat run bench/research.ts` (Hardhat passes the script's path, not flags; quick mode:
// MEDLEDGER_BENCH_QUICK=1): prints the figures and writes reports/research.json.
if (process.argv.slice(1).some((a) => resolve(a) === fileURLToPath(import.meta.url))) {
  const figures = await benchResearch({ quick: process.env.MEDLEDGER_BENCH_QUICK === "1" });
  console.log(JSON.stringify(figures, null, 2));
  console.log(
    `${figures.researchAggregateP95Ms! <= 200 ? "met   " : "MISSED"} researchAggregateP95Ms ${figures.researchAggregateP95Ms} ≤ 200`,
  );
  console.log(
    `${figures.researchStudySeconds! <= 30 ? "met   " : "MISSED"} researchStudySeconds ${figures.researchStudySeconds} ≤ 30 (${figures.researchStudyPatients} patients)`,
  );
  await mkdir("reports", { recursive: true });
  await writeFile("reports/research.json", JSON.stringify(figures, null, 2) + "\n");
  console.log("wrote reports/research.json");
}
