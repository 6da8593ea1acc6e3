/**
 * Sealed labels enforced by the keyholder network (issue "sealed sensitive labels", tests 4–6):
 * anvil, contracts 1.1, three keyholder services as real processes (k = 2), the KeyholderNetwork
 * client over HTTP; chain writes are direct TypeChain calls. Keyholder 1 is the policy keyholder,
 * keyholder 2 hospital a's (the custodian keyholder of the doctor's records), keyholder 3 hospital
 * b's. The tests share one world and run in order; the completeness audit comes last (it moves the
 * chain's clock forward).
 */
import { expect } from "chai";
import { Wallet, getBytes, hexlify, keccak256, randomBytes } from "ethers";
import fc from "fast-check";

import type { Hex } from "../../../sdk/types.js";
import { auditCollected, collectAudit } from "../../../sdk/keyholder/audit.js";
import type { CollectedAudit, KeyholderExport } from "../../../sdk/keyholder/audit.js";
import { KeyReleaseRefusedError } from "../../../sdk/keyholder/client.js";
import { canonicalJson, genesisHead, nextHead, openLogRows } from "../../../sdk/keyholder/log.js";
import type { LogEntry } from "../../../sdk/keyholder/log.js";
import {
  KEY_RELEASE_TYPES,
  LOG_QUERY_TYPES,
  POLICY_TOKEN_TYPES,
  SEALED_OPENINGS_TYPES,
} from "../../../sdk/keyholder/protocol.js";
import type { PolicyToken, SignedPolicyToken, KeyholderRefusal } from "../../../sdk/keyholder/protocol.js";
import { deriveAuditKeys, sealLogEntry } from "../../../sdk/keyholder/vault.js";
import { sealLabels, sealTerms } from "../../../sdk/sealed/commitments.js";
import { OpeningKind, sealTermsOpening } from "../../../sdk/sealed/openings.js";
import { LABEL, PURPOSE, ROLE, startKeyholderWorld } from "../../../fixtures/keyholders.js";
import { refusal, refused } from "./helpers.js";
import type { KeyholderProcess, KeyholderWorld, Person } from "../../../fixtures/keyholders.js";
import { LABEL_NAMES, modelAllows } from "./sealed-model.js";
import type { LabelName, ModelConsent } from "./sealed-model.js";

const ALL = 0x0f;
const CADENCE = 600;

