/**
 * `custom()`: turn a handful of user functions (an S3 client, a database table, a Map) into a
 * {@link BlobStore} with the same guarantees as the built-in stores.
 *
 * @module
 */
import { IntegrityError, InvalidInputError, MedLedgerError, NotFoundError, StorageError } from "../errors.js";
import { requireScheme, sha256AddressFromDigest } from "./address.js";
import type { BlobAddress, BlobInput, BlobStore } from "./types.js";
import { bytesEqual, createSha256, toHex } from "./internal/hash.js";
import {
  collect,
  concat,
  inputChunks,
  isAsyncIterable,
  isReadableStream,
  iterableToStream,
  readStream,
  releaseSource,
  sliceChunks,
  verifySha256,
} from "./internal/streams.js";

/**
 * What a custom backend's `get` may return: the stored bytes whole or as a stream, or
 * `undefined`/`null` when nothing is stored at the address.
 *
 * @example
 * ```ts
 * import type { CustomBlobSource } from "medledger";
 * const get = async (address: string): Promise<CustomBlobSource | undefined> => table.get(address);
 * ```
 */
export type CustomBlobSource = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * An upload written to a temporary location by a custom backend's `stage`, waiting for its
 * address. The wrapper calls exactly one of `commit` or `abort`.
 *
 * @example
 * ```ts
 * import type { StagedBlob } from "medledger";
 * const staged: StagedBlob = {
 *   commit: async (address) => { await s3.copy(tempKey, address); await s3.delete(tempKey); },
 *   abort: async () => { await s3.delete(tempKey); },
 * };
 * ```
 */
export interface StagedBlob {
  /**
   * Makes the staged bytes visible under `address` (their verified SHA-256 address). Must be
   * idempotent: if the address already holds the object (a concurrent put of the same content),
   * keep either copy and discard the staged one.
   */
  commit(address: BlobAddress): Promise<void>;
  /** Discards the staged bytes (the input failed, or the commit did). */
  abort(): Promise<void>;
}

/** The functions every custom backend provides. Addresses passed in are always validated. */
interface CustomBlobStoreBase {
  /** Name reported as {@link BlobStore.kind}, for example `"s3"`. */
  readonly kind: string;
  /** The bytes stored under `address`, or `undefined`/`null` if there are none. They are verified by the wrapper. */
  get(address: BlobAddress): Promise<CustomBlobSource | undefined | null>;
  /** Whether something is stored under `address`. */
  has(address: BlobAddress): Promise<boolean>;
  /** Removes the object; `true` if something was removed. */
  delete(address: BlobAddress): Promise<boolean>;
  /** Releases the backend's resources; called once by {@link BlobStore.close}. */
  close?(): Promise<void>;
}

/**
 * The functions a custom backend provides. Give either `put` (simple: receives the whole object,
 * which the wrapper buffers to compute its address first) or `stage` (streaming: writes the
 * bytes to a temporary location while the wrapper hashes them, then moves them to their address
 * in `commit`; constant memory for any size).
 *
 * @example
 * ```ts
 * import { custom, type CustomBlobStoreOptions } from "medledger";
 * const table = new Map<string, Uint8Array>();
 * const options: CustomBlobStoreOptions = {
 *   kind: "map",
 *   put: async (address, data) => void table.set(address, data),
 *   get: async (address) => table.get(address),
 *   has: async (address) => table.has(address),
 *   delete: async (address) => table.delete(address),
 * };
 * const store = custom(options);
 * ```
 */
export type CustomBlobStoreOptions = CustomBlobStoreBase &
  (
    | {
        /**
         * Stores `data` (a private copy the backend may keep) under `address`. May be called
         * concurrently for the same address and bytes, so it must be idempotent.
         */
        put(address: BlobAddress, data: Uint8Array): Promise<void>;
        stage?: never;
      }
    | {
        /**
         * Consumes `data` to its end into a temporary location and returns the pending upload.
         * The chunks are the caller's own buffers: write or copy them, do not keep references.
         * Must not reject because the object already exists (that is decided in `commit`).
         */
        stage(data: AsyncIterable<Uint8Array>): Promise<StagedBlob>;
        put?: never;
      }
  );

