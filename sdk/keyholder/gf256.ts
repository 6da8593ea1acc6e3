/**
 * Arithmetic in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1, the field of the
 * `shamir-secret-sharing` package (Privy; its tables use generator 0xe5 over the same polynomial).
 * The package splits and combines; it exposes no field operations, and resharing needs three:
 * a Lagrange coefficient at 0 for a chosen set of x coordinates, scaling a share by it, and
 * evaluating a fresh random polynomial at chosen x coordinates. Shares produced here have the
 * package's layout (`y ‖ x`) and its `combine` reconstructs them; a test cross-checks both ways.
 *
 * Multiplication is branch-free on secret bytes (eight masked shift-and-add rounds), so its timing
 * does not depend on the share values.
 */
import { InvalidInputError } from "../errors.js";

/** Product of two field elements (0..255). */
export function gfMul(a: number, b: number): number {
  let product = 0;
  let x = a & 0xff;
  let y = b & 0xff;
  for (let i = 0; i < 8; i++) {
    product ^= x & -(y & 1);
    const carry = -((x >> 7) & 1);
    x = ((x << 1) ^ (0x1b & carry)) & 0xff;
    y >>= 1;
  }
  return product & 0xff;
}

/** Multiplicative inverse (a^254); throws for 0. */
export function gfInv(a: number): number {
  if ((a & 0xff) === 0) throw new InvalidInputError("0 has no inverse in GF(2^8)");
  let result = 1;
  let base = a & 0xff;
  let e = 254;
  while (e > 0) {
    if (e & 1) result = gfMul(result, base);
    base = gfMul(base, base);
    e >>= 1;
  }
  return result;
}

function assertCoordinates(xs: readonly number[]): void {
  const seen = new Set<number>();
  for (const x of xs) {
    if (!Number.isInteger(x) || x < 1 || x > 255 || seen.has(x)) {
      throw new InvalidInputError("x coordinates must be distinct integers in 1..255", {
        details: `got ${xs.join(", ")}`,
      });
    }
    seen.add(x);
  }
}

/** λᵢ(0) = Πⱼ≠ᵢ xⱼ / (xⱼ − xᵢ) for the interpolation set `xs`: Σ λᵢ·yᵢ is the secret. */
export function lagrangeAtZero(xs: readonly number[], i: number): number {
  assertCoordinates(xs);
  const xi = xs[i];
  if (xi === undefined) throw new InvalidInputError(`no coordinate at index ${i}`);
  let numerator = 1;
  let denominator = 1;
  for (let j = 0; j < xs.length; j++) {
    if (j === i) continue;
    const xj = xs[j]!;
    numerator = gfMul(numerator, xj);
    denominator = gfMul(denominator, xj ^ xi);
  }
  return gfMul(numerator, gfInv(denominator));
}

/** Multiplies every byte of `bytes` by the scalar `c`. */
export function gfScale(bytes: Uint8Array, c: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = gfMul(bytes[i]!, c);
  return out;
}

/** Byte-wise field addition (XOR) of equal-length arrays, into a new array. */
export function gfAdd(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new InvalidInputError("gfAdd expects arrays of one length");
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * Shares `secret` (any length) with a fresh random polynomial per byte of degree `threshold − 1`
 * evaluated at the given x coordinates; returns one share per coordinate in the package's layout
 * `y ‖ x`. `random(n)` must be a CSPRNG.
 */
export function shareAt(
  secret: Uint8Array,
  xs: readonly number[],
  threshold: number,
  random: (n: number) => Uint8Array,
): Uint8Array[] {
  assertCoordinates(xs);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) {
    throw new InvalidInputError("threshold must be in 1..number of coordinates", { details: `got ${threshold}` });
  }
  const degree = threshold - 1;
  const coefficients = random(secret.length * degree);
  const shares = xs.map((x) => {
    const share = new Uint8Array(secret.length + 1);
    share[secret.length] = x;
    return share;
  });
  for (let b = 0; b < secret.length; b++) {
    for (let s = 0; s < xs.length; s++) {
      const x = xs[s]!;
      // Horner: ((c_d·x + c_{d-1})·x + …)·x + secret[b]
      let y = 0;
      for (let d = degree; d >= 1; d--) y = gfMul(y, x) ^ coefficients[b * degree + (d - 1)]!;
      y = gfMul(y, x) ^ secret[b]!;
      shares[s]![b] = y;
    }
  }
  coefficients.fill(0);
  return shares;
}
