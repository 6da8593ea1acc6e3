/**
 * Randomness for the crypto module.
 *
 * Every function that draws random bytes takes an optional {@link RandomSource}, so tests can
 * inject a deterministic one and known-answer vectors stay reproducible. The default is the
 * platform CSPRNG, `globalThis.crypto.getRandomValues` (Node 19+, every browser, Deno, Bun).
 */
import { DependencyMissingError, InvalidInputError } from "../errors.js";

/** Returns `n` random bytes. Must be a cryptographically secure source outside of tests. */
export type RandomSource = (n: number) => Uint8Array;

/** getRandomValues refuses more than 65536 bytes per call (Web Crypto spec). */
const MAX_GET_RANDOM_VALUES = 65_536;

/**
 * The platform CSPRNG (`globalThis.crypto.getRandomValues`).
 *
 * @example
 * ```ts
 * import { secureRandom } from "medledger";
 * const nonce = secureRandom(24);
 * ```
 */
export const secureRandom: RandomSource = (n) => {
  const webCrypto = (globalThis as { crypto?: { getRandomValues?: <T extends Uint8Array>(array: T) => T } }).crypto;
  if (typeof webCrypto?.getRandomValues !== "function") {
    throw new DependencyMissingError("No secure random source: globalThis.crypto.getRandomValues is missing", {
      details: "pass a `random` function explicitly on this platform",
    });
  }
  const out = new Uint8Array(n);
  for (let offset = 0; offset < n; offset += MAX_GET_RANDOM_VALUES) {
    webCrypto.getRandomValues(out.subarray(offset, Math.min(n, offset + MAX_GET_RANDOM_VALUES)));
  }
  return out;
};

/**
 * Draws `n` bytes from `random` (default {@link secureRandom}) and checks that the source kept its
 * contract: an injected source that returns the wrong length must not silently weaken a key.
 */
export function drawRandom(n: number, random: RandomSource | undefined): Uint8Array {
  if (random !== undefined && typeof random !== "function") {
    throw new InvalidInputError("random must be a function (n: number) => Uint8Array", {
      details: `got ${typeof random}`,
    });
  }
  const bytes = (random ?? secureRandom)(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new InvalidInputError(`random source must return a ${n}-byte Uint8Array`, {
      details: bytes instanceof Uint8Array ? `got ${bytes.length} bytes` : `got ${typeof bytes}`,
    });
  }
  // Copy: the source may reuse its buffer, and callers keep these bytes (keys, salts).
  return bytes.slice();
}