/**
 * Wraps user functions into a {@link BlobStore}. The wrapper, not the backend, does everything
 * the guarantees depend on: it validates addresses (`sha256:<hex>` only, so a backend never sees
 * a path like `../../x`), normalises and validates the input, computes the address from the
 * bytes, verifies every read against the address (a stream errors with `IntegrityError`),
 * rejects calls after `close()`, and turns backend failures into `StorageError` with the
 * original error as `cause` (SDK errors thrown by the backend pass through unchanged).
 *
 * @throws InvalidInputError if `options` lacks a function or `kind` is empty.
 *
 * @example
 * ```ts
 * import { custom } from "medledger";
 * import { S3Client, GetObjectCommand, PutObjectCommand, HeadObjectCommand, DeleteObjectCommand } from "@aws-sdk/client-s3";
 * const s3 = new S3Client({});
 * const Bucket = "medledger-blobs";
 * const store = custom({
 *   kind: "s3",
 *   put: async (address, data) => void (await s3.send(new PutObjectCommand({ Bucket, Key: address, Body: data }))),
 *   get: async (address) => {
 *     try { return (await s3.send(new GetObjectCommand({ Bucket, Key: address }))).Body?.transformToWebStream(); }
 *     catch (err) { if ((err as Error).name === "NoSuchKey") return undefined; throw err; }
 *   },
 *   has: async (address) => s3.send(new HeadObjectCommand({ Bucket, Key: address })).then(() => true, () => false),
 *   delete: async (address) => { await s3.send(new DeleteObjectCommand({ Bucket, Key: address })); return true; },
 * });
 * ```
 */
export function custom(options: CustomBlobStoreOptions): BlobStore {
  if (typeof options !== "object" || options === null) {
    throw new InvalidInputError("custom() expects an options object");
  }
  if (typeof options.kind !== "string" || options.kind.length === 0) {
    throw new InvalidInputError("custom() needs a non-empty `kind`");
  }
  const hasPut = typeof options.put === "function";
  const hasStage = typeof options.stage === "function";
  if (hasPut === hasStage) {
    throw new InvalidInputError("custom() needs exactly one of `put` or `stage`", { details: options.kind });
  }
  for (const name of ["get", "has", "delete"] as const) {
    if (typeof options[name] !== "function") {
      throw new InvalidInputError(`custom() needs a \`${name}\` function`, { details: options.kind });
    }
  }
  if (options.close !== undefined && typeof options.close !== "function") {
    throw new InvalidInputError("custom(): `close` must be a function", { details: options.kind });
  }
  return new Sha256BlobStore(options);
}

/**
 * The sha256-addressed store behind `custom()`, `memory()` and `filesystem()`.
 *
 * @internal
 */
