/**
 * The arithmetic of secure aggregation: the field (p = 2^61 − 1), additive sharing, the exact
 * discrete Laplace sampler and its documented noise bound, and sealed vectors with commitments
 * (round trip, tamper, wrong key/context/label, wrong length, out-of-range elements).
 */
import { expect } from "chai";
import fc from "fast-check";

import { x25519 } from "@noble/curves/ed25519.js";

import {
  MODULUS,
  decodeVector,
  encodeVector,
  fromSigned,
  mod,
  randomVector,
  splitVector,
  sumVectors,
  toSigned,
} from "../../../sdk/research/field.js";
import {
  bernoulliExpMinus,
  discreteLaplace,
  noiseBound,
  noiseScale,
  noiseScales,
  noiseVector,
  uniformBelow,
} from "../../../sdk/research/dp.js";
import {
  commitVector,
  encodeShareContext,
  encodeSumShareContext,
  openVector,
  sealPayload,
  sealVector,
  slotKeyVersion,
} from "../../../sdk/research/seal.js";
import { ShareRefusedError } from "../../../sdk/research/errors.js";
import { parseQuery } from "../../../sdk/research/query.js";
import { InvalidInputError } from "../../../sdk/errors.js";
import { chiSquareCritical, chiSquareFit, seededRandom } from "./helpers.js";

const field = fc.bigInt({ min: 0n, max: MODULUS - 1n });

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ShareRefusedError) return err.refusal;
    throw err;
  }
  return undefined;
}

describe("sdk/research: the field and additive sharing", () => {
  it("p is the Mersenne prime 2^61 − 1; signed values round-trip through the field", () => {
    expect(MODULUS).to.equal(2305843009213693951n);
    fc.assert(
      fc.property(fc.bigInt({ min: -(MODULUS >> 1n), max: MODULUS >> 1n }), (v) => toSigned(fromSigned(v)) === v),
    );
    expect(() => fromSigned(MODULUS)).to.throw(InvalidInputError);
    expect(mod(-1n)).to.equal(MODULUS - 1n);
  });

  it("any n shares sum to the vector; any n − 1 of them do not depend on it (same seed, different inputs)", () => {
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 20 }), fc.integer({ min: 2, max: 6 }), (v, n) => {
        const shares = splitVector(v, n);
        expect(shares).to.have.length(n);
        expect(sumVectors(shares, v.length)).to.deep.equal(v);
      }),
    );
    // With the same randomness, the first n − 1 shares are identical whatever the input.
    const a = splitVector([1n, 2n, 3n], 3, seededRandom("s"));
    const b = splitVector([100n, 0n, 5n], 3, seededRandom("s"));
    expect(a.slice(0, 2)).to.deep.equal(b.slice(0, 2));
    expect(a[2]).to.not.deep.equal(b[2]);
  });

  it("refuses fewer than two shares and non-field elements", () => {
    expect(() => splitVector([1n], 1)).to.throw(InvalidInputError);
    expect(() => splitVector([MODULUS], 2)).to.throw(InvalidInputError);
    expect(() => splitVector([-1n], 2)).to.throw(InvalidInputError);
    expect(() => sumVectors([[1n], [1n, 2n]], 1)).to.throw(InvalidInputError);
  });

  it("uniform elements: 20,000 draws spread evenly over 16 bins of Z_p (chi-square, fixed seed)", () => {
    const random = seededRandom("uniform");
    const bins = new Array<number>(16).fill(0);
    for (const x of randomVector(20_000, random)) bins[Number((x * 16n) / MODULUS)]!++;
    const { stat, df } = chiSquareFit(bins, new Array(16).fill(1 / 16));
    expect(stat).to.be.lessThan(chiSquareCritical(df));
  });

  it("encodes 8 bytes per element; decoding refuses another length (BAD_LENGTH) and elements ≥ p (OUT_OF_RANGE)", () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 20 }), (v) => {
        expect(decodeVector(encodeVector(v), v.length)).to.deep.equal(v);
      }),
    );
    const bytes = encodeVector([1n, 2n]);
    expect(refusal(() => decodeVector(bytes, 3))).to.equal("BAD_LENGTH");
    expect(refusal(() => decodeVector(bytes.subarray(0, 15), 2))).to.equal("BAD_LENGTH");
    const out = bytes.slice();
    new DataView(out.buffer).setBigUint64(8, MODULUS);
    expect(refusal(() => decodeVector(out, 2))).to.equal("OUT_OF_RANGE");
    expect(() => encodeVector([MODULUS])).to.throw(InvalidInputError);
  });
});

