/**
 * The storage adapter contract: one small, content-addressed interface that every backend
 * (filesystem, memory, IPFS, custom) implements, built by factories in the style of viem's
 * `http()` / `custom()` transports.
 *
 * Content addressing means the store, never the caller, chooses the address: it is derived from
 * the bytes (a sha256 digest or an IPFS CID), so the same content always lands at the same
 * address, `put` is idempotent, and every read can be verified against its address.
 *
 * @example
 * ```ts
 * import type { BlobStore } from "medledger";
 * import { filesystem } from "medledger/node";
 * const store: BlobStore = filesystem({ dir: "./data/blobs" });
 * const address = await store.put(new TextEncoder().encode("sealed envelope bytes"));
 * const bytes = await store.getBytes(address); // verified against the address
 * await store.close();
 * ```
 *
 * @module
 */

/**
 * The address of a stored object, derived from its content. Either `sha256:<64 lowercase hex>`
 * (filesystem, memory, custom stores) or a canonical base32 CIDv1 string such as `bafkrei…`
 * (raw block) or `bafybei…` (UnixFS DAG) for the IPFS store.
 *
 * The brand stops an arbitrary string (a record id, a path) from being passed where an address
 * is expected without going through {@link BlobStore.put}, `parseAddress` or `isBlobAddress`.
 *
 * @example
 * ```ts
 * import { isBlobAddress, type BlobAddress } from "medledger";
 * function remember(address: BlobAddress) { ... }
 * const raw = row.blobAddress as string;
 * if (isBlobAddress(raw)) remember(raw);
 * ```
 */
export type BlobAddress = string & { readonly __brand: "BlobAddress" };

/**
 * What {@link BlobStore.put} accepts: a whole byte array, a WHATWG `ReadableStream` of byte chunks
 * (as returned by `fetch().body` or `Readable.toWeb()`), or any async iterable of byte chunks
 * (a Node `Readable`, an async generator). Chunks may have any size, including zero; they are
 * never modified.
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * import type { BlobInput } from "medledger";
 * import { filesystem } from "medledger/node";
 * const input: BlobInput = createReadStream("scan.dcm.sealed"); // a Node Readable is an AsyncIterable
 * const address = await filesystem({ dir: "./blobs" }).put(input);
 * ```
 */
export type BlobInput = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * A content-addressed object store.
 *
 * Guarantees every implementation gives (checked by the shared behaviour suite in
 * `test/helpers/storage-behaviour.ts`):
 * - `put` is idempotent: the same content always yields the same address and is stored once;
 *   concurrent puts of the same content all succeed with that address.
 * - Reads are verified: bytes that do not hash to their address never pass silently; the stream
 *   returned by `get` errors with `IntegrityError` instead of closing.
 * - Addresses are validated strictly: a malformed one (`"../../etc/passwd"`, wrong length,
 *   empty, another store's scheme) is rejected with `InvalidInputError` before any I/O.
 * - Failures are typed: `NotFoundError` (no such object), `StorageError` (backend failure, with
 *   `cause`), `IntegrityError`, `InvalidInputError`. After `close()` every method rejects with
 *   `StorageError`.
 *
 * @example
 * ```ts
 * import { memory, NotFoundError } from "medledger";
 * const store = memory();
 * const address = await store.put(new Uint8Array([1, 2, 3]));
 * await store.has(address); // true
 * await store.delete(address); // true
 * await store.getBytes(address).catch((err) => err instanceof NotFoundError); // true
 * ```
 */
export interface BlobStore {
  /** Which backend this is: `"filesystem"`, `"memory"`, `"ipfs"` or a custom store's name. */
  readonly kind: string;

  /**
   * Stores `data` and resolves to its content address. Idempotent: storing the same bytes again
   * returns the same address and does not store a second copy. Streaming inputs are consumed
   * once; the filesystem store (and custom stores with `stage`) hold one input chunk at a time,
   * the IPFS store at most two blocks (1 MiB each), the memory store the whole object by nature.
   * Rejects with `InvalidInputError` if `data` is not a {@link BlobInput} or yields a non-byte
   * chunk, with `StorageError` (cause kept) if the input stream or the backend fails; nothing is
   * stored in that case.
   *
   * @example
   * ```ts
   * const address = await store.put(new TextEncoder().encode("hello"));
   * // "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
   * ```
   */
  put(data: BlobInput): Promise<BlobAddress>;

  /**
   * Opens the object at `address` as a stream. Rejects with `NotFoundError` if there is no such
   * object. The content is verified while it streams: on a mismatch the stream errors with
   * `IntegrityError` instead of closing, and the chunk that would complete the object is withheld,
   * so treat the data as untrusted until the stream has closed normally. Cancel the stream (or
   * read it to the end) to release the underlying file or connection.
   *
   * @example
   * ```ts
   * import { Writable } from "node:stream";
   * import { createWriteStream } from "node:fs";
   * const stream = await store.get(address);
   * await stream.pipeTo(Writable.toWeb(createWriteStream("out.bin")));
   * ```
   */
  get(address: BlobAddress | string): Promise<ReadableStream<Uint8Array>>;

  /**
   * Reads the whole object into memory, verified against its address. Same errors as
   * {@link BlobStore.get}, except that an integrity failure rejects the promise.
   *
   * @example
   * ```ts
   * const bytes = await store.getBytes(address);
   * ```
   */
  getBytes(address: BlobAddress | string): Promise<Uint8Array>;

  /**
   * Whether an object is stored at `address` (without reading or verifying it).
   *
   * @example
   * ```ts
   * if (!(await store.has(address))) await store.put(bytes);
   * ```
   */
  has(address: BlobAddress | string): Promise<boolean>;

  /**
   * Removes the object. Resolves `true` if something was deleted, `false` if nothing was stored
   * there. Used for crypto-shredding: the sealed envelope is deleted together with its key slots.
   *
   * @example
   * ```ts
   * await store.delete(address); // true
   * await store.delete(address); // false
   * ```
   */
  delete(address: BlobAddress | string): Promise<boolean>;

  /**
   * Releases the store's resources (for the IPFS store, stops the Helia node it created).
   * Idempotent. Call it after your operations have settled; afterwards every method rejects with
   * `StorageError`.
   *
   * @example
   * ```ts
   * try { await work(store); } finally { await store.close(); }
   * ```
   */
  close(): Promise<void>;
}
