/**
 * Commitment hygiene (issue "sealed sensitive labels", test 3): commitments are never zero, never
 * repeat, their salts come from a CSPRNG (statistical sanity), and an opening verifies only for its
 * own subject and record. Openings in transit (sdk/sealed/openings.ts) open only where they belong.
 */
import { expect } from "chai";
import { hexlify, randomBytes } from "ethers";
import fc from "fast-check";

import { DecryptionError } from "../../../sdk/errors.js";
import { generateX25519KeyPair } from "../../../sdk/crypto/keyslot.js";
import {
  ALL_LABELS_MASK,
  labelCommitment,
  sealLabels,
  sealTerms,
  termsCommitment,
} from "../../../sdk/sealed/commitments.js";
import {
  OPENING_SLOT_LENGTH,
  labelOpeningMatches,
  openLabelOpening,
  openTermsOpening,
  sealLabelOpening,
  sealTermsOpening,
  termsOpeningMatches,
} from "../../../sdk/sealed/openings.js";
import type { Hex } from "../../../sdk/types.js";

const hex32 = () => hexlify(randomBytes(32)) as Hex;
const ZERO = `0x${"00".repeat(32)}`;

describe("sealed commitments: hygiene", () => {
  it("are never zero and never repeat, even for the same labels of the same record", () => {
    const subject = hex32();
    const recordId = hex32();
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const c = labelCommitment(sealLabels({ subject, recordId, labels: i % 16 }));
      const t = termsCommitment(sealTerms({ subject, allowLabels: i % 16, denyLabels: (i >> 4) % 16 }));
      for (const x of [c, t]) {
        expect(x).to.not.equal(ZERO);
        expect(seen.has(x), "a commitment repeated").to.equal(false);
        seen.add(x);
      }
    }
    // The empty mask is committed like any other: the commitment alone does not say "no labels".
    const empty = labelCommitment(sealLabels({ subject, recordId, labels: 0 }));
    expect(empty).to.match(/^0x[0-9a-f]{64}$/);
    expect(empty).to.not.equal(ZERO);
  });

  it("salts look like CSPRNG output: distinct, balanced bits, flat byte histogram", () => {
    const n = 4096;
    const salts = Array.from({ length: n }, () => sealLabels({ subject: hex32(), recordId: hex32(), labels: 0 }).salt);
    expect(new Set(salts).size).to.equal(n);
    const bytes = Buffer.concat(salts.map((s) => Buffer.from(s.slice(2), "hex")));
    expect(bytes.length).to.equal(n * 32);
    // Monobit: the count of one bits is within 6 standard deviations of half.
    let ones = 0;
    for (const b of bytes) for (let i = 0; i < 8; i++) ones += (b >> i) & 1;
    const bits = bytes.length * 8;
    expect(Math.abs(ones - bits / 2)).to.be.lessThan(6 * Math.sqrt(bits / 4));
    // Chi-square of the byte histogram (255 degrees of freedom; 400 is p < 1e-8 for a uniform source).
    const counts = new Array<number>(256).fill(0);
    for (const b of bytes) counts[b]!++;
    const expected = bytes.length / 256;
    const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi).to.be.lessThan(400);
    // No salt shares its first 8 bytes with another (a weak or reseeded generator would).
    expect(new Set(salts.map((s) => s.slice(0, 18))).size).to.equal(n);
  });

  it("an opening verifies only for its own subject and record", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ALL_LABELS_MASK }), (labels) => {
        const subject = hex32();
        const recordId = hex32();
        const o = sealLabels({ subject, recordId, labels });
        const c = labelCommitment(o);
        expect(labelOpeningMatches(o, subject, recordId, c)).to.equal(true);
        expect(labelOpeningMatches(o, hex32(), recordId, c), "another subject").to.equal(false);
        expect(labelOpeningMatches(o, subject, hex32(), c), "another record").to.equal(false);
        // The same labels and salt under another record or subject commit to something else.
        expect(labelCommitment({ ...o, recordId: hex32() })).to.not.equal(c);
        expect(labelCommitment({ ...o, subject: hex32() })).to.not.equal(c);
        // Another mask with the same salt does not open it.
        const other = (labels + 1) % 16;
        expect(labelOpeningMatches({ ...o, labels: other }, subject, recordId, c)).to.equal(false);

        const t = sealTerms({ subject, allowLabels: labels, denyLabels: 15 - labels, refinement: 4 });
        const tc = termsCommitment(t);
        expect(termsOpeningMatches(t, subject, tc)).to.equal(true);
        expect(termsOpeningMatches(t, hex32(), tc), "another subject").to.equal(false);
        expect(termsCommitment({ ...t, subject: hex32() })).to.not.equal(tc);
        expect(termsOpeningMatches({ ...t, refinement: 5 }, subject, tc)).to.equal(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe("sealed openings in transit", () => {
  const keyholder = generateX25519KeyPair();
  const binding = {
    chainId: 1337n,
    keyholderRegistry: `0x${"11".repeat(20)}`,
    registry: `0x${"22".repeat(20)}`,
    recipient: 3,
  };

  it("open for their recipient, record and deployment only; every flipped bit is refused", () => {
    const opening = sealLabels({ subject: hex32(), recordId: hex32(), labels: 4 });
    const slot = sealLabelOpening({
      opening,
      recipientPublicKey: keyholder.publicKey,
      recipientKeyVersion: 1,
      binding,
    });
    expect(slot.length).to.equal(OPENING_SLOT_LENGTH[1]);
    const full = { ...binding, subject: opening.subject, id: opening.recordId };
    expect(openLabelOpening({ slot, recipientPrivateKey: keyholder.privateKey, binding: full })).to.deep.equal(opening);
    const refused = (b: typeof full, key = keyholder.privateKey, s = slot) =>
      expect(() => openLabelOpening({ slot: s, recipientPrivateKey: key, binding: b })).to.throw(DecryptionError);
    refused({ ...full, id: hex32() });
    refused({ ...full, subject: hex32() });
    refused({ ...full, recipient: 4 });
    refused({ ...full, chainId: 1n });
    refused({ ...full, registry: `0x${"33".repeat(20)}` });
    refused(full, generateX25519KeyPair().privateKey);
    for (let i = 6; i < slot.length; i += 7) {
      const flipped = Uint8Array.from(slot);
      flipped[i]! ^= 1;
      refused(full, keyholder.privateKey, flipped);
    }
  });

  it("a consent's terms opening is bound to its consent id", () => {
    const opening = sealTerms({ subject: hex32(), allowLabels: 3, denyLabels: 8, refinement: 0x80 });
    const consentId = hex32();
    const slot = sealTermsOpening({
      opening,
      consentId,
      recipientPublicKey: keyholder.publicKey,
      recipientKeyVersion: 2,
      binding,
    });
    expect(slot.length).to.equal(OPENING_SLOT_LENGTH[2]);
    const full = { ...binding, subject: opening.subject, id: consentId };
    expect(openTermsOpening({ slot, recipientPrivateKey: keyholder.privateKey, binding: full })).to.deep.equal(opening);
    expect(() =>
      openTermsOpening({ slot, recipientPrivateKey: keyholder.privateKey, binding: { ...full, id: hex32() } }),
    ).to.throw(DecryptionError);
    expect(() => openLabelOpening({ slot, recipientPrivateKey: keyholder.privateKey, binding: full })).to.throw();
  });
});