describe("sdk/research: differential privacy (exact discrete Laplace)", () => {
  it("uniformBelow and Bernoulli(exp(−γ)) have the right frequencies (fixed seed)", () => {
    const random = seededRandom("bern");
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[Number(uniformBelow(3n, random))]!++;
    expect(chiSquareFit(counts, [1 / 3, 1 / 3, 1 / 3]).stat).to.be.lessThan(chiSquareCritical(2));
    for (const [num, den] of [
      [1n, 2n],
      [3n, 1n],
      [7n, 3n],
    ] as const) {
      let yes = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) if (bernoulliExpMinus(num, den, random)) yes++;
      const p = Math.exp(-Number(num) / Number(den));
      expect(Math.abs(yes / n - p)).to.be.lessThan(4 * Math.sqrt((p * (1 - p)) / n));
    }
    expect(() => uniformBelow(0n)).to.throw(InvalidInputError);
    expect(() => bernoulliExpMinus(-1n, 1n)).to.throw(InvalidInputError);
  });

  it("draws follow P[x] ∝ exp(−|x|/b) (chi-square against the exact pmf, b = 2.5, fixed seed)", () => {
    const random = seededRandom("laplace");
    const s = 2n;
    const t = 5n; // b = t/s = 2.5
    const b = 2.5;
    const q = Math.exp(-1 / b);
    const pmf = (x: number) => ((1 - q) / (1 + q)) * q ** Math.abs(x);
    const span = 8; // bins −8..8, tails pooled
    const counts = new Array<number>(2 * span + 3).fill(0);
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const x = Number(discreteLaplace(s, t, random));
      counts[x < -span ? 0 : x > span ? counts.length - 1 : x + span + 1]!++;
    }
    const expected = counts.map((_, i) => {
      if (i === 0 || i === counts.length - 1) return q ** (span + 1) / (1 + q);
      return pmf(i - span - 1);
    });
    const { stat, df } = chiSquareFit(counts, expected);
    expect(stat).to.be.lessThan(chiSquareCritical(df));
  });

  it("the documented bound holds: 3 servers × 5,000 cells, β = 10^−6 per cell, never exceeded (fixed seed)", () => {
    const random = seededRandom("bound");
    const scale = noiseScale(2n, 4, 1000); // Δ 2, 4 components, ε = 1: b = 8
    const bound = noiseBound(scale, 3, 1e-6);
    expect(bound).to.equal(3n * BigInt(Math.ceil(8 * Math.log(6e6)) - 1));
    let worst = 0n;
    for (let c = 0; c < 5000; c++) {
      let total = 0n;
      for (let server = 0; server < 3; server++) total += discreteLaplace(scale.s, scale.t, random);
      if ((total < 0n ? -total : total) > worst) worst = total < 0n ? -total : total;
    }
    expect(worst <= bound).to.equal(true);
    expect(() => noiseScale(1n, 1, 0)).to.throw(InvalidInputError);
    expect(() => discreteLaplace(0n, 1n)).to.throw(InvalidInputError);
  });

  it("calibration: ε split over the query's components; sums scale with their range; cell 0 is never noised", () => {
    const query = parseQuery({
      language: "medledger-query/1",
      asOf: "2021-01-01",
      groupBy: ["sex"],
      measures: [
        {
          kind: "mean",
          of: { observation: { codes: [{ system: "http://loinc.org", code: "4548-4" }] } },
          range: [3, 20],
          decimals: 1,
        },
        {
          kind: "histogram",
          of: { observation: { codes: [{ system: "http://loinc.org", code: "4548-4" }] } },
          edges: [6.5],
        },
      ],
    });
    const scales = noiseScales(query, 500);
    expect(scales).to.have.length(1 + 4 * 5);
    expect(scales[0]).to.equal(null);
    // 4 components (count, mean sum, mean count, histogram): t = Δ · 4 · 1000, s = 500.
    expect(scales[1]).to.deep.equal({ s: 500n, t: 8000n });
    expect(scales[2]).to.deep.equal({ s: 500n, t: 2n * 200n * 4000n });
    expect(scales[3]).to.deep.equal({ s: 500n, t: 8000n });
    const noise = noiseVector(scales, seededRandom("n"));
    expect(noise[0]).to.equal(0n);
    expect(noise.slice(1).some((x) => x !== 0n)).to.equal(true);
  });
});