class Sha256BlobStore implements BlobStore {
  readonly kind: string;
  readonly #backend: CustomBlobStoreOptions;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(backend: CustomBlobStoreOptions) {
    this.kind = backend.kind;
    this.#backend = backend;
  }

  async put(data: BlobInput): Promise<BlobAddress> {
    this.#assertOpen();
    const chunks = inputChunks(data);
    try {
      return await this.#put(chunks);
    } catch (err) {
      // Whatever failed, do not leave the caller's stream half-read and locked.
      await releaseSource(data);
      throw err;
    }
  }

  async #put(chunks: AsyncIterable<Uint8Array>): Promise<BlobAddress> {
    const backend = this.#backend;
    if (backend.put !== undefined) {
      // Buffered mode: the address must be known before the backend sees the bytes.
      const hash = createSha256();
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of chunks) {
        hash.update(chunk);
        // Copied on arrival: a stream may reuse its buffer for the next chunk, and the backend
        // may keep what it is given.
        parts.push(new Uint8Array(chunk));
        size += chunk.length;
      }
      const bytes = parts.length === 1 ? parts[0]! : concat(parts, size);
      const address = sha256AddressFromDigest(hash.digest());
      await this.#call("put", address, () => backend.put(address, bytes));
      return address;
    }
    return this.#putStaged(chunks);
  }

  async #putStaged(chunks: AsyncIterable<Uint8Array>): Promise<BlobAddress> {
    const backend = this.#backend;
    if (backend.stage === undefined) throw new StorageError("unreachable: no stage function");
    const hash = createSha256();
    let complete = false;
    let inputFailure: Error | undefined;
    async function* hashing(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of chunks) {
          hash.update(chunk);
          yield chunk;
        }
      } catch (err) {
        // inputChunks() only throws SDK errors (the caller's own error is their cause).
        inputFailure = err instanceof Error ? err : new StorageError("Reading the input stream failed", { cause: err });
        throw inputFailure;
      }
      complete = true;
    }
    let staged: StagedBlob;
    try {
      staged = await backend.stage(hashing());
    } catch (err) {
      // The caller's stream failing is reported as such, even if the backend wrapped it.
      if (inputFailure !== undefined) throw inputFailure;
      throw this.#wrap("put", undefined, err);
    }
    if (!complete) {
      await staged.abort().catch(() => undefined);
      throw new StorageError(`The ${this.kind} store's stage() returned before consuming the whole input`);
    }
    const address = sha256AddressFromDigest(hash.digest());
    try {
      await staged.commit(address);
    } catch (err) {
      await staged.abort().catch(() => undefined);
      throw this.#wrap("put", address, err);
    }
    return address;
  }

  async get(address: BlobAddress | string): Promise<ReadableStream<Uint8Array>> {
    const { address: checked, digest } = this.#parse(address);
    const source = await this.#source(checked);
    return iterableToStream(verifySha256(toChunks(source), digest, checked), () => releaseSource(source));
  }

  async getBytes(address: BlobAddress | string): Promise<Uint8Array> {
    const { address: checked, digest } = this.#parse(address);
    const source = await this.#source(checked);
    if (source instanceof Uint8Array) {
      const hash = createSha256();
      hash.update(source);
      const actual = hash.digest();
      if (!bytesEqual(actual, digest)) {
        throw new IntegrityError("Stored object does not match its address", {
          details: `${checked}: ${source.length} bytes read hash to sha256:${toHex(actual)}`,
        });
      }
      return new Uint8Array(source); // a copy even if the backend returned a Buffer (whose slice() is a view)
    }
    return collect(verifySha256(toChunks(source), digest, checked));
  }

  async has(address: BlobAddress | string): Promise<boolean> {
    const { address: checked } = this.#parse(address);
    return (await this.#call("has", checked, () => this.#backend.has(checked))) === true;
  }

  async delete(address: BlobAddress | string): Promise<boolean> {
    const { address: checked } = this.#parse(address);
    return (await this.#call("delete", checked, () => this.#backend.delete(checked))) === true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#call("close", undefined, async () => {
      await this.#backend.close?.();
    });
    return this.#closing;
  }

  async #source(address: BlobAddress): Promise<CustomBlobSource> {
    const source = await this.#call("get", address, () => this.#backend.get(address));
    if (source === undefined || source === null) {
      throw new NotFoundError("No object stored at this address", { details: `${this.kind}: ${address}` });
    }
    if (!(source instanceof Uint8Array) && !isReadableStream(source) && !isAsyncIterable(source)) {
      throw new StorageError(`The ${this.kind} store's get() returned something that is not bytes or a stream`, {
        details: address,
      });
    }
    return source;
  }

  #parse(address: BlobAddress | string) {
    this.#assertOpen();
    return requireScheme(address, "sha256", this.kind);
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageError(`The ${this.kind} store is closed`);
  }

  async #call<T>(operation: string, address: string | undefined, task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } catch (err) {
      throw this.#wrap(operation, address, err);
    }
  }

  #wrap(operation: string, address: string | undefined, err: unknown): MedLedgerError {
    if (err instanceof MedLedgerError) return err;
    return new StorageError(`The ${this.kind} store failed to ${operation}`, { details: address, cause: err });
  }
}

function toChunks(source: CustomBlobSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) return sliceChunks(source);
  if (isReadableStream(source)) return readStream(source);
  return source;
}
