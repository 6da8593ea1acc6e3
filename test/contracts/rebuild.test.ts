/**
 * State rebuilt from events alone (sdk/audit/replay.ts) equals every field of every view, after a
 * scenario that calls every state-changing function of the four contracts; commitments included.
 */
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { network } from "hardhat";

import { fetchLedgerEvents, recordKey, replay } from "../../sdk/audit/replay.js";
import type { LedgerState } from "../../sdk/audit/replay.js";
import { buildWorld } from "../../fixtures/world.js";
import type { World } from "../../fixtures/world.js";
import { runScenario } from "../../fixtures/contract-scenario.js";
import type { ScenarioResult } from "../../fixtures/contract-scenario.js";

const conn = await network.create();
const { networkHelpers } = conn;

describe("state rebuilt from events alone equals the contracts' views, field by field", () => {
  async function scenarioWorld(): Promise<{ w: World; result: ScenarioResult; state: LedgerState }> {
    const w = await buildWorld(conn);
    const result = await runScenario(w);
    const events = await fetchLedgerEvents(
      conn.ethers.provider,
      {
        directory: await w.directory.getAddress(),
        consents: await w.consents.getAddress(),
        records: await w.records.getAddress(),
        keyholders: await w.keyholders.getAddress(),
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

  it("practitioners (ids, suspensions, bars, keys) and accounts' own keys", async () => {
    const { w, state } = await networkHelpers.loadFixture(scenarioWorld);
    expect(state.practitioners.size).to.equal(Number(await w.directory.practitionerCount()));
    for (const [account, p] of state.practitioners) {
      const v = await w.directory.getPractitioner(account);
      expect([
        p.practitionerId,
        p.orgId,
        p.roles,
        p.credentialValidUntil,
        p.suspended,
        p.barred,
        p.encryptionKey,
        p.keyVersion,
      ]).to.deep.equal([
        Number(v.practitionerId),
        Number(v.orgId),
        Number(v.roles),
        v.credentialValidUntil,
        v.suspended,
        v.barred,
        v.encryptionKey,
        Number(v.keyVersion),
      ]);
      expect(await w.directory.practitionerAccount(p.practitionerId)).to.equal(account);
    }
    expect(state.accountKeys.size).to.equal(1);
    for (const [account, k] of state.accountKeys) {
      const [key, version] = await w.directory.getAccountKey(account);
      expect([k.encryptionKey, k.keyVersion]).to.deep.equal([key, Number(version)]);
    }
  });

  it("patients: derived ids, controllers after rotation and recovery, guardians with appointments, break-glass preference", async () => {
    const { w, state, result } = await networkHelpers.loadFixture(scenarioWorld);
    expect([...state.patients.keys()]).to.have.members([w.subject, result.secondSubject]);
    for (const [subject, p] of state.patients) {
      expect(await w.directory.subjectIdFor(p.registeredBy, p.salt)).to.equal(subject);
      const [controller, key, keyVersion, threshold, epoch] = await w.directory.getPatient(subject);
      expect([p.controller, p.encryptionKey, p.keyVersion, p.recoveryThreshold, p.epoch]).to.deep.equal([
        controller,
        key,
        Number(keyVersion),
        Number(threshold),
        Number(epoch),
      ]);
      for (const [guardian, g] of p.guardians) {
        const [powers, validUntil, appointment] = await w.directory.getGuardian(subject, guardian);
        expect([g.powers, g.validUntil, g.appointment]).to.deep.equal([
          Number(powers),
          validUntil,
          Number(appointment),
        ]);
      }
      expect(p.breakGlassOptedOut).to.equal(await w.consents.breakGlassOptedOut(subject));
    }
    expect(state.patients.get(result.secondSubject)!.controller).to.equal(result.recovered);
  });

  it("consents: every stored field, counts, and the emitted sealed-terms commitments", async () => {
    const { w, state, result } = await networkHelpers.loadFixture(scenarioWorld);
    expect(state.consentCount.get(w.subject)).to.equal(Number(await w.consents.consentCount(w.subject)));
    expect(state.consents.size).to.equal(5);
    for (const [id, c] of state.consents) {
      expect(await w.consents.consentIdAt(c.subject, c.sequence)).to.equal(id);
      const v = await w.consents.getConsent(c.subject, id);
      expect({ ...c.terms, revokedAt: c.revokedAt, sequence: c.sequence, byGuardian: c.byGuardian }).to.deep.equal({
        effect: Number(v.effect),
        granteeKind: Number(v.granteeKind),
        granteeAccount: v.granteeAccount,
        granteeOrg: Number(v.granteeOrg),
        granteeRoles: Number(v.granteeRoles),
        categories: Number(v.categories),
        purposes: Number(v.purposes),
        actions: Number(v.actions),
        validFrom: v.validFrom,
        validUntil: v.validUntil,
        sealedTerms: result.sealedTerms.get(id),
        revokedAt: v.revokedAt,
        sequence: Number(v.sequence),
        byGuardian: v.byGuardian,
      });
      expect(c.terms.sealedTerms).to.not.equal(ethersLib.ZeroHash);
    }
    expect(new Set([...state.consents.values()].map((c) => c.terms.sealedTerms)).size).to.equal(state.consents.size);
  });

  it("records: commitments, heads, superseded versions, batch members, tombstones; batches with tags", async () => {
    const { w, state, result } = await networkHelpers.loadFixture(scenarioWorld);
    expect([...state.records.values()].map((r) => r.recordId)).to.have.members(result.recordIds);
    for (const r of state.records.values()) {
      const v = await w.records.getRecord(r.subject, r.recordId);
      expect([r.commitment, r.custodian, r.category, r.anchoredAt, r.erasedAt, r.superseded]).to.deep.equal([
        v.commitment,
        Number(v.custodian),
        Number(v.category),
        v.anchoredAt,
        v.erasedAt,
        v.superseded,
      ]);
      expect(r.digest).to.equal(result.digests.get(r.recordId));
      expect(r.labelCommitment).to.equal(result.labels.get(r.recordId));
      expect(await w.records.recordCommitment(r.digest, r.labelCommitment)).to.equal(v.commitment);
    }
    const heads = [...state.records.values()].filter((r) => !r.superseded);
    expect(heads).to.have.length(result.recordIds.length - 2);
    const batch = state.batches.get(recordKey(w.subject, result.batchRoot))!;
    const [tag, custodian, count, categories, anchoredAt] = await w.records.getBatch(w.subject, result.batchRoot);
    expect([batch.tag, batch.custodian, batch.count, batch.categories, batch.anchoredAt]).to.deep.equal([
      tag,
      Number(custodian),
      Number(count),
      Number(categories),
      anchoredAt,
    ]);
    expect(batch.tag).to.equal(result.batchTag);
    for (const r of state.records.values()) {
      if (r.batchRoot !== undefined) expect(r.recordId.slice(0, 34)).to.equal(batch.tag);
    }
  });

  it("accesses, break-glass sessions with their independent reviewer, pending reviews", async () => {
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
    expect(s.reviewerOrg).to.equal(w.lab).and.to.not.equal(s.orgId);
    for (const [org, pending] of state.pendingReviews) {
      expect(pending).to.equal(Number(await w.records.pendingReviews(org)));
    }
  });

  it("the keyholder set: members, keys, accounts, endpoints, threshold, epoch and release-log anchors", async () => {
    const { w, state } = await networkHelpers.loadFixture(scenarioWorld);
    expect(state.keyholders.size).to.equal(Number(await w.keyholders.keyholderCount()));
    for (const [id, k] of state.keyholders) {
      const [orgId, account, key, keyVersion, active, endpoint] = await w.keyholders.getKeyholder(id);
      expect([k.orgId, k.account, k.encryptionKey, k.keyVersion, k.active, k.endpoint]).to.deep.equal([
        Number(orgId),
        account,
        key,
        Number(keyVersion),
        active,
        endpoint,
      ]);
      const [sequence, head, anchoredAt] = await w.keyholders.lastReleaseLog(id);
      expect([k.lastLogSequence, k.lastLogHead, k.lastLogAt]).to.deep.equal([sequence, head, anchoredAt]);
    }
    expect(state.keyholderThreshold).to.equal(Number(await w.keyholders.threshold()));
    expect(state.keyholderEpoch).to.equal(await w.keyholders.epoch());
    const active = [...state.keyholders.entries()].filter(([, k]) => k.active).map(([id]) => BigInt(id));
    expect(await w.keyholders.activeKeyholders()).to.deep.equal(active);
  });

  it("migration: every migratable contract was sealed before use", async () => {
    const { w, state } = await networkHelpers.loadFixture(scenarioWorld);
    expect([...state.migrationSealed]).to.have.members(["directory", "consents", "records"]);
    for (const c of [w.directory, w.consents, w.records]) expect(await c.migrationSealed()).to.equal(true);
  });
});
