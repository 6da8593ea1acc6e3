/**
 * Shared by the research suites: a deterministic random source (a ChaCha20 keystream from a seed)
 * so statistical tests are reproducible, and a chi-square helper.
 */
import { chacha20 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";

import type { RandomSource } from "../../../sdk/crypto/random.js";

/** A reproducible RandomSource: the ChaCha20 keystream keyed by sha256(seed). */
export function seededRandom(seed: string): RandomSource {
  const key = sha256(new TextEncoder().encode(seed));
  let counter = 0;
  let buffer = new Uint8Array(0);
  let offset = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (offset === buffer.length) {
        const nonce = new Uint8Array(12);
        new DataView(nonce.buffer).setUint32(8, counter++);
        buffer = chacha20(key, nonce, new Uint8Array(4096));
        offset = 0;
      }
      const take = Math.min(n - filled, buffer.length - offset);
      out.set(buffer.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
    }
    return out;
  };
}

/**
 * Two-sample chi-square statistic over the same bins (counts a and b), with its degrees of freedom
 * (bins where both are empty are dropped).
 */
export function chiSquareTwoSample(a: readonly number[], b: readonly number[]): { stat: number; df: number } {
  const na = a.reduce((s, x) => s + x, 0);
  const nb = b.reduce((s, x) => s + x, 0);
  const k1 = Math.sqrt(nb / na);
  const k2 = Math.sqrt(na / nb);
  let stat = 0;
  let bins = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! + b[i]! === 0) continue;
    bins++;
    stat += (k1 * a[i]! - k2 * b[i]!) ** 2 / (a[i]! + b[i]!);
  }
  return { stat, df: bins - 1 };
}

/** Chi-square goodness of fit of observed counts against expected probabilities. */
export function chiSquareFit(observed: readonly number[], expected: readonly number[]): { stat: number; df: number } {
  const n = observed.reduce((s, x) => s + x, 0);
  let stat = 0;
  for (let i = 0; i < observed.length; i++) stat += (observed[i]! - n * expected[i]!) ** 2 / (n * expected[i]!);
  return { stat, df: observed.length - 1 };
}

/**
 * The upper critical value of chi-square with `df` degrees of freedom at significance 0.001
 * (Wilson–Hilferty approximation; z = 3.090).
 */
export function chiSquareCritical(df: number, z = 3.090232): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Two-sample Kolmogorov–Smirnov statistic D and its critical value at significance `alpha`. */
export function ksTwoSample(
  a: readonly number[],
  b: readonly number[],
  alpha = 0.001,
): { d: number; critical: number } {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const c = Math.sqrt(-0.5 * Math.log(alpha / 2)); // c(α): 1.949 for α = 0.001
  return { d, critical: c * Math.sqrt((x.length + y.length) / (x.length * y.length)) };
}
