/**
 * Incremental SHA-256 for streaming verification.
 *
 * Uses `node:crypto` when the runtime has it (through `process.getBuiltinModule`, so bundlers do
 * not see a static `node:` import and the module stays browser-safe) and `@noble/hashes`
 * elsewhere; both produce identical digests, which a test cross-checks. `node:crypto` is about
 * eight times faster here, which matters for the 100 MB objects.
 *
 * @internal
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

import type * as NodeCrypto from "node:crypto";

import { nodeBuiltin } from "../../util.js";

/** An incremental SHA-256. */
export interface Sha256 {
  update(chunk: Uint8Array): void;
  /** The 32-byte digest; the hasher cannot be used afterwards. */
  digest(): Uint8Array;
}

export { nodeBuiltin } from "../../util.js";

const nodeCrypto = nodeBuiltin<typeof NodeCrypto>("node:crypto");

/** Creates an incremental SHA-256 hasher. */
export function createSha256(): Sha256 {
  if (nodeCrypto !== undefined) {
    const hash = nodeCrypto.createHash("sha256");
    return {
      update: (chunk) => void hash.update(chunk),
      digest: () => new Uint8Array(hash.digest()),
    };
  }
  const hash = nobleSha256.create();
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest(),
  };
}

/** SHA-256 of one byte array. */
export function sha256(data: Uint8Array): Uint8Array {
  const hash = createSha256();
  hash.update(data);
  return hash.digest();
}

/** Forces the pure-JS implementation; for the cross-check test only. */
export function createNobleSha256(): Sha256 {
  const hash = nobleSha256.create();
  return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest() };
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Equality of two byte arrays. Not constant time: it only compares public digests. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