describe("sealed labels: three keyholder processes, k = 2, on anvil", function () {
  this.timeout(900_000);
  let w: KeyholderWorld;
  let kh1: KeyholderProcess;
  let kh2: KeyholderProcess;
  let kh3: KeyholderProcess;
  /** Openings a test withheld on purpose, delivered before the completeness audit's control run. */
  const withheld: (() => Promise<void>)[] = [];
  const sealedMessages = new Set<string>();

  before(async () => {
    w = await startKeyholderWorld({ n: 3, k: 2 });
    [kh1, kh2, kh3] = w.keyholders as [KeyholderProcess, KeyholderProcess, KeyholderProcess];
  });
  after(async () => {
    await w?.stop();
  });

  const release = (reader: Person, recordId: Hex, accessTx: Hex, subject = w.subject) =>
    w.network.release({ reader: reader.wallet, readerKeys: reader.keys, subject, recordId, accessTx });

  /** What records.get does: preflight (no access logged if refused), access with the hint, release. */
  async function sdkRead(reader: Person, recordId: Hex, purpose: number, subject = w.subject) {
    const { consentHint } = await w.network.preflight({ reader: reader.wallet, subject, recordId, purpose });
    const tx = await w.access(reader, recordId, purpose, consentHint, subject);
    return release(reader, recordId, tx, subject);
  }

  /** Only the custodian keyholder (k2) refused, with SEALED_DENIED. */
  function sealedBy(err: KeyReleaseRefusedError) {
    const f = err.failures.find((x) => x.keyholderId === kh2.id);
    expect(f?.code, err.message).to.equal("SEALED_DENIED");
    sealedMessages.add(f!.message);
  }

  /** A new patient whose records the doctor (hospital a) may write. */
  async function patientWithWriter(): Promise<{ subject: Hex; patient: Person }> {
    const p = await w.newPatient();
    await w.grant(
      { granteeKind: 1, granteeOrg: w.orgs.a, granteeRoles: ROLE.CLINICIAN, actions: 2 },
      {},
      { by: p.patient, subject: p.subject },
    );
    return p;
  }

  const denyTerms = (over: Record<string, unknown>) => ({ effect: 1, categories: 0, actions: 1, ...over });

  it("a sealed deny beats a public permit, at the release block and at the access block", async () => {
    const { subject, patient } = await patientWithWriter();
    const on = { by: patient, subject };
    const permit = await w.grant({ granteeAccount: w.doctorB.wallet.address, actions: 1 }, { allowLabels: ALL }, on);
    const su = await w.writeRecord({ subject, labels: LABEL.SUBSTANCE_USE });
    const plain = await w.writeRecord({ subject, labels: 0 });
    expect(await sdkRead(w.doctorB, su.recordId, PURPOSE.TREAT, subject), "control").to.deep.equal(su.dataKey);

    const loggedBefore = await w.access(w.doctorB, su.recordId, PURPOSE.TREAT, permit.consentId, subject);
    // A sealed-only deny: its public mask is empty, so the chain still lets doctorB log accesses.
    const deny = await w.grant(
      denyTerms({ granteeAccount: w.doctorB.wallet.address }),
      { denyLabels: LABEL.SUBSTANCE_USE },
      on,
    );
    const loggedDuring = await w.access(w.doctorB, su.recordId, PURPOSE.TREAT, permit.consentId, subject);
    for (const tx of [loggedBefore, loggedDuring]) {
      const err = await refusal(release(w.doctorB, su.recordId, tx, subject));
      sealedBy(err);
      expect(err.failures, "no other keyholder is asked without a token").to.have.length(1);
    }
    sealedBy(
      await refusal(
        w.network.preflight({ reader: w.doctorB.wallet, subject, recordId: su.recordId, purpose: PURPOSE.TREAT }),
      ),
    );
    // The deny's labels do not meet an unlabelled record.
    expect(await sdkRead(w.doctorB, plain.recordId, PURPOSE.TREAT, subject)).to.deep.equal(plain.dataKey);

    // Lifted: an access logged while it was in force stays refused (checked at the access block);
    // a fresh access is released.
    await (await w.consents.connect(patient.wallet).revoke(subject, deny.consentId)).wait();
    sealedBy(await refusal(release(w.doctorB, su.recordId, loggedDuring, subject)));
    expect(await sdkRead(w.doctorB, su.recordId, PURPOSE.TREAT, subject)).to.deep.equal(su.dataKey);
  });

  it("a sealed permit without its opening releases nothing, labelled or not; missing openings fail closed", async () => {
    const { subject, patient } = await patientWithWriter();
    const on = { by: patient, subject };
    const plain = await w.writeRecord({ subject, labels: 0 });
    const permit = await w.grant(
      { granteeAccount: w.doctorC.wallet.address, actions: 1 },
      { allowLabels: ALL },
      { ...on, deliver: false },
    );
    sealedBy(
      await refusal(
        w.network.preflight({ reader: w.doctorC.wallet, subject, recordId: plain.recordId, purpose: PURPOSE.TREAT }),
      ),
    );
    const tx = await w.access(w.doctorC, plain.recordId, PURPOSE.TREAT, permit.consentId, subject);
    sealedBy(await refusal(release(w.doctorC, plain.recordId, tx, subject)));
    // The other keyholders, asked directly, want the custodian keyholder's token.
    for (const kh of [kh1, kh3]) {
      const request = {
        keyholderIds: [kh.id],
        reader: w.doctorC.wallet.address,
        subject,
        recordId: plain.recordId,
        accessTx: tx,
        nonce: hexlify(randomBytes(32)) as Hex,
        expiry: Math.floor(Date.now() / 1000) + 60,
      };
      const signature = (await w.doctorC.wallet.signTypedData(w.network.domain, KEY_RELEASE_TYPES, request)) as Hex;
      expect((await refused(w.network.api(member(kh)).release({ request, signature }))).refusal).to.equal(
        "TOKEN_MISSING",
      );
    }
    await w.network.depositTermsOpening({
      by: patient.wallet,
      subject,
      consentId: permit.consentId,
      opening: permit.opening,
    });
    expect(await sdkRead(w.doctorC, plain.recordId, PURPOSE.TREAT, subject)).to.deep.equal(plain.dataKey);

    // A record whose label opening never reached its custodian keyholder: refused to every consent
    // reader; the subject (basis SUBJECT) still reads it.
    const unlabelled = await w.writeRecord({ subject, labels: LABEL.GENETICS, deliverLabels: false });
    sealedBy(await refusal(sdkRead(w.doctorC, unlabelled.recordId, PURPOSE.TREAT, subject)));
    expect(await sdkRead(patient, unlabelled.recordId, PURPOSE.PATRQT, subject)).to.deep.equal(unlabelled.dataKey);
    withheld.push(() => w.network.depositLabelOpening({ by: w.doctor.wallet, opening: unlabelled.opening }));

    // An active deny whose opening is missing refuses even an unlabelled record (the patient's denies win).
    const deny = await w.grant(
      denyTerms({ granteeAccount: w.doctorC.wallet.address }),
      { denyLabels: LABEL.MENTAL_HEALTH },
      { ...on, deliver: false },
    );
    sealedBy(await refusal(sdkRead(w.doctorC, plain.recordId, PURPOSE.TREAT, subject)));
    expect(await sdkRead(patient, plain.recordId, PURPOSE.PATRQT, subject)).to.deep.equal(plain.dataKey);
    withheld.push(() =>
      w.network.depositTermsOpening({ by: patient.wallet, subject, consentId: deny.consentId, opening: deny.opening }),
    );
  });

  it("subject reads (the patient, an ACCESS guardian) are bound by no sealed deny", async () => {
    const mh = await w.writeRecord({ labels: LABEL.MENTAL_HEALTH });
    await w.grant(denyTerms({ granteeKind: 1, granteeOrg: 0, granteeRoles: 0x3f, purposes: 0x3ff }), {
      denyLabels: ALL,
    });
    expect(await sdkRead(w.guardian, mh.recordId, PURPOSE.PATRQT)).to.deep.equal(mh.dataKey);
    expect(await sdkRead(w.patient, mh.recordId, PURPOSE.PATRQT)).to.deep.equal(mh.dataKey);
    sealedBy(await refusal(sdkRead(w.doctor, mh.recordId, PURPOSE.TREAT)));
  });

  it("break-glass: bound by exactly the denies covering the emergency purpose used", async () => {
    const { subject, patient } = await patientWithWriter();
    const on = { by: patient, subject };
    const mh = await w.writeRecord({ subject, labels: LABEL.MENTAL_HEALTH });
    const glass = async (purpose: number) => {
      const tx = await w.records.connect(w.responder.wallet).breakGlassAccess(subject, [mh.recordId], purpose, 7);
      await tx.wait();
      return tx.hash as Hex;
    };
    expect(await release(w.responder, mh.recordId, await glass(PURPOSE.ETREAT), subject)).to.deep.equal(mh.dataKey);
    // "Never to payment" does not refuse emergency care.
    await w.grant(
      denyTerms({ granteeAccount: w.responder.wallet.address, purposes: 1 << PURPOSE.HPAYMT }),
      { denyLabels: ALL },
      on,
    );
    expect(await release(w.responder, mh.recordId, await glass(PURPOSE.ETREAT), subject)).to.deep.equal(mh.dataKey);
    // A deny naming the responder's role at its organization for ETREAT binds ETREAT reads, not BTG ones.
    await w.grant(
      denyTerms({
        granteeKind: 1,
        granteeOrg: w.orgs.a,
        granteeRoles: ROLE.EMERGENCY_RESPONDER,
        purposes: 1 << PURPOSE.ETREAT,
      }),
      { denyLabels: LABEL.MENTAL_HEALTH },
      on,
    );
    sealedBy(
      await refusal(
        w.network.preflight({ reader: w.responder.wallet, subject, recordId: mh.recordId, purpose: PURPOSE.ETREAT }),
      ),
    );
    sealedBy(await refusal(release(w.responder, mh.recordId, await glass(PURPOSE.ETREAT), subject)));
    expect(await release(w.responder, mh.recordId, await glass(PURPOSE.BTG), subject)).to.deep.equal(mh.dataKey);
  });

  it("a forged or expired policy token is refused by the other keyholders", async () => {
    const { recordId, dataKey } = await w.writeRecord();
    const accessTx = await w.access(w.doctor, recordId);
    const signed = async (kh: KeyholderProcess) => {
      const request = {
        keyholderIds: [kh.id],
        reader: w.doctor.wallet.address,
        subject: w.subject,
        recordId,
        accessTx,
        nonce: hexlify(randomBytes(32)) as Hex,
        expiry: Math.floor(Date.now() / 1000) + 60,
      };
      return {
        request,
        signature: (await w.doctor.wallet.signTypedData(w.network.domain, KEY_RELEASE_TYPES, request)) as Hex,
      };
    };
    const { policyToken } = await w.network.api(member(kh2)).release(await signed(kh2));
    expect(policyToken?.token.keyholderId).to.equal(kh2.id);
    const valid = policyToken!;
    const signAs = async (kh: KeyholderProcess, token: PolicyToken): Promise<SignedPolicyToken> => ({
      token,
      signature: (await new Wallet(hexlify(kh.identity.signingKey)).signTypedData(
        w.network.domain,
        POLICY_TOKEN_TYPES,
        token,
      )) as Hex,
    });
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, SignedPolicyToken | undefined, string][] = [
      ["no token", undefined, "TOKEN_MISSING"],
      ["signed by another keyholder in the custodian's name", await signAs(kh1, valid.token), "TOKEN_INVALID"],
      ["another keyholder's own token", await signAs(kh1, { ...valid.token, keyholderId: kh1.id }), "TOKEN_INVALID"],
      [
        "the custodian's token for another access",
        await signAs(kh2, { ...valid.token, accessTx: hexlify(randomBytes(32)) as Hex }),
        "TOKEN_INVALID",
      ],
      ["for another reader", { ...valid, token: { ...valid.token, reader: w.nurse.wallet.address } }, "TOKEN_INVALID"],
      ["expired", await signAs(kh2, { ...valid.token, expiry: now - 1 }), "TOKEN_EXPIRED"],
      ["expiring too far ahead", await signAs(kh2, { ...valid.token, expiry: now + 3600 }), "TOKEN_INVALID"],
      ["a garbage signature", { ...valid, signature: `0x${"11".repeat(65)}` }, "TOKEN_INVALID"],
    ];
    for (const [what, token, code] of cases) {
      const body = { ...(await signed(kh3)), ...(token === undefined ? {} : { token }) };
      expect((await refused(w.network.api(member(kh3)).release(body))).refusal, what).to.equal(code);
    }
    const ok = await w.network.api(member(kh3)).release({ ...(await signed(kh3)), token: valid });
    expect(ok.keyholderId).to.equal(kh3.id);
    expect(ok.policyToken, "only the custodian keyholder issues tokens").to.equal(undefined);
    expect(await release(w.doctor, recordId, accessTx)).to.deep.equal(dataKey);
  });

  it("a preflight refusal leaves nothing on chain: no access transaction, no new block, no log", async () => {
    const { subject, patient } = await patientWithWriter();
    const on = { by: patient, subject };
    await w.grant({ granteeAccount: w.doctorB.wallet.address, actions: 1 }, { allowLabels: ALL }, on);
    await w.grant(denyTerms({ granteeAccount: w.doctorB.wallet.address }), { denyLabels: LABEL.GENETICS }, on);
    const gen = await w.writeRecord({ subject, labels: LABEL.GENETICS | LABEL.MENTAL_HEALTH });
    const before = {
      block: await w.provider.getBlockNumber(),
      nonce: await w.provider.getTransactionCount(w.doctorB.wallet.address),
      logs: (await w.provider.getLogs({ fromBlock: 0, toBlock: "latest" })).length,
    };
    sealedBy(await refusal(sdkRead(w.doctorB, gen.recordId, PURPOSE.TREAT, subject)));
    expect(await w.provider.getBlockNumber()).to.equal(before.block);
    expect(await w.provider.getTransactionCount(w.doctorB.wallet.address)).to.equal(before.nonce);
    expect((await w.provider.getLogs({ fromBlock: 0, toBlock: "latest" })).length).to.equal(before.logs);
    expect(await w.records.queryFilter(w.records.filters.RecordAccessed(subject, gen.recordId))).to.have.length(0);
  });

  it("deny wins end to end: the custodian keyholder's decisions match the independent model", async () => {
    const labelsArb = fc.subarray([...LABEL_NAMES]).map((a) => new Set<LabelName>(a));
    const grantees = [
      { name: "doctorB", terms: () => ({ granteeAccount: w.doctorB.wallet.address }) },
      {
        name: "org b clinicians",
        terms: () => ({ granteeKind: 1, granteeOrg: w.orgs.b, granteeRoles: ROLE.CLINICIAN }),
      },
      {
        name: "org a clinicians",
        terms: () => ({ granteeKind: 1, granteeOrg: w.orgs.a, granteeRoles: ROLE.CLINICIAN }),
      },
      {
        name: "any org responders",
        terms: () => ({ granteeKind: 1, granteeOrg: 0, granteeRoles: ROLE.EMERGENCY_RESPONDER }),
      },
    ];
    const mask = (s: ReadonlySet<LabelName>) => LABEL_NAMES.reduce((m, l, i) => (s.has(l) ? m | (1 << i) : m), 0);
    // Biased towards releases too (all labels allowed, openings delivered), so both outcomes occur.
    const mostly = fc.constantFrom(true, true, true, false);
    const scenario = fc.record({
      labels: fc.oneof(fc.constant(new Set<LabelName>()), labelsArb),
      category: fc.constantFrom(2, 7),
      allowed: fc.oneof(fc.constant(new Set<LabelName>(LABEL_NAMES)), labelsArb),
      refinement: fc.constantFrom<number[]>([], [], [2], [7]),
      permitDelivered: mostly,
      denies: fc.array(
        fc.record({
          grantee: fc.integer({ min: 0, max: grantees.length - 1 }),
          purposes: fc.constantFrom(["TREAT"], ["HPAYMT"], ["TREAT", "HPAYMT"]),
          denied: labelsArb,
          delivered: mostly,
        }),
        { maxLength: 2 },
      ),
    });
    let allowedRuns = 0;
    let refusedRuns = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { subject, patient } = await patientWithWriter();
        const on = { by: patient, subject };
        const permit = await w.grant(
          { granteeAccount: w.doctorB.wallet.address, actions: 1 },
          { allowLabels: mask(s.allowed), refinement: s.refinement.reduce((m, c) => m | (1 << c), 0) },
          { ...on, deliver: s.permitDelivered },
        );
        if (!s.permitDelivered) {
          withheld.push(() =>
            w.network.depositTermsOpening({
              by: patient.wallet,
              subject,
              consentId: permit.consentId,
              opening: permit.opening,
            }),
          );
        }
        const modelDenies: ModelConsent[] = [];
        for (const d of s.denies) {
          const g = grantees[d.grantee]!;
          const purposes = d.purposes.reduce((m, p) => m | (1 << PURPOSE[p as keyof typeof PURPOSE]), 0);
          const deny = await w.grant(
            denyTerms({ ...g.terms(), purposes }),
            { denyLabels: mask(d.denied) },
            { ...on, deliver: d.delivered },
          );
          if (!d.delivered) {
            withheld.push(() =>
              w.network.depositTermsOpening({
                by: patient.wallet,
                subject,
                consentId: deny.consentId,
                opening: deny.opening,
              }),
            );
          }
          modelDenies.push({
            isDeny: true,
            grantee:
              d.grantee === 0
                ? { practitioner: "doctorB" }
                : {
                    organization: d.grantee === 1 ? 2 : d.grantee === 2 ? 1 : 0,
                    roles: new Set([d.grantee === 3 ? "EMERGENCY_RESPONDER" : "CLINICIAN"]),
                  },
            purposes: new Set(d.purposes),
            canRead: true,
            notBefore: 0,
            expiresAt: undefined,
            revoked: false,
            sealed: d.delivered ? { allowed: new Set(), denied: d.denied, onlyCategories: new Set() } : undefined,
          });
        }
        const record = await w.writeRecord({ subject, labels: mask(s.labels), category: s.category });
        const expected = modelAllows({
          reader: { kind: "practitioner", account: "doctorB", organization: 2, roles: new Set(["CLINICIAN"]) },
          purpose: "TREAT",
          now: 1,
          record: { category: s.category, labels: s.labels },
          permit: {
            isDeny: false,
            grantee: { practitioner: "doctorB" },
            purposes: new Set(["TREAT"]),
            canRead: true,
            notBefore: 0,
            expiresAt: undefined,
            revoked: false,
            sealed: s.permitDelivered
              ? { allowed: s.allowed, denied: new Set(), onlyCategories: new Set(s.refinement) }
              : undefined,
          },
          denies: modelDenies,
        });
        const got = await sdkRead(w.doctorB, record.recordId, PURPOSE.TREAT, subject).then(
          (key) => {
            expect(key).to.deep.equal(record.dataKey);
            return true;
          },
          (err: unknown) => {
            expect(err).to.be.instanceOf(KeyReleaseRefusedError);
            sealedBy(err as KeyReleaseRefusedError);
            return false;
          },
        );
        expect(
          got,
          JSON.stringify(s, (_k, v: unknown) => (v instanceof Set ? [...v] : v)),
        ).to.equal(expected);
        if (got) allowedRuns++;
        else refusedRuns++;
      }),
      { numRuns: 16, seed: 1414 },
    );
    expect(allowedRuns, "some scenarios release").to.be.greaterThan(0);
    expect(refusedRuns, "some scenarios refuse").to.be.greaterThan(0);
  });

  it("the openings endpoint refuses forged openings and callers who may not deliver them", async () => {
    const { subject, patient } = await patientWithWriter();
    const { consentId, opening } = await w.grant(
      { granteeAccount: w.doctorC.wallet.address, actions: 1 },
      { allowLabels: LABEL.SUBSTANCE_USE },
      { by: patient, subject, deliver: false },
    );
    const set = await w.chain.keyholderSet();
    const slotFor = (m: (typeof set.members)[number], o = opening) =>
      hexlify(
        sealTermsOpening({
          opening: o,
          consentId,
          recipientPublicKey: getBytes(m.encryptionKey),
          recipientKeyVersion: m.keyVersion,
          binding: {
            chainId: w.chain.chainId,
            keyholderRegistry: w.chain.keyholderRegistry,
            registry: w.chain.consentRegistry,
            recipient: m.id,
          },
        }),
      ) as Hex;
    /** Each keyholder's refusal code (or "OK") for a delivery signed by `by`. */
    const deliver = async (
      by: Wallet,
      o: { slots?: Hex[]; id?: Hex; signature?: Hex; tamper?: boolean; on?: Hex } = {},
    ): Promise<string[]> => {
      const slots = o.slots ?? set.members.map((m) => slotFor(m));
      const request = {
        keyholderIds: set.members.map((m) => m.id),
        subject: o.on ?? subject,
        kind: OpeningKind.TERMS,
        id: o.id ?? consentId,
        slotHashes: slots.map((s) => keccak256(s) as Hex),
        expiry: Math.floor(Date.now() / 1000) + 60,
      };
      const signature =
        o.signature ?? ((await by.signTypedData(w.network.domain, SEALED_OPENINGS_TYPES, request)) as Hex);
      const sent = o.tamper === true ? { ...request, expiry: request.expiry + 1 } : request;
      return Promise.all(
        set.members.map((m, i) =>
          w.network
            .api(m)
            .openings({ request: sent, signature, slot: slots[i]! })
            .then(
              () => "OK",
              (e: unknown) => (e as KeyholderRefusal).refusal,
            ),
        ),
      );
    };
    const all = (code: string) => set.members.map(() => code);
    const forgedSalt = sealTerms({ subject, allowLabels: ALL });
    const forgedLabels = { ...opening, allowLabels: ALL };
    expect(await deliver(patient.wallet, { slots: set.members.map((m) => slotFor(m, forgedSalt)) })).to.deep.equal(
      all("OPENING_MISMATCH"),
    );
    expect(await deliver(patient.wallet, { slots: set.members.map((m) => slotFor(m, forgedLabels)) })).to.deep.equal(
      all("OPENING_MISMATCH"),
    );
    expect(await deliver(w.stranger.wallet), "a stranger").to.deep.equal(all("NOT_AUTHORIZED"));
    expect(await deliver(w.doctorC.wallet), "the grantee itself").to.deep.equal(all("NOT_AUTHORIZED"));
    expect(await deliver(patient.wallet, { tamper: true }), "a request altered after signing").to.deep.equal(
      all("NOT_AUTHORIZED"),
    );
    expect(await deliver(patient.wallet, { signature: `0x${"00".repeat(65)}` })).to.deep.equal(all("BAD_SIGNATURE"));
    const swapped = set.members.map((m) => slotFor(m));
    expect(await deliver(patient.wallet, { slots: [swapped[1]!, swapped[2]!, swapped[0]!] })).to.deep.equal(
      all("BAD_OPENING"),
    );
    expect(await deliver(patient.wallet, { id: hexlify(randomBytes(32)) as Hex })).to.deep.equal(all("BAD_OPENING"));
    // The world's ACCESS-only guardian may read, not deliver consent openings.
    expect(await deliver(w.guardian.wallet, { on: w.subject, id: w.consentB })).to.deep.equal(all("NOT_AUTHORIZED"));
    expect(await deliver(patient.wallet)).to.deep.equal(all("OK"));

    // A label opening re-delivered: the record's writer may, a stranger may not.
    const rec = await w.writeRecord({ subject, labels: LABEL.MENTAL_HEALTH });
    const stranger = await w.network.depositLabelOpening({ by: w.stranger.wallet, opening: rec.opening }).then(
      () => undefined,
      (e: unknown) => e as KeyReleaseRefusedError,
    );
    expect(stranger?.codes()).to.deep.equal({ [kh2.id]: "NOT_AUTHORIZED" });
    const wrong = await w.network
      .depositLabelOpening({
        by: w.doctor.wallet,
        opening: sealLabels({ subject, recordId: rec.recordId, labels: LABEL.MENTAL_HEALTH }),
      })
      .then(
        () => undefined,
        (e: unknown) => e as KeyReleaseRefusedError,
      );
    expect(wrong?.codes()).to.deep.equal({ [kh2.id]: "OPENING_MISMATCH" });
    await w.network.depositLabelOpening({ by: w.doctor.wallet, opening: rec.opening });
  });

  it("every sealed refusal reads the same (no message tells why)", () => {
    expect(sealedMessages.size).to.equal(1);
  });

  describe("completeness audit (a regulator's auditor with keys)", () => {
    let collected: CollectedAudit;

    /** Gives each keyholder a new log entry (a refused preflight), then anchors its head with its own account. */
    async function anchor(khs: KeyholderProcess[]) {
      await w.network
        .preflight({
          reader: w.doctor.wallet,
          subject: w.subject,
          recordId: hexlify(randomBytes(32)) as Hex,
          purpose: 0,
        })
        .catch(() => undefined);
      for (const kh of khs) {
        const head = (await (await fetch(`${kh.url}/v1/log/head`)).json()) as { seq: number; head: Hex };
        const account = new Wallet(hexlify(kh.identity.signingKey), w.provider);
        await (await w.registry.connect(account).anchorReleaseLog(kh.id, head.seq, head.head)).wait();
      }
    }
    async function advance(seconds: number) {
      await w.provider.send("evm_increaseTime", [seconds]);
      await w.provider.send("evm_mine", []);
    }
    const audit = (c: CollectedAudit) =>
      auditCollected({ chain: w.chain, collected: c, anchorIntervalSeconds: CADENCE });
    const clone = (c: CollectedAudit): CollectedAudit => ({
      ...c,
      exports: new Map([...c.exports].map(([id, e]) => [id, { ...e, rows: [...e.rows], openings: [...e.openings] }])),
      anchors: new Map([...c.anchors].map(([id, a]) => [id, [...a]])),
    });
    /**
     * A keyholder that rewrites its own log consistently (it holds the audit key): the entries
     * re-sealed and re-chained, and its anchors as if it had anchored the rewritten log.
     */
    function rewrite(c: CollectedAudit, kh: KeyholderProcess, change: (entries: LogEntry[]) => LogEntry[]) {
      const e = c.exports.get(kh.id)!;
      const keys = deriveAuditKeys(e.auditKey);
      const entries = change(openLogRows(e.auditKey, e.rows).map(({ json: _json, ...entry }) => entry));
      let head = genesisHead(keys.macKey, w.chain.chainId, w.chain.keyholderRegistry, kh.id);
      const heads = new Map<number, Hex>();
      const rows = entries.map((entry, i) => {
        const seq = i + 1;
        const json = canonicalJson({ ...entry, seq });
        head = nextHead(keys.macKey, head, json);
        heads.set(seq, head);
        return { seq, at: entry.at, kind: "sealed", entry: sealLogEntry(keys.entryKey, seq, json), head };
      });
      const exported: KeyholderExport = { ...e, rows };
      c.exports.set(kh.id, exported);
      c.anchors.set(
        kh.id,
        c.anchors
          .get(kh.id)!
          .filter((a) => heads.has(a.seq))
          .map((a) => ({ ...a, head: heads.get(a.seq)! })),
      );
    }

    before(async () => {
      for (const deliver of withheld) await deliver();
      await anchor([kh1, kh2, kh3]);
      await advance(CADENCE);
      await anchor([kh1, kh2, kh3]);
      collected = await collectAudit({
        network: w.network,
        auditor: w.regulator.wallet,
        auditorKeys: w.regulator.keys,
      });
    });

    it("control: nothing is flagged", async () => {
      const report = await audit(collected);
      for (const [id, r] of report.logs) {
        expect(r.ok, `keyholder ${id}: ${JSON.stringify({ ...r, entries: undefined })}`).to.equal(true);
        expect(r.releases).to.be.greaterThan(0);
      }
      expect(report.openings).to.deep.equal({ missingLabelOpenings: [], missingTermsOpenings: [] });
      expect(report.unreachable).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      // Non-custodian releases carried tokens (k1 and k3 hold no records of their own here).
      const k3 = openLogRows(collected.exports.get(kh3.id)!.auditKey, collected.exports.get(kh3.id)!.rows);
      const released = k3.filter((e) => e.kind === "release");
      expect(released.length).to.be.greaterThan(0);
      for (const e of released) expect(e.token?.keyholderId).to.equal(kh2.id);
    });

    it("a hospital auditor exports only from its own organization's keyholder", async () => {
      const request = { keyholderId: kh1.id, fromSeq: 0, limit: 1, expiry: Math.floor(Date.now() / 1000) + 60 };
      const signature = (await w.auditor.wallet.signTypedData(w.network.domain, LOG_QUERY_TYPES, request)) as Hex;
      expect((await refused(w.network.api(member(kh1)).logEntries({ request, signature }))).refusal).to.equal(
        "NOT_AUDITOR",
      );
      const own = { ...request, keyholderId: kh2.id };
      const ownSignature = (await w.auditor.wallet.signTypedData(w.network.domain, LOG_QUERY_TYPES, own)) as Hex;
      expect(
        (await w.network.api(member(kh2)).logEntries({ request: own, signature: ownSignature })).entries,
      ).to.have.length(1);
    });

    it("a deleted log entry is detected", async () => {
      const c = clone(collected);
      const e = c.exports.get(kh3.id)!;
      e.rows = e.rows.filter((r) => r.seq !== 5);
      const r = (await audit(c)).logs.get(kh3.id)!;
      expect(r.ok).to.equal(false);
      expect(r.brokenAt.length + r.anchorMismatches.length).to.be.greaterThan(0);
    });

    it("a release without an access is detected", async () => {
      const c = clone(collected);
      let forged = 0;
      rewrite(c, kh3, (entries) => {
        const real = entries.find((x) => x.kind === "release")!;
        forged = entries.length + 1;
        return [
          ...entries,
          { ...real, seq: forged, accessTx: hexlify(randomBytes(32)), nonce: hexlify(randomBytes(32)) },
        ];
      });
      const r = (await audit(c)).logs.get(kh3.id)!;
      expect(r.releasesWithoutAccess).to.deep.equal([forged]);
      expect(r.brokenAt).to.deep.equal([]);
      expect(r.anchorMismatches).to.deep.equal([]);
    });

    it("a release without a token, or with a token not the custodian keyholder's, is detected", async () => {
      const c = clone(collected);
      let bare = 0;
      let borrowed = 0;
      rewrite(c, kh3, (entries) =>
        entries.map((x) => {
          if (x.kind !== "release") return x;
          if (bare === 0) {
            bare = x.seq;
            const { token: _token, ...rest } = x;
            return rest;
          }
          if (borrowed === 0) {
            borrowed = x.seq;
            return { ...x, token: { ...x.token!, keyholderId: kh1.id } };
          }
          return x;
        }),
      );
      const r = (await audit(c)).logs.get(kh3.id)!;
      expect(r.releasesWithoutToken).to.deep.equal([bare]);
      expect(r.invalidTokens).to.deep.equal([borrowed]);
      expect(r.brokenAt).to.deep.equal([]);
    });

    it("a missing opening is detected", async () => {
      const c = clone(collected);
      const e2 = c.exports.get(kh2.id)!;
      const label = e2.openings.find((o) => o.kind === OpeningKind.LABELS)!;
      e2.openings = e2.openings.filter((o) => o !== label);
      const e1 = c.exports.get(kh1.id)!;
      const terms = e1.openings.find((o) => o.kind === OpeningKind.TERMS)!;
      e1.openings = e1.openings.filter((o) => o !== terms);
      const { openings } = await audit(c);
      expect(openings.missingLabelOpenings).to.deep.equal([
        { subject: label.subject, recordId: label.id, keyholderId: kh2.id },
      ]);
      expect(openings.missingTermsOpenings).to.deep.equal([
        { subject: terms.subject, consentId: terms.id, keyholderId: kh1.id },
      ]);
    });

    it("a silent keyholder (missed anchors) is detected", async () => {
      for (let i = 0; i < 3; i++) {
        await advance(CADENCE);
        await anchor([kh1, kh2]); // k3 misses three cadences
      }
      const c = clone(collected);
      for (const kh of [kh1, kh2, kh3]) c.anchors.set(kh.id, await w.chain.releaseLogAnchors(kh.id));
      const report = await audit(c);
      expect(report.logs.get(kh3.id)!.silentPeriods).to.have.length(1);
      expect(report.logs.get(kh3.id)!.silentPeriods[0]!.seconds).to.be.greaterThan(2 * CADENCE);
      for (const kh of [kh1, kh2]) expect(report.logs.get(kh.id)!.silentPeriods).to.deep.equal([]);
    });
  });

  function member(kh: KeyholderProcess) {
    return {
      id: kh.id,
      orgId: 0,
      account: kh.identity.address,
      encryptionKey: hexlify(kh.identity.x25519.publicKey) as Hex,
      keyVersion: kh.identity.keyVersion,
      active: true,
      endpoint: kh.url,
    };
  }
});
