/**
 * `memory()`: a Map-backed store for tests, demos and browsers.
 *
 * @module
 */
import { custom } from "./custom.js";
import type { BlobStore } from "./types.js";

/**
 * A store that keeps objects in a `Map` in this process. Same addressing (`sha256:<hex>`),
 * idempotence and verification as {@link filesystem}; nothing survives `close()` or the process.
 * Objects are copied on the way in and out, so neither the caller's buffers nor the returned
 * bytes alias the stored copy. A streamed `put` is necessarily buffered whole. Runs anywhere
 * (browsers included): hashing falls back to `@noble/hashes` without `node:crypto`.
 *
 * @example
 * ```ts
 * import { memory } from "medledger";
 * const store = memory();
 * const address = await store.put(new TextEncoder().encode("hello"));
 * new TextDecoder().decode(await store.getBytes(address)); // "hello"
 * ```
 */
export function memory(): BlobStore {
  const objects = new Map<string, Uint8Array>();
  return custom({
    kind: "memory",
    put: (address, data) => {
      if (!objects.has(address)) objects.set(address, data);
      return Promise.resolve();
    },
    get: (address) => Promise.resolve(objects.get(address)),
    has: (address) => Promise.resolve(objects.has(address)),
    delete: (address) => Promise.resolve(objects.delete(address)),
    close: () => {
      objects.clear();
      return Promise.resolve();
    },
  });
}
