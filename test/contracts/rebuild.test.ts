import { expect } from "chai";
import { network } from "hardhat";

import { fetchLedgerEvents, replay } from "../../sdk/audit/replay.js";
import type { LedgerState } from "../../sdk/audit/replay.js";
import { buildWorld } from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";
import { runScenario } from "../../fixtures/contract-scenario.js";
import type { ScenarioResult } from "../../fixtures/contract-scenario.js";

const conn = await network.create();
const { networkHelpers } = conn;

describe("state rebuilt from events alone equals the contracts' views", () => {
  async function scenarioWorld(): Promise<{ w: World; result: ScenarioResult; state: LedgerState }> {
    const w = await buildWorld(conn);
    const result = await runScenario(w);
    const events = await fetchLedgerEvents(
      conn.ethers.provider,
      {
        directory: await w.directory.getAddress(),
        consents: await w.consents.getAddress(),
        records: await w.records.getAddress(),
      },
      { fromBlock: 0, pageSize: 7 },
    );
    return { w, result, state: replay(events) };
  }

  it("organizations", async () => {
    const { w, state } = await networkHelpers.loadFixture(scenarioWorld);
    expect(state.organizations.size).to.equal(Number(await w.directory.organizationCount()));
    for (const [orgId, org] of state.organizations) {
      const [kind, admin, suspended, key, keyVersion] = await w.directory.getOrganization(orgId);
      expect([org.kind, org.admin, org.suspended, org.encryptionKey, org.keyVersion]).to.deep.equal([
        Number(kind),
        admin,
        suspended,
        key,
        Number(keyVersion),
      ]);
    }
  });

  it("practitioners and their accessor status inputs", async () => {
    const { w, state } = await networkHelpers.loadFixture(scenarioWorld);
    expect(state.practitioners.size).to.equal(5);
    for (const [account, p] of state.practitioners) {
      const [orgId, roles, until, suspended, key, keyVersion] = await w.directory.getPractitioner(account);
      expect([p.orgId, p.roles, p.credentialValidUntil, p.suspended, p.encryptionKey, p.keyVersion]).to.deep.equal([
        Number(orgId),
        Number(roles),
        until,
        suspended,
        key,
        Number(keyVersion),
      ]);
    }
  });

  it("patients, controllers after rotation and recovery, guardians, break-glass preference", async () => {
    const { w, state, result } = await networkHelpers.loadFixture(scenarioWorld);
    expect([...state.patients.keys()]).to.have.members([w.subject, result.secondSubject]);
    for (const [subject, p] of state.patients) {
      const [controller, key, keyVersion, threshold, epoch] = await w.directory.getPatient(subject);
      expect([p.controller, p.encryptionKey, p.keyVersion, p.recoveryThreshold, p.epoch]).to.deep.equal([
        controller,
        key,
        Number(keyVersion),
        Number(threshold),
        Number(epoch),
      ]);
      for (const [guardian, g] of p.guardians) {
        const [powers, validUntil] = await w.directory.getGuardian(subject, guardian);
        expect([g.powers, g.validUntil]).to.deep.equal([Number(powers), validUntil]);
      }
      expect(p.breakGlassOptedOut).to.equal(await w.consents.breakGlassOptedOut(subject));
    }
    expect(state.patients.get(result.secondSubject)!.controller).to.equal(w.signers[14]!.address);
  });

  it("consents: terms, revocations and counts", async () => {
    const { w, state } = await networkHelpers.loadFixture(scenarioWorld);
    expect(state.consentCount.get(w.subject)).to.equal(Number(await w.consents.consentCount(w.subject)));
    expect(state.consents.size).to.equal(4);
    for (const [id, c] of state.consents) {
      expect(await w.consents.consentIdAt(c.subject, c.sequence)).to.equal(id);
      const [t, revokedAt] = await w.consents.getConsent(c.subject, id);
      expect(c.revokedAt).to.equal(revokedAt);
      expect(c.terms).to.deep.equal({
        effect: Number(t.effect),
        granteeKind: Number(t.granteeKind),
        granteeAccount: t.granteeAccount,
        granteeOrg: Number(t.granteeOrg),
        granteeRoles: Number(t.granteeRoles),
        categories: Number(t.categories),
        purposes: Number(t.purposes),
        actions: Number(t.actions),
        validFrom: t.validFrom,
        validUntil: t.validUntil,
      });
    }
  });

  it("records: heads, superseded versions, batch members, tombstones", async () => {
    const { w, state, result } = await networkHelpers.loadFixture(scenarioWorld);
    expect([...state.records.keys()]).to.have.members(result.recordIds);
    for (const [id, r] of state.records) {
      const [subject, digest, custodian, category, anchoredAt, erasedAt, superseded] = await w.records.getRecord(id);
      expect([r.subject, r.digest, r.custodian, r.category, r.anchoredAt, r.erasedAt, r.superseded]).to.deep.equal([
        subject,
        digest,
        Number(custodian),
        Number(category),
        anchoredAt,
        erasedAt,
        superseded,
      ]);
    }
    const heads = [...state.records.values()].filter((r) => !r.superseded);
    expect(heads).to.have.length(result.recordIds.length - 2);
    const [bSubject, bCustodian, bCount, bCategories, bAnchoredAt] = await w.records.getBatch(result.batchRoot);
    const batch = state.batches.get(result.batchRoot)!;
    expect([batch.subject, batch.custodian, batch.count, batch.categories, batch.anchoredAt]).to.deep.equal([
      bSubject,
      Number(bCustodian),
      Number(bCount),
      Number(bCategories),
      bAnchoredAt,
    ]);
  });

  it("accesses, break-glass sessions and pending reviews", async () => {
    const { w, state, result } = await networkHelpers.loadFixture(scenarioWorld);
    // access (1) + batch (3) + subject (1) + break-glass (2)
    expect(state.accesses).to.have.length(7);
    expect(state.accesses.map((a) => a.basis)).to.deep.equal([1, 1, 1, 1, 3, 2, 2]);
    const [subject, responder, orgId, purpose, reasonCode, expiresAt, outcome] = await w.records.getEmergencySession(
      result.sessionId,
    );
    const s = state.sessions.get(Number(result.sessionId))!;
    expect([s.subject, s.responder, s.orgId, s.purpose, s.reasonCode, s.expiresAt, s.outcome]).to.deep.equal([
      subject,
      responder,
      Number(orgId),
      Number(purpose),
      Number(reasonCode),
      expiresAt,
      Number(outcome),
    ]);
    for (const [org, pending] of state.pendingReviews) {
      expect(pending).to.equal(Number(await w.records.pendingReviews(org)));
    }
  });
});