describe("sdk/research: sealed vectors and commitments", () => {
  const server = x25519.utils.randomSecretKey();
  const serverPublic = x25519.getPublicKey(server);
  const ctx = {
    chainId: 31337n,
    studyRegistry: "0x" + "11".repeat(20),
    studyId: ("0x" + "22".repeat(32)) as `0x${string}`,
    runId: 1,
    custodianOrg: 3,
    keyholderId: 2,
    index: 1,
    cells: 3,
  };
  const context = encodeShareContext(ctx);

  it("round-trips, and the commitment is the one over salt ‖ vector in the context", () => {
    const vector = [5n, 0n, MODULUS - 1n];
    const sealed = sealVector({
      vector,
      recipientPublicKey: serverPublic,
      recipientKeyVersion: 7,
      context,
      label: "share",
    });
    expect(slotKeyVersion(sealed.slot)).to.equal(7);
    expect(sealed.slot.length).to.equal(37 + 32 + 24 + 16);
    const opened = openVector({ slot: sealed.slot, recipientPrivateKey: server, context, label: "share", cells: 3 });
    expect(opened.vector).to.deep.equal(vector);
    expect(opened.commitment).to.equal(sealed.commitment);
    expect(commitVector(context, opened.salt, vector)).to.equal(sealed.commitment);
    // Hiding: another salt, another commitment for the same vector.
    expect(
      sealVector({ vector, recipientPublicKey: serverPublic, recipientKeyVersion: 7, context, label: "share" })
        .commitment,
    ).to.not.equal(sealed.commitment);
    expect(context.length).to.equal(105);
    expect(
      encodeSumShareContext({
        ...ctx,
        researcher: "0x" + "33".repeat(20),
        contributorsDigest: ("0x" + "44".repeat(32)) as `0x${string}`,
      }).length,
    ).to.equal(149);
  });

  it("refuses a tampered slot, another key, context or label (BAD_SLOT), another length (BAD_LENGTH), elements ≥ p (OUT_OF_RANGE)", () => {
    const sealed = sealVector({
      vector: [1n, 2n, 3n],
      recipientPublicKey: serverPublic,
      recipientKeyVersion: 1,
      context,
      label: "share",
    });
    const open = (o: Partial<Parameters<typeof openVector>[0]>) =>
      refusal(() =>
        openVector({ slot: sealed.slot, recipientPrivateKey: server, context, label: "share", cells: 3, ...o }),
      );
    const flipped = sealed.slot.slice();
    flipped[60]! ^= 1;
    expect(open({ slot: flipped })).to.equal("BAD_SLOT");
    expect(open({ recipientPrivateKey: x25519.utils.randomSecretKey() })).to.equal("BAD_SLOT");
    expect(open({ context: encodeShareContext({ ...ctx, runId: 2 }) })).to.equal("BAD_SLOT");
    expect(open({ label: "sum" })).to.equal("BAD_SLOT");
    expect(open({ slot: sealed.slot.subarray(0, 40) })).to.equal("BAD_SLOT");
    const v2 = sealed.slot.slice();
    v2[0] = 2;
    expect(open({ slot: v2 })).to.equal("BAD_SLOT");
    expect(open({ cells: 4 })).to.equal("BAD_LENGTH");
    const short = sealVector({
      vector: [1n, 2n],
      recipientPublicKey: serverPublic,
      recipientKeyVersion: 1,
      context,
      label: "share",
    });
    expect(
      refusal(() => openVector({ slot: short.slot, recipientPrivateKey: server, context, label: "share", cells: 3 })),
    ).to.equal("BAD_LENGTH");
    // A well-sealed payload whose element is out of range (sealVector itself refuses to build one).
    const payload = new Uint8Array(32 + 24);
    payload.fill(0xff, 32 + 8, 32 + 16);
    const bad = sealPayload({
      payload,
      recipientPublicKey: serverPublic,
      recipientKeyVersion: 1,
      context,
      label: "share",
    });
    expect(
      refusal(() => openVector({ slot: bad, recipientPrivateKey: server, context, label: "share", cells: 3 })),
    ).to.equal("OUT_OF_RANGE");
  });
});
