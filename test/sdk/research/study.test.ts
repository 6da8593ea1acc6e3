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
import type { ShareRefusedError } from "../../../sdk/research/errors.js";
import { AggregationPendingError, StudyRefusedError } from "../../../sdk/research/errors.js";
import { evaluateQuery } from "../../../sdk/research/evaluate.js";
import { toSigned } from "../../../sdk/research/field.js";
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

/** The consortium, with every server up (loadFixture returns the same object to every test). */
async function fixture(): Promise<ResearchConsortium> {
  const c = await networkHelpers.loadFixture(world);
  c.down.clear();
  return c;
}

async function world(): Promise<ResearchConsortium> {
  const [funder] = await conn.ethers.getSigners();
  const c = await setUpResearchConsortium({ provider: conn.ethers.provider, funder: funder! });
  await c.enroll(syntheaCohort(PATIENTS), { research: researchOf });
  return c;
}

/** The plaintext vector over `patients` (the "god view" the tests compare against). */
function plaintext(patients: readonly EnrolledPatient[]): bigint[] {
  return evaluateQuery(
    parsed,
    patients.map((p) => ({ resources: resourcesOf(p.data) })),
  ).vector;
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
  await research.approveStudy(c.boardMember.ml.context, {
    studyId,
    decision: "Ethics board decision 2026-17: approved",
  });
  const { value: runId } = await research.openRun(c.researcher.ml.context, { studyId, window: 600 });
  return { studyId, runId };
}

async function contributeAll(c: ResearchConsortium, studyId: `0x${string}`, runId: number, hospitals = c.hospitals) {
  const out = [];
  for (const h of hospitals)
    out.push(await research.contribute(h.steward.ml.context, { studyId, runId, query, servers: c.resolver }));
  return out;
}

const consenting = (c: ResearchConsortium, hospitals?: readonly number[]) =>
  c.patients.filter((p) => p.research === "permit" && (hospitals === undefined || hospitals.includes(p.hospital)));

