/**
 * Consents on contracts 1.1 as the SDK grants them: every consent carries a salted commitment to
 * its sealed terms (labels a permit lets through, labels a deny refuses, a refinement), and the
 * patient's app gets the opening back; a deny about labels only has a zero public category mask;
 * "every purpose" is the full purpose mask; the EIP-712 structs name the signer (domain "2").
 */
import { expect } from "chai";
import { network } from "hardhat";

import {
  ALL_PURPOSES,
  AccessDeniedError,
  ContractRevertError,
  InvalidInputError,
  Label,
  categoryMask,
  consentTerms,
  termsCommitment,
} from "../../../sdk/index.js";
import type { ConsentId, SubjectId } from "../../../sdk/index.js";
import { setUpConsortium } from "../../../fixtures/consortium.js";
import type { Consortium } from "../../../fixtures/consortium.js";

const conn = await network.create();
const { networkHelpers } = conn;

async function world(): Promise<Consortium> {
  const [funder] = await conn.ethers.getSigners();
  const c = await setUpConsortium({ provider: conn.ethers.provider, funder: funder! });
  await c.patient.ml.consent.grant(c.subject, {
    grantee: { organization: c.hospital, roles: ["CLINICIAN"] },
    categories: ["NOTES"],
    purposes: ["TREAT"],
    actions: ["APPEND"],
  });
  return c;
}

/** The sealedTerms commitment the ConsentGranted event of `consentId` carries. */
async function emitted(c: Consortium, subject: SubjectId, consentId: ConsentId): Promise<string> {
  const r = c.patient.ml.chain.consents;
  const [event] = await r.queryFilter(r.filters.ConsentGranted(subject, consentId), 0);
  return event!.args.terms.sealedTerms;
}

describe("sdk/consent on 1.1: sealed terms, label-only denies, signer-bound signatures", () => {
  it("grant returns the opening of the sealed terms; the chain carries its commitment only", async () => {
    const c = await networkHelpers.loadFixture(world);
    const { value: id, opening } = await c.patient.ml.consent.grant(c.subject, {
      grantee: { practitioner: c.doctor.wallet.address },
      categories: ["NOTES", "OBSERVATIONS"],
      purposes: ["TREAT"],
      sealed: { allowLabels: ["MENTAL_HEALTH", "GENETICS"], refinement: ["NOTES"] },
    });
    expect(opening).to.deep.include({
      subject: c.subject,
      allowLabels: Label.MENTAL_HEALTH | Label.GENETICS,
      denyLabels: 0,
      refinement: categoryMask(["NOTES"]),
    });
    expect(await emitted(c, c.subject, id)).to.equal(termsCommitment(opening));
    // Salted: the same terms twice give two commitments.
    const again = consentTerms(
      { grantee: { practitioner: c.doctor.wallet.address }, categories: ["NOTES"], purposes: ["TREAT"] },
      c.subject,
    );
    const twice = consentTerms(
      { grantee: { practitioner: c.doctor.wallet.address }, categories: ["NOTES"], purposes: ["TREAT"] },
      c.subject,
    );
    expect(again.terms.sealedTerms).to.not.equal(twice.terms.sealedTerms);
  });

  it("a deny about labels only has a zero public mask; an all-purpose deny names every purpose", async () => {
    const c = await networkHelpers.loadFixture(world);
    const { value: id, opening } = await c.patient.ml.consent.grant(c.subject, {
      grantee: { organization: c.payer, roles: ["PAYER"] },
      effect: "deny",
      sealed: { denyLabels: ["SUBSTANCE_USE"] },
    });
    const stored = await c.patient.ml.chain.consents.getConsent(c.subject, id);
    expect([stored.categories, stored.purposes]).to.deep.equal([0n, BigInt(ALL_PURPOSES)]);
    expect(opening.denyLabels).to.equal(Label.SUBSTANCE_USE);
    expect(await emitted(c, c.subject, id)).to.equal(termsCommitment(opening));
    const listed = (await c.patient.ml.consent.list(c.subject)).find((x) => x.consentId === id)!;
    expect(listed.terms).to.deep.include({ categories: 0, purposes: ALL_PURPOSES, effect: 1 });
    expect(listed).to.deep.include({ revokedAt: 0, byGuardian: false, sequence: 2 });
  });

  it("an all-purpose deny naming the responder binds break-glass too (the full mask, not 0)", async () => {
    const c = await networkHelpers.loadFixture(world);
    const id = await c.doctor.ml.records.put(c.subject, "allergy", { category: "NOTES", mediaType: "text/plain" });
    await c.patient.ml.consent.grant(c.subject, {
      grantee: { practitioner: c.responder.wallet.address },
      categories: ["NOTES"],
      effect: "deny",
    });
    const err = await c.responder.ml.records
      .get(c.subject, id, { purpose: "ETREAT", emergency: { reasonCode: 1 } })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AccessDeniedError);
    expect([(err as AccessDeniedError).errorName, (err as AccessDeniedError).reason]).to.deep.equal([
      "BreakGlassDenied",
      "DENIED_BY_SUBJECT",
    ]);
  });

  it("signGrant: the relayer gets the signed grant, the patient keeps the opening; the signer is in the struct", async () => {
    const c = await networkHelpers.loadFixture(world);
    const signedGrant = await c.patient.ml.consent.signGrant(c.subject, {
      grantee: { practitioner: c.doctor.wallet.address },
      categories: ["NOTES"],
      purposes: ["TREAT"],
      sealed: { allowLabels: ["SEXUAL_REPRODUCTIVE"] },
    });
    const { signed, opening } = signedGrant;
    expect(signed).to.not.have.property("opening");
    expect(JSON.stringify(signed, (_k, v: unknown) => (typeof v === "bigint" ? `${v}` : v))).to.not.include(
      opening.salt.slice(2),
    );
    // The same signature for another signer (the relayer) is refused: the signer is signed.
    const claimed = await c.relayer.ml.consent
      .relay({ ...signed, signer: c.relayer.wallet.address })
      .catch((e: unknown) => e);
    expect(claimed).to.be.instanceOf(ContractRevertError);
    const { value: id } = await c.relayer.ml.consent.relay(signed);
    expect(await emitted(c, c.subject, id)).to.equal(termsCommitment(opening));
    // A plain-JS caller handing the whole result to relay gets a typed error, not a leak.
    expect(
      await c.relayer.ml.consent.relay(signedGrant as unknown as typeof signed).catch((e: unknown) => e),
    ).to.be.instanceOf(InvalidInputError);
  });
});
