import { expect } from "chai";
import { network } from "hardhat";

import { AccessDeniedError, IntegrityError, MedLedger, NotFoundError } from "../../sdk/index.js";
import type { BlobStore } from "../../sdk/index.js";
import { setUpConsortium } from "../../fixtures/consortium.js";
import type { Consortium } from "../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

describe("SDK: records, consent and key release end to end (in-process chain)", () => {
  async function consortium(): Promise<Consortium> {
    const [funder] = await conn.ethers.getSigners();
    const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder! });
    // Admission: the hospital's clinicians may append (not read) every category.
    await c.patient.ml.consent.grant(c.subject, {
      grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
      categories: ["DEMOGRAPHICS", "OBSERVATIONS", "CONDITIONS", "MEDICATIONS"],
      purposes: ["TREAT"],
      actions: ["APPEND"],
    });
    return c;
  }

  it("put → signed grant relayed → get (logged first) → revoke → refused", async () => {
    const c = await networkHelpers.loadFixture(consortium);
    const content = JSON.stringify({ resourceType: "Observation", valueQuantity: { value: 7.2, unit: "%" } });
    const id = await c.doctor.ml.records.put(c.subject, content, {
      category: "OBSERVATIONS",
      mediaType: "application/fhir+json",
    });

    // Without a READ consent the doctor is refused with the reason, before anything is released.
    const refused = await c.doctor.ml.records.get(c.subject, id, { purpose: "TREAT" }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(AccessDeniedError);
    expect((refused as AccessDeniedError).reason).to.equal("ACTION_NOT_ALLOWED");

    const { signed } = await c.patient.ml.consent.signGrant(c.subject, {
      grantee: { practitioner: c.doctor.wallet.address },
      categories: ["OBSERVATIONS"],
      purposes: ["TREAT"],
    });
    const { value: consentId } = await c.relayer.ml.consent.relay(signed);
    const read = await c.doctor.ml.records.get(c.subject, id, { purpose: "TREAT" });
    expect(new TextDecoder().decode(read.content)).to.equal(content);
    expect(read.mediaType).to.equal("application/fhir+json");

    const history = await c.patient.ml.audit.accessHistory(c.subject);
    expect(history.map((h) => [h.accessor, h.basis, h.basisId])).to.deep.equal([
      [c.doctor.wallet.address, "CONSENT", consentId],
    ]);
    expect(history[0]!.transactionHash).to.equal(read.accessTx);

    await c.patient.ml.consent.revoke(c.subject, consentId);
    const afterRevoke = await c.doctor.ml.records.get(c.subject, id, { purpose: "TREAT" }).catch((e: unknown) => e);
    // A revoked consent leaves the index (1.1): the read falls back to the doctor's other consents,
    // of which the admission covers APPEND only.
    expect((afterRevoke as AccessDeniedError).reason).to.equal("ACTION_NOT_ALLOWED");

    const payer = await c.payerAgent.ml.records.get(c.subject, id, { purpose: "HPAYMT" }).catch((e: unknown) => e);
    expect((payer as AccessDeniedError).reason).to.equal("NO_CONSENT");
  });

  it("the patient reads with their own slot; break-glass is flagged; erasure shreds", async () => {
    const c = await networkHelpers.loadFixture(consortium);
    const id = await c.doctor.ml.records.put(c.subject, "allergy: penicillin", {
      category: "CONDITIONS",
      mediaType: "text/plain",
    });
    const own = await c.patient.ml.records.get(c.subject, id, { purpose: "PATRQT" });
    expect(new TextDecoder().decode(own.content)).to.equal("allergy: penicillin");

    const emergency = await c.responder.ml.records.get(c.subject, id, {
      purpose: "ETREAT",
      emergency: { reasonCode: 3 },
    });
    expect(new TextDecoder().decode(emergency.content)).to.equal("allergy: penicillin");
    const log = await c.patient.ml.audit.accessHistory(c.subject);
    expect(log.map((l) => l.basis)).to.deep.equal(["SUBJECT", "EMERGENCY"]);
    expect(await c.officer.ml.emergency.pendingReviews(c.hospital)).to.equal(1);

    await c.patient.ml.records.erase(c.subject, id);
    expect((await c.patient.ml.records.verify(c.subject, id)).erased).to.equal(true);
    const gone = await c.patient.ml.records.get(c.subject, id, { purpose: "PATRQT" }).catch((e: unknown) => e);
    expect((gone as AccessDeniedError).reason).to.equal("RECORD_ERASED");
    expect(await c.storage.has((await c.doctor.ml.journal.byRecord(id))!.pointer)).to.equal(false);
  });

  it("put is idempotent; versions chain; a tampered envelope is detected before decryption", async () => {
    const c = await networkHelpers.loadFixture(consortium);
    const v1 = await c.doctor.ml.records.put(c.subject, "v1", { category: "MEDICATIONS", mediaType: "text/plain" });
    expect(
      await c.doctor.ml.records.put(c.subject, "v1", { category: "MEDICATIONS", mediaType: "text/plain" }),
    ).to.equal(v1);
    // The same write issued several times at once yields one record.
    const same = await Promise.all(
      [1, 2, 3].map(() =>
        c.doctor.ml.records.put(c.subject, "once", { category: "MEDICATIONS", mediaType: "text/plain" }),
      ),
    );
    expect(new Set(same).size).to.equal(1);
    const v2 = await c.doctor.ml.records.put(c.subject, "v2", {
      category: "MEDICATIONS",
      mediaType: "text/plain",
      previous: v1,
    });
    const history = await c.patient.ml.records.history(c.subject, v2);
    expect(history.map((h) => h.recordId)).to.deep.equal([v1, v2]);
    expect(history.map((h) => h.superseded)).to.deep.equal([true, false]);
    expect((await c.patient.ml.records.verify(c.subject, v2)).intact).to.equal(true);

    // A storage that serves v1's envelope where v2's is asked for: refused before any decryption.
    const e1 = (await c.doctor.ml.journal.byRecord(v1))!;
    const e2 = (await c.doctor.ml.journal.byRecord(v2))!;
    const swapped: BlobStore = {
      kind: "swapped",
      put: (input) => c.storage.put(input),
      get: (address) => c.storage.get(address),
      has: (address) => c.storage.has(address),
      delete: (address) => c.storage.delete(address),
      close: () => c.storage.close(),
      getBytes: async (address) => c.storage.getBytes(address === e2.pointer ? e1.pointer : address),
    };
    const patientView = await MedLedger.create({ ...c.patient.ml.options, storage: swapped });
    const tampered = await patientView.records.get(c.subject, v2, { purpose: "PATRQT" }).catch((e: unknown) => e);
    expect(tampered).to.be.instanceOf(IntegrityError);
    expect((await patientView.records.verify(c.subject, v2)).intact).to.equal(false);

    // A missing envelope is a typed error too.
    await c.storage.delete(e2.pointer);
    expect((await c.patient.ml.records.verify(c.subject, v2)).intact).to.equal(false);
    const missing = await c.patient.ml.records.get(c.subject, v2, { purpose: "PATRQT" }).catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(NotFoundError);
  });

  it("batch import: one Merkle root, members proven and readable on demand", async () => {
    const c = await networkHelpers.loadFixture(consortium);
    const ids = await c.doctor.ml.records.putBatch(
      c.subject,
      Array.from({ length: 12 }, (_, i) => ({
        content: `observation ${i}`,
        category: i % 2 === 0 ? ("OBSERVATIONS" as const) : ("CONDITIONS" as const),
        mediaType: "text/plain",
      })),
    );
    expect(ids).to.have.length(12);
    const read = await c.patient.ml.records.get(c.subject, ids[7]!, { purpose: "PATRQT" });
    expect(new TextDecoder().decode(read.content)).to.equal("observation 7");
    // Importing again anchors nothing new.
    const again = await c.doctor.ml.records.putBatch(
      c.subject,
      Array.from({ length: 12 }, (_, i) => ({
        content: `observation ${i}`,
        category: i % 2 === 0 ? ("OBSERVATIONS" as const) : ("CONDITIONS" as const),
        mediaType: "text/plain",
      })),
    );
    expect(again).to.deep.equal(ids);
  });
});