describe("sdk/research: a study end to end", function () {
  this.timeout(300_000);

  it("the result equals a plaintext evaluation over exactly the consenting patients; denies and silence exclude", async () => {
    const c = await fixture();
    const { studyId, runId } = await approvedRun(c);
    const contributions = await contributeAll(c, studyId, runId);
    expect(contributions.map((x) => x.value.subjects)).to.deep.equal(
      c.hospitals.map((h) => consenting(c, [h.orgId]).length),
    );
    const { value: result, receipt } = await research.result(c.researcher.ml.context, {
      studyId,
      runId,
      query,
      servers: c.resolver,
    });
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
      (await p.member.ml.audit.accessHistory(p.subject)).filter((e) => e.basis === "STUDY");
    const yes = c.patients.find((p) => p.research === "permit")!;
    const reads = await history(yes);
    expect(reads).to.have.length(2);
    expect(reads.map((e) => [e.purpose, e.basisId, e.accessor])).to.deep.equal(
      reads.map(() => ["HRESCH", studyId, c.hospitals.find((h) => h.orgId === yes.hospital)!.steward.wallet.address]),
    );
    for (const p of c.patients.filter((x) => x.research !== "permit")) expect(await history(p)).to.deep.equal([]);
  });

  it("a re-run is idempotent: contributions, aggregation and result come back unchanged; a second run gives the same totals", async () => {
    const c = await fixture();
    const { studyId, runId } = await approvedRun(c);
    const first = await contributeAll(c, studyId, runId);
    const again = await contributeAll(c, studyId, runId);
    expect(again.map((x) => x.receipt)).to.deep.equal([null, null, null]);
    expect(again.map((x) => x.value.commitments)).to.deep.equal(first.map((x) => x.value.commitments));
    const r1 = await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
    const r2 = await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
    expect(r2.receipt).to.equal(null);
    expect(r2.value.digest).to.equal(r1.value.digest);
    for (const [id, server] of c.servers) {
      const answer = await server.aggregate({ studyId, runId });
      expect(answer.txHash).to.equal(undefined);
      expect(answer.commitment).to.equal(
        (await research.studyRegistryOf(c.researcher.ml.context).getSumShare(studyId, runId, id))[0],
      );
    }
    // The run is complete: a re-run opens run 2, which gives the same totals.
    const { value: run2 } = await research.openRun(c.researcher.ml.context, { studyId, window: 600 });
    expect(run2).to.equal(runId + 1);
    await contributeAll(c, studyId, run2);
    const r3 = await research.result(c.researcher.ml.context, { studyId, runId: run2, query, servers: c.resolver });
    expect(r3.value.groups).to.deep.equal(r1.value.groups);
    expect(r3.value.evaluated).to.equal(r1.value.evaluated);
  });

  it("an unapproved study cannot run; an expired one takes no reads; an other-purpose study reaches no one", async () => {
    const c = await fixture();
    const unapproved = await study(c);
    const err = await research.openRun(c.researcher.ml.context, { studyId: unapproved }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StudyRefusedError);
    expect((err as StudyRefusedError).reason).to.equal("StudyNotApproved");

    const now = (await conn.ethers.provider.getBlock("latest"))!.timestamp;
    const short = await approvedRun(c, { validUntil: now + 700 });
    await networkHelpers.time.increase(800);
    const expired = await research
      .contribute(c.hospitals[0]!.steward.ml.context, { ...short, query, servers: c.resolver })
      .catch((e: unknown) => e);
    expect(expired).to.be.instanceOf(StudyRefusedError);
    expect((expired as StudyRefusedError).reason).to.equal("StudyNotInWindow");

    // Every research consent here is for HRESCH: a CLINTRCH study reads no one.
    const trial = await approvedRun(c, { purpose: "CLINTRCH" });
    const contributions = await contributeAll(c, trial.studyId, trial.runId);
    expect(contributions.map((x) => x.value.subjects)).to.deep.equal([0, 0, 0]);
    const { value } = await research.result(c.researcher.ml.context, { ...trial, query, servers: c.resolver });
    expect(value.evaluated).to.equal(0);
    expect(value.groups.every((g) => g.count === 0)).to.equal(true);
    for (const p of c.patients) {
      const h = await p.member.ml.audit.accessHistory(p.subject);
      expect(h.filter((e) => e.basisId === trial.studyId)).to.deep.equal([]);
    }
  });

  it("a custodian that never contributes is excluded after the deadline, and the result says who contributed", async () => {
    const c = await fixture();
    const { studyId, runId } = await approvedRun(c);
    const two = c.hospitals.slice(0, 2);
    await contributeAll(c, studyId, runId, two);
    const early = await research
      .result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver })
      .catch((e: unknown) => e);
    expect(early).to.be.instanceOf(AggregationPendingError);
    expect((early as AggregationPendingError).waiting).to.deep.equal([
      {
        kind: "custodian",
        id: c.hospitals[2]!.orgId,
        reason: "NOT_CONTRIBUTED",
        message: (early as AggregationPendingError).waiting[0]!.message,
      },
    ]);
    await networkHelpers.time.increase(700);
    const { value } = await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
    expect(value.contributors).to.deep.equal(two.map((h) => h.orgId));
    expect(value.excluded).to.deep.equal([c.hospitals[2]!.orgId]);
    const expected = releaseResult({
      query: parsed,
      totals: plaintext(
        consenting(
          c,
          two.map((h) => h.orgId),
        ),
      ),
      studyId,
      runId,
      queryDigest: value.queryDigest,
      contributors: value.contributors,
      excluded: value.excluded,
      servers: value.servers,
      minCellSize: 3,
      epsilonMilli: 0,
    });
    expect(value.groups).to.deep.equal(expected.groups);
  });

  it("too few contributors: the servers refuse to aggregate and the result is refused for good", async () => {
    const c = await fixture();
    const { studyId, runId } = await approvedRun(c);
    await contributeAll(c, studyId, runId, c.hospitals.slice(0, 1));
    await networkHelpers.time.increase(700);
    const err = await research
      .result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver })
      .catch((e: unknown) => e);
    expect((err as StudyRefusedError).reason).to.equal("StudyTooFewContributions");
    const refused = await c.servers
      .get(1)!
      .aggregate({ studyId, runId })
      .catch((e: unknown) => e);
    expect((refused as ShareRefusedError).refusal).to.equal("TOO_FEW_CONTRIBUTORS");
  });

  it("a server that is down delays the run and is named; nothing is committed without it; it resumes when back", async () => {
    const c = await fixture();
    const { studyId, runId } = await approvedRun(c);
    const [a] = c.hospitals;
    c.down.add(2);
    const err = await research
      .contribute(a!.steward.ml.context, { studyId, runId, query, servers: c.resolver })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AggregationPendingError);
    expect((err as AggregationPendingError).waiting.map((w) => [w.kind, w.id, w.reason])).to.deep.equal([
      ["server", 2, "UNREACHABLE"],
    ]);
    expect((await research.getRun(c.researcher.ml.context, studyId, runId)).contributors).to.deep.equal([]);
    c.down.delete(2);
    await contributeAll(c, studyId, runId);
    c.down.add(3);
    const pending = await research
      .result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver })
      .catch((e: unknown) => e);
    expect((pending as AggregationPendingError).waiting.map((w) => [w.kind, w.id, w.reason])).to.deep.equal([
      ["server", 3, "UNREACHABLE"],
    ]);
    c.down.delete(3);
    const { value } = await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
    expect(value.evaluated).to.equal(consenting(c).length);
  });

  it("with differential privacy the counts lie within the documented bound of the plaintext; patients evaluated is exact", async () => {
    const c = await fixture();
    const { studyId, runId } = await approvedRun(c, { epsilon: 1 });
    await contributeAll(c, studyId, runId);
    const { value } = await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
    expect(value.privacy).to.deep.equal({
      mechanism: "discrete-laplace",
      epsilon: 1,
      noisePerServer: true,
      servers: 3,
    });
    const truth = plaintext(consenting(c)).map((x) => Number(toSigned(x)));
    expect(value.evaluated).to.equal(truth[0]);
    const layout = queryLayout(parsed);
    const scales = noiseScales(parsed, 1000);
    let compared = 0;
    value.groups.forEach((g, gi) => {
      const base = 1 + gi * layout.perGroup;
      const check = (released: number | null, cell: number) => {
        if (released === null) return;
        const bound = Number(noiseBound(scales[cell]!, 3, 1e-9));
        // Released counts are clamped at 0.
        expect(Math.abs(released - Math.max(0, truth[cell]!)) <= bound, `cell ${cell}`).to.equal(true);
        compared++;
      };
      check(g.count, base);
      const [m0, m1, m2] = g.measures as unknown as [
        { count: number | null },
        { count: number | null },
        { n: number | null },
      ];
      check(m0.count, base + 1);
      check(m1.count, base + 2);
      check(m2.n, base + 4);
    });
    expect(compared).to.be.greaterThan(0);
  });

  it("malformed or misdirected shares are refused with a typed code, and nothing is stored", async () => {
    const c = await fixture();
    const { studyId, runId } = await approvedRun(c);
    const a = c.hospitals[0]!;
    const ctx = a.steward.ml.context;
    const studies = research.studyRegistryOf(ctx);
    const studyRegistry = await studies.getAddress();
    const s = await research.getStudy(ctx, studyId);
    const k = await ctx.chain.keyholders.getKeyholder(1);
    const { sealVector, sealPayload, encodeShareContext } = await import("../../../sdk/research/seal.js");
    const { getBytes, hexlify } = await import("ethers");
    const { sha256 } = await import("@noble/hashes/sha2.js");
    const context = encodeShareContext({
      chainId: ctx.chain.chainId,
      studyRegistry,
      studyId,
      runId,
      custodianOrg: a.orgId,
      keyholderId: 1,
      index: 0,
      cells: s.cells,
    });
    const deliver = async (
      slot: Uint8Array,
      commitment: string,
      o: { signer?: typeof a.steward; keyholderId?: number; expiry?: number; digest?: string } = {},
    ) => {
      const delivery = {
        studyId,
        runId,
        keyholderId: o.keyholderId ?? 1,
        custodianOrg: a.orgId,
        commitment,
        slotDigest: o.digest ?? hexlify(sha256(slot)),
        expiry: o.expiry ?? Math.floor(Date.now() / 1000) + 60,
      };
      const signer = (o.signer ?? a.steward).wallet;
      const signature = await signer.signTypedData(
        research.aggregationDomain(ctx.chain.chainId, studyRegistry),
        research.AGGREGATION_SHARE_TYPES,
        delivery,
      );
      return c.servers
        .get(1)!
        .receiveShare({ delivery, signature, slot: hexlify(slot) })
        .then(
          () => "OK",
          (e: unknown) => (e as ShareRefusedError).refusal,
        );
    };
    const seal = (vector: bigint[]) =>
      sealVector({
        vector,
        recipientPublicKey: getBytes(k.encryptionKey),
        recipientKeyVersion: Number(k.keyVersion),
        context,
        label: "share",
      });
    const good = seal(new Array<bigint>(s.cells).fill(1n));
    const short = seal(new Array<bigint>(s.cells - 1).fill(1n));
    const payload = new Uint8Array(32 + 8 * s.cells);
    payload.fill(0xff, 32, 40); // element 0 ≥ p
    const outOfRange = sealPayload({
      payload,
      recipientPublicKey: getBytes(k.encryptionKey),
      recipientKeyVersion: Number(k.keyVersion),
      context,
      label: "share",
    });
    const tampered = good.slot.slice();
    tampered[50]! ^= 1;
    const results = {
      wrongLength: await deliver(short.slot, short.commitment),
      outOfRange: await deliver(outOfRange, good.commitment),
      wrongCommitment: await deliver(good.slot, short.commitment),
      tampered: await deliver(tampered, good.commitment),
      digestMismatch: await deliver(good.slot, good.commitment, { digest: hexlify(sha256(tampered)) }),
      notACustodian: await deliver(good.slot, good.commitment, { signer: c.researcher }),
      otherServer: await deliver(good.slot, good.commitment, { keyholderId: 2 }),
      expired: await deliver(good.slot, good.commitment, { expiry: 1 }),
      garbage: await c.servers
        .get(1)!
        .receiveShare({ delivery: "x" })
        .then(
          () => "OK",
          (e: unknown) => (e as ShareRefusedError).refusal,
        ),
    };
    expect(results).to.deep.equal({
      wrongLength: "BAD_LENGTH",
      outOfRange: "OUT_OF_RANGE",
      wrongCommitment: "BAD_COMMITMENT",
      tampered: "BAD_SLOT",
      digestMismatch: "BAD_SLOT",
      notACustodian: "NOT_CUSTODIAN",
      otherServer: "NOT_SERVER",
      expired: "EXPIRED",
      garbage: "BAD_REQUEST",
    });
    expect((await c.servers.get(1)!.runStatus({ studyId, runId })).shares).to.deep.equal([]);
    expect(await deliver(good.slot, good.commitment)).to.equal("OK");
    expect((await c.servers.get(1)!.runStatus({ studyId, runId })).shares).to.deep.equal([a.orgId]);
  });

  it("no API returns a per-hospital value: contributions, server answers and the result hold only commitments, counts on chain and totals", async () => {
    const c = await fixture();
    const { studyId, runId } = await approvedRun(c);
    const outputs: unknown[] = [];
    for (const x of await contributeAll(c, studyId, runId)) {
      expect(Object.keys(x.value).sort()).to.deep.equal([
        "accessTxs",
        "commitments",
        "custodianOrg",
        "runId",
        "servers",
        "studyId",
        "subjects",
        "unreadable",
      ]);
      outputs.push(x.value);
    }
    for (const server of c.servers.values()) {
      const agg = await server.aggregate({ studyId, runId });
      expect(
        Object.keys(agg)
          .filter((k) => k !== "txHash")
          .sort(),
      ).to.deep.equal(["commitment", "contributors", "contributorsDigest", "keyholderId"]);
      outputs.push(agg, await server.runStatus({ studyId, runId }));
    }
    const { value } = await research.result(c.researcher.ml.context, { studyId, runId, query, servers: c.resolver });
    outputs.push(value);
    // Each hospital's own vector (what only it ever held in clear) appears nowhere.
    const text = JSON.stringify(outputs, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    for (const h of c.hospitals) {
      const own = plaintext(consenting(c, [h.orgId])).map((x) => Number(toSigned(x)));
      const total = plaintext(consenting(c)).map((x) => Number(toSigned(x)));
      // Cells where this hospital's value differs from the total (so finding it would be a leak).
      const telling = own.map((v, i) => [i, v] as const).filter(([i, v]) => v !== total[i] && v > 0);
      expect(telling.length).to.be.greaterThan(0);
      const signature = own.slice(1, 16).join(",");
      expect(text.includes(`[${signature}`), `hospital ${h.orgId}'s vector`).to.equal(false);
    }
  });
});
