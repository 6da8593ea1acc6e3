/**
 * One server's whole view — the shares it receives from every custodian and the sum-share it
 * computes — is statistically independent of the inputs: for two very different input sets the
 * view has the same distribution (chi-square and Kolmogorov–Smirnov two-sample tests with a fixed
 * seed; not timing-based, so never flaky). The 99 comparisons share one significance level of
 * 0.001 (Bonferroni: 10^−5 each). The same tests on the researcher's view (the totals) detect the
 * difference at once: the tests have power.
 */
import { expect } from "chai";

import { MODULUS, splitVector, sumVectors } from "../../../sdk/research/field.js";
import { chiSquareCritical, chiSquareTwoSample, ksTwoSample, seededRandom } from "./helpers.js";

const SERVERS = 3;
const TRIALS = 3000;
const BINS = 16;
/** Per-comparison significance (Bonferroni over 3 servers × 33 comparisons, family-wise 0.001). */
const ALPHA = 1e-5;
/** The one-sided standard normal quantile for ALPHA (chi-square critical values). */
const Z = 4.265;

/** Three custodians' result vectors (length 4), two very different input sets. */
const INPUT_A = [
  [5n, 0n, 2n, 9n],
  [1n, 1n, 1n, 1n],
  [0n, 3n, 0n, 7n],
];
const INPUT_B = [
  [100n, 50n, 0n, 2n],
  [0n, 0n, 0n, 0n],
  [MODULUS - 9n, 9n, 9n, 9n],
];

interface Views {
  /** Per server: every element it sees (shares then sum-share), trial by trial. */
  server: number[][][];
  /** The researcher's totals (exact). */
  totals: bigint[][];
}

function run(inputs: bigint[][], seed: string): Views {
  const random = seededRandom(seed);
  const server: number[][][] = Array.from({ length: SERVERS }, () => []);
  const totals: bigint[][] = [];
  const norm = (x: bigint) => Number((x * 1_000_000n) / MODULUS) / 1_000_000;
  for (let t = 0; t < TRIALS; t++) {
    // Each custodian splits its vector into one share per server (what contribute does).
    const shares = inputs.map((v) => splitVector(v, SERVERS, random));
    const sums: bigint[][] = [];
    for (let j = 0; j < SERVERS; j++) {
      const received = shares.map((s) => s[j]!);
      const sum = sumVectors(received, 4); // what aggregate computes
      sums.push(sum);
      server[j]!.push([...received.flat(), ...sum].map(norm));
    }
    totals.push(sumVectors(sums, 4));
  }
  return { server, totals };
}

function histogram(values: readonly number[]): number[] {
  const h = new Array<number>(BINS).fill(0);
  for (const v of values) h[Math.min(BINS - 1, Math.floor(v * BINS))]!++;
  return h;
}

describe("sdk/research: one server's view is independent of the inputs", () => {
  const a = run(INPUT_A, "view-a");
  const b = run(INPUT_B, "view-b");

  for (let j = 0; j < SERVERS; j++) {
    it(`server ${j + 1}: every coordinate of its view (12 share elements, 4 sum-share elements) has the same distribution for both inputs`, () => {
      const positions = a.server[j]![0]!.length;
      expect(positions).to.equal(16);
      for (let pos = 0; pos < positions; pos++) {
        const xa = a.server[j]!.map((view) => view[pos]!);
        const xb = b.server[j]!.map((view) => view[pos]!);
        const { stat, df } = chiSquareTwoSample(histogram(xa), histogram(xb));
        expect(stat, `chi-square, position ${pos}`).to.be.lessThan(chiSquareCritical(df, Z));
        const ks = ksTwoSample(xa, xb, ALPHA);
        expect(ks.d, `KS, position ${pos}`).to.be.lessThan(ks.critical);
      }
      // A joint statistic: the view's element sum (mod 1) — also indistinguishable.
      const fold = (views: number[][]) => views.map((v) => v.reduce((s, x) => s + x, 0) % 1);
      const { stat, df } = chiSquareTwoSample(histogram(fold(a.server[j]!)), histogram(fold(b.server[j]!)));
      expect(stat).to.be.lessThan(chiSquareCritical(df, Z));
    });
  }

  it("control: the researcher's view (all servers' sums added) tells the inputs apart at once", () => {
    // The same binning by value (mod 16) that finds nothing in a server's view.
    const bins = (totals: bigint[][]) => {
      const h = new Array<number>(BINS).fill(0);
      for (const t of totals) h[Number(t[0]! % 16n)]!++;
      return h;
    };
    const { stat, df } = chiSquareTwoSample(bins(a.totals), bins(b.totals));
    // A point mass each (the exact totals), at different values.
    expect(a.totals.every((t) => t[0] === 6n)).to.equal(true);
    expect(b.totals.every((t) => t[0] === 91n)).to.equal(true);
    expect(stat).to.be.greaterThan(chiSquareCritical(Math.max(df, 1), Z));
  });
});
