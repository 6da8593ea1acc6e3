/**
 * Optional differential privacy: each aggregation server adds its own noise to its sum-share.
 *
 * **Mechanism.** The discrete Laplace distribution Lap_Z(b), P[X = x] ∝ exp(−|x|/b) over the
 * integers, sampled exactly with integer arithmetic and a CSPRNG (Canonne, Kamath and Steinke,
 * "The Discrete Gaussian for Differential Privacy", NeurIPS 2020, Algorithms 1 and 2): no floating
 * point, so none of the floating-point attacks on naive Laplace samplers (Mironov 2012) apply.
 *
 * **Calibration.** A study's ε (on chain: `epsilonMilli` = ε × 1000, per run) is split equally over
 * the C noised components of its result vector (a group's count, and each measure's cells: a
 * conditional count, a sum, a mean's sum and count, a histogram). Participation is public by
 * design (every read is in the access log), so the neighbouring datasets are those that differ in
 * one patient's *data* (replace-one): a patient moving between groups changes a count by 1 in two
 * groups, so a component's L1 sensitivity Δ is 2 for counts and histograms and 2 · max|value| for
 * sums (values clamped to the measure's range). Each cell of component c gets Lap_Z(b_c) with
 * b_c = Δ_c · C / ε, i.e. t = Δ_c · C · 1000 and s = epsilonMilli in the sampler's integers. By
 * basic composition the release is ε-DP. The "patients evaluated" cell is not noised: it equals
 * the number of study reads, which the chain already shows.
 *
 * **Protected if one server is honest.** Every server adds noise calibrated to the whole ε. If any
 * one server draws its noise honestly, the totals the researcher sees are x + η_honest + (terms
 * independent of x): post-processing of an ε-DP release. The price is n times the variance of a
 * single draw.
 *
 * **Noise bound** ({@link noiseBound}): for Lap_Z(b), P[|X| ≥ k] = 2q^k/(1+q) with q = e^{−1/b}.
 * With n servers, |Σ η| ≤ n·(k − 1) for k = ⌈b · ln(2n/β)⌉ except with probability ≤ β per cell.
 *
 * @example
 * ```ts
 * import { discreteLaplace } from "medledger/research";
 * const noise = discreteLaplace(1000n, 4000n); // scale t/s = 4: P[x] ∝ exp(−|x|/4)
 * ```
 */
import { drawRandom } from "../crypto/random.js";
import type { RandomSource } from "../crypto/random.js";
import { InvalidInputError } from "../errors.js";
import { fromSigned } from "./field.js";
import { queryLayout } from "./query.js";
import type { Query } from "./query.js";

/** A uniform integer in [0, m) by rejection sampling (m ≥ 1). */
export function uniformBelow(m: bigint, random?: RandomSource): bigint {
  if (m < 1n) throw new InvalidInputError("uniformBelow needs m ≥ 1");
  if (m === 1n) return 0n;
  const bits = (m - 1n).toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const b = drawRandom(bytes, random);
    let x = 0n;
    for (const byte of b) x = (x << 8n) | BigInt(byte);
    x &= mask;
    if (x < m) return x;
  }
}

/** Bernoulli(num/den), 0 ≤ num ≤ den. */
function bernoulli(num: bigint, den: bigint, random?: RandomSource): boolean {
  return uniformBelow(den, random) < num;
}

/** Bernoulli(exp(−num/den)) for num/den ≥ 0, exactly (CKS20 Algorithm 1). */
export function bernoulliExpMinus(num: bigint, den: bigint, random?: RandomSource): boolean {
  if (num < 0n || den < 1n) throw new InvalidInputError("bernoulliExpMinus needs num ≥ 0 and den ≥ 1");
  if (num <= den) {
    let k = 1n;
    while (bernoulli(num, den * k, random)) k++;
    return k % 2n === 1n;
  }
  for (let i = 0n; i < num / den; i++) if (!bernoulliExpMinus(1n, 1n, random)) return false;
  return bernoulliExpMinus(num % den, den, random);
}

/**
 * One draw of Lap_Z(t/s): P[X = x] ∝ exp(−|x|·s/t), s, t ≥ 1 (CKS20 Algorithm 2).
 */
export function discreteLaplace(s: bigint, t: bigint, random?: RandomSource): bigint {
  if (s < 1n || t < 1n) throw new InvalidInputError("discreteLaplace needs s ≥ 1 and t ≥ 1");
  for (;;) {
    const u = uniformBelow(t, random);
    if (!bernoulliExpMinus(u, t, random)) continue;
    let v = 0n;
    while (bernoulliExpMinus(1n, 1n, random)) v++;
    const y = (u + t * v) / s;
    const negative = uniformBelow(2n, random) === 1n;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** The scale parameters of one component: Lap_Z(t/s) with b = t/s = Δ·C/ε. */
export interface NoiseScale {
  s: bigint;
  t: bigint;
}

/** The scale of a component of L1 sensitivity `sensitivity` when ε (× 1000) is split over `components`. */
export function noiseScale(sensitivity: bigint, components: number, epsilonMilli: number): NoiseScale {
  if (!Number.isSafeInteger(epsilonMilli) || epsilonMilli < 1) {
    throw new InvalidInputError("epsilonMilli must be a positive integer", { details: String(epsilonMilli) });
  }
  if (sensitivity < 1n || !Number.isSafeInteger(components) || components < 1) {
    throw new InvalidInputError("sensitivity and components must be positive");
  }
  return { s: BigInt(epsilonMilli), t: sensitivity * BigInt(components) * 1000n };
}

/**
 * A bound B such that the total noise of one cell from `servers` honest servers satisfies
 * |Σ η| ≤ B except with probability at most `beta` (see the module comment).
 */
export function noiseBound(scale: NoiseScale, servers: number, beta: number): bigint {
  const b = Number(scale.t) / Number(scale.s);
  const k = Math.ceil(b * Math.log((2 * servers) / beta));
  return BigInt(servers) * BigInt(Math.max(k - 1, 0));
}

/**
 * The noise scale of every cell of a query's vector for a study's ε (null for cell 0, the number
 * of patients evaluated, which is public and never noised). See the module comment.
 */
export function noiseScales(query: Query, epsilonMilli: number): (NoiseScale | null)[] {
  const layout = queryLayout(query);
  const components = 1 + query.measures.reduce((n, m) => n + (m.kind === "sum" || m.kind === "mean" ? 2 : 1), 0);
  const two = noiseScale(2n, components, epsilonMilli);
  const sumScales = query.measures.map((m) =>
    m.kind === "sum" || m.kind === "mean"
      ? noiseScale(
          2n * BigInt(Math.round(Math.max(Math.abs(m.range[0]), Math.abs(m.range[1])) * 10 ** m.decimals) || 1),
          components,
          epsilonMilli,
        )
      : two,
  );
  const out: (NoiseScale | null)[] = [null];
  for (let i = 1; i < layout.cells; i++) {
    const info = layout.cellInfo(i);
    out.push(info.role === "valueSum" ? sumScales[info.measure]! : two);
  }
  return out;
}

/** One server's noise for a vector: a fresh draw per noised cell, as field elements. */
export function noiseVector(scales: readonly (NoiseScale | null)[], random?: RandomSource): bigint[] {
  return scales.map((scale) => (scale === null ? 0n : fromSigned(discreteLaplace(scale.s, scale.t, random))));
}
