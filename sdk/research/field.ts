/**
 * The arithmetic of secure aggregation: integers modulo the Mersenne prime p = 2^61 − 1, vectors
 * of them, and additive secret sharing.
 *
 * - **Why a prime and not 2^64.** Every element of a share is checkable: an encoded element is 8
 *   bytes big-endian and must be < p, so a server can refuse an out-of-range element (a malformed
 *   or truncated share) instead of silently summing it. p is large enough for every sum the
 *   language produces (≤ 65,536 cells, counts ≤ 10^9, scaled sums ≤ 10^15 in absolute value, far
 *   below p/2 ≈ 1.15·10^18), and signed values (differential-privacy noise, negative measurements)
 *   are represented as p − |x| and decoded by {@link toSigned}.
 * - **Sharing.** A vector x is split into n shares s_1 … s_n with s_1 … s_{n−1} uniform and
 *   independent over Z_p^L and s_n = x − Σ s_i. Any n − 1 shares are then uniform and independent
 *   of x (information-theoretically), so any n − 1 servers learn nothing; the sum of all n is x.
 *   Uniform elements come from 64 random bits masked to 61 and rejected when equal to p (the only
 *   61-bit value ≥ p; probability 2^−61), so no modulo bias.
 *
 * @example
 * ```ts
 * import { splitVector, sumVectors } from "medledger/research";
 * const shares = splitVector([3n, 0n, 7n], 3);        // three uniformly random-looking vectors
 * sumVectors(shares, 3);                                // [3n, 0n, 7n]
 * ```
 */
import { drawRandom } from "../crypto/random.js";
import type { RandomSource } from "../crypto/random.js";
import { InvalidInputError } from "../errors.js";
import { ShareRefusedError } from "./errors.js";

/** The modulus: the Mersenne prime 2^61 − 1. */
export const MODULUS = (1n << 61n) - 1n;
/** Bytes of one encoded element (big-endian, < {@link MODULUS}). */
export const ELEMENT_BYTES = 8;
const HALF = MODULUS >> 1n;
const MASK61 = (1n << 61n) - 1n;

/** x mod p in [0, p). */
export function mod(x: bigint): bigint {
  const r = x % MODULUS;
  return r < 0n ? r + MODULUS : r;
}

/** The element representing the signed integer `v` (|v| < p/2). */
export function fromSigned(v: bigint): bigint {
  if (v > HALF || v < -HALF) throw new InvalidInputError("value does not fit the field", { details: String(v) });
  return mod(v);
}

/** The signed integer an element represents: elements above p/2 are negative. */
export function toSigned(x: bigint): bigint {
  return x > HALF ? x - MODULUS : x;
}

/** Element-wise sum of equally long vectors, mod p. */
export function sumVectors(vectors: readonly (readonly bigint[])[], length: number): bigint[] {
  const out = new Array<bigint>(length).fill(0n);
  for (const v of vectors) {
    if (v.length !== length) {
      throw new InvalidInputError("vectors to add must have the same length", {
        details: `expected ${length}, got ${v.length}`,
      });
    }
    for (let i = 0; i < length; i++) out[i] = (out[i]! + v[i]!) % MODULUS;
  }
  return out;
}

/** `length` uniform elements of Z_p. */
export function randomVector(length: number, random?: RandomSource): bigint[] {
  const out: bigint[] = [];
  while (out.length < length) {
    const need = length - out.length;
    const bytes = drawRandom(need * ELEMENT_BYTES, random);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < need; i++) {
      const x = view.getBigUint64(i * ELEMENT_BYTES) & MASK61;
      if (x !== MODULUS) out.push(x); // reject the one 61-bit value ≥ p
    }
    bytes.fill(0);
  }
  return out;
}

/**
 * Splits `vector` (elements of Z_p) into `n` additive shares (n ≥ 2): n − 1 uniform vectors and
 * the difference. Any n − 1 of them are independent of `vector`.
 */
export function splitVector(vector: readonly bigint[], n: number, random?: RandomSource): bigint[][] {
  if (!Number.isSafeInteger(n) || n < 2 || n > 255) {
    throw new InvalidInputError("a vector is split into 2..255 shares", { details: `got ${String(n)}` });
  }
  for (const [i, x] of vector.entries()) {
    if (typeof x !== "bigint" || x < 0n || x >= MODULUS) {
      throw new InvalidInputError("vector elements must be field elements (0 ≤ x < p)", { field: `vector[${i}]` });
    }
  }
  const shares: bigint[][] = [];
  for (let j = 0; j < n - 1; j++) shares.push(randomVector(vector.length, random));
  const last = vector.map((x, i) => {
    let s = x;
    for (const share of shares) s -= share[i]!;
    return mod(s);
  });
  shares.push(last);
  return shares;
}

/** Encodes a vector of elements (8 bytes each, big-endian). */
export function encodeVector(vector: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(vector.length * ELEMENT_BYTES);
  const view = new DataView(out.buffer);
  for (const [i, x] of vector.entries()) {
    if (x < 0n || x >= MODULUS) throw new InvalidInputError("not a field element", { field: `vector[${i}]` });
    view.setBigUint64(i * ELEMENT_BYTES, x);
  }
  return out;
}

/**
 * Decodes exactly `length` elements; refuses another length (`BAD_LENGTH`) and any element ≥ p
 * (`OUT_OF_RANGE`) with a {@link ShareRefusedError}.
 */
export function decodeVector(bytes: Uint8Array, length: number): bigint[] {
  if (bytes.length !== length * ELEMENT_BYTES) {
    throw new ShareRefusedError("BAD_LENGTH", "The share has the wrong length", {
      details: `expected ${length} elements (${length * ELEMENT_BYTES} bytes), got ${bytes.length} bytes`,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<bigint>(length);
  for (let i = 0; i < length; i++) {
    const x = view.getBigUint64(i * ELEMENT_BYTES);
    if (x >= MODULUS) {
      throw new ShareRefusedError("OUT_OF_RANGE", "A share element is out of range", {
        details: `element ${i} is not below 2^61 − 1`,
      });
    }
    out[i] = x;
  }
  return out;
}
