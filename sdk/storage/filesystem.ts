/**
 * `filesystem()`: the embedded default store. Objects are files named by their SHA-256 in a
 * sharded tree, written atomically and durably, read as verified streams.
 *
 * @module
 */
import type * as NodeFs from "node:fs/promises";
import type * as NodePath from "node:path";

import { DependencyMissingError, InvalidInputError } from "../errors.js";
import { custom, type StagedBlob } from "./custom.js";
import type { BlobAddress, BlobStore } from "./types.js";
import { createSha256, nodeBuiltin, toHex } from "./internal/hash.js";

/** Read size when streaming an object from disk. */
const READ_CHUNK_SIZE = 256 * 1024;
/** Default age after which a temp file is considered a crash leftover: one day. */
const DEFAULT_STALE_TEMP_MS = 24 * 60 * 60 * 1000;
/** Name of the directory holding in-flight writes, inside the store's directory. */
const TEMP_DIR = ".tmp";

/**
 * Options of {@link filesystem}.
 *
 * @example
 * ```ts
 * import { filesystem, type FilesystemOptions } from "medledger/node";
 * const options: FilesystemOptions = { dir: "/var/lib/medledger/blobs", fileMode: 0o640 };
 * const store = filesystem(options);
 * ```
 */
export interface FilesystemOptions {
  /** The store's root directory. Created (with parents) on the first write. */
  dir: string;
  /**
   * Temp files in `<dir>/.tmp` not modified for this long are crash leftovers and are removed
   * when the store is first used. A temp file younger than this may belong to a live writer in
   * another process and is left alone (it is never mistaken for an object either way).
   * Default: one day.
   */
  staleTempMs?: number;
  /** Permission bits of new object files (before the umask). Default `0o600`: owner only. */
  fileMode?: number;
}

/**
 * A store of files in a local directory: the embedded default.
 *
 * - **Addressing**: `sha256:<hex>`; the object lives at `<dir>/<hex[0:2]>/<hex[2:4]>/<hex>`, which
 *   spreads objects evenly over 65 536 directories. Addresses are checked against
 *   `sha256:[0-9a-f]{64}` before any path is built, so no path traversal is possible.
 * - **Atomic, durable writes**: the input streams into a unique temp file in `<dir>/.tmp` while it
 *   is hashed (constant memory for any size); the file is fsynced, renamed to its final path (an
 *   atomic replace on POSIX), and the directory is fsynced. A reader never sees a partial object.
 * - **Concurrency**: any number of promises or processes may put the same content at once; all
 *   succeed with the same address and no temp file remains. If the final file already exists
 *   with the right size, the temp file is simply dropped (a truncated one is replaced).
 * - **Verified reads**: `get` streams from disk and checks the SHA-256 at the end; a flipped byte
 *   makes the stream error with `IntegrityError` (the final chunk is withheld).
 * - **Deletion** unlinks the file and fsyncs its directory. It does not overwrite the bytes:
 *   on SSDs, copy-on-write and journaling filesystems overwriting in place does not reach the old
 *   blocks anyway. Erasure relies on crypto-shredding: the objects are sealed envelopes, and
 *   destroying their keys is what makes the content unrecoverable.
 * - **Crash leftovers**: temp files are never looked at by `has`/`get`; stale ones are removed
 *   on first use (see {@link FilesystemOptions.staleTempMs}).
 *
 * Node.js only (it reaches `node:fs` through `process.getBuiltinModule`, so importing the SDK in
 * a browser stays possible); calling it elsewhere throws `DependencyMissingError`.
 *
 * @throws InvalidInputError if `dir` is empty or an option is out of range.
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * import { filesystem } from "medledger/node";
 * const store = filesystem({ dir: "./data/blobs" });
 * const address = await store.put(createReadStream("scan.dcm.sealed"));
 * const stream = await store.get(address); // verified while it streams
 * await store.close();
 * ```
 */
export function filesystem(options: FilesystemOptions): BlobStore {
  if (typeof options?.dir !== "string" || options.dir.length === 0) {
    throw new InvalidInputError("filesystem() needs a non-empty `dir`");
  }
  const staleTempMs = options.staleTempMs ?? DEFAULT_STALE_TEMP_MS;
  if (!Number.isFinite(staleTempMs) || staleTempMs < 0) {
    throw new InvalidInputError("filesystem(): `staleTempMs` must be a non-negative number", {
      details: String(options.staleTempMs),
    });
  }
  const fileMode = options.fileMode ?? 0o600;
  if (!Number.isInteger(fileMode) || fileMode < 0 || fileMode > 0o777) {
    throw new InvalidInputError("filesystem(): `fileMode` must be permission bits (0 to 0o777)", {
      details: String(options.fileMode),
    });
  }
  const fs = nodeBuiltin<typeof NodeFs>("node:fs/promises");
  const path = nodeBuiltin<typeof NodePath>("node:path");
  if (fs === undefined || path === undefined) {
    throw new DependencyMissingError("filesystem() needs Node.js (node:fs); use memory() or ipfs() elsewhere");
  }
  const layout = new Layout(fs, path, path.resolve(options.dir), staleTempMs, fileMode);
  return custom({
    kind: "filesystem",
    stage: (data) => layout.stage(data),
    get: (address) => layout.get(address),
    has: (address) => layout.has(address),
    delete: (address) => layout.delete(address),
  });
}

/** The on-disk layout and its operations; addresses arrive already validated by `custom()`. */
class Layout {
  readonly #fs: typeof NodeFs;
  readonly #path: typeof NodePath;
  readonly #root: string;
  readonly #tempDir: string;
  readonly #staleTempMs: number;
  readonly #fileMode: number;
  #cleanup: Promise<void> | undefined;

  constructor(fs: typeof NodeFs, path: typeof NodePath, root: string, staleTempMs: number, fileMode: number) {
    this.#fs = fs;
    this.#path = path;
    this.#root = root;
    this.#tempDir = path.join(root, TEMP_DIR);
    this.#staleTempMs = staleTempMs;
    this.#fileMode = fileMode;
  }

  async stage(data: AsyncIterable<Uint8Array>): Promise<StagedBlob> {
    await this.#removeStaleTemps();
    const fs = this.#fs;
    await fs.mkdir(this.#tempDir, { recursive: true });
    const tempPath = this.#path.join(this.#tempDir, `${globalThis.crypto.randomUUID()}.tmp`);
    const handle = await fs.open(tempPath, "wx", this.#fileMode);
    let open = true;
    let renamed = false;
    let size = 0;
    const release = async (): Promise<void> => {
      if (open) {
        open = false;
        await handle.close().catch(() => undefined);
      }
      if (!renamed) await fs.rm(tempPath, { force: true }).catch(() => undefined);
    };
    try {
      for await (const chunk of data) {
        let written = 0;
        while (written < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, null);
          written += bytesWritten;
        }
        size += chunk.length;
      }
    } catch (err) {
      await release();
      throw err;
    }
    return {
      commit: async (address: BlobAddress) => {
        try {
          const finalPath = this.#objectPath(address);
          // Same content already there (a concurrent or earlier put): keep it, drop ours. A file
          // of the right size whose bytes are damaged is NOT the same content: replace it.
          if (await this.#holds(finalPath, address, size)) return;
          await handle.sync();
          open = false;
          await handle.close();
          const finalDir = this.#path.dirname(finalPath);
          const created = await fs.mkdir(finalDir, { recursive: true });
          try {
            await fs.rename(tempPath, finalPath);
          } catch (err) {
            // Windows refuses to replace a file another process holds; the winner wrote the same bytes.
            if (await this.#holds(finalPath, address, size)) return;
            throw err;
          }
          renamed = true;
          await this.#syncDir(finalDir);
          if (created !== undefined) {
            // New shard directories: make their entries durable too.
            await this.#syncDir(this.#path.dirname(finalDir));
            await this.#syncDir(this.#root);
          }
        } finally {
          await release();
        }
      },
      abort: release,
    };
  }

  async get(address: BlobAddress): Promise<AsyncIterable<Uint8Array> | undefined> {
    await this.#removeStaleTemps();
    let handle: NodeFs.FileHandle;
    try {
      handle = await this.#fs.open(this.#objectPath(address), "r");
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    // Opened now: a delete racing with the read does not cut the object short (POSIX).
    return new FileChunks(handle);
  }

  async has(address: BlobAddress): Promise<boolean> {
    await this.#removeStaleTemps();
    try {
      return (await this.#fs.stat(this.#objectPath(address))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async delete(address: BlobAddress): Promise<boolean> {
    await this.#removeStaleTemps();
    const objectPath = this.#objectPath(address);
    try {
      await this.#fs.unlink(objectPath);
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    await this.#syncDir(this.#path.dirname(objectPath));
    return true;
  }

  #objectPath(address: BlobAddress): string {
    const hex = address.slice("sha256:".length);
    return this.#path.join(this.#root, hex.slice(0, 2), hex.slice(2, 4), hex);
  }

  /** Whether `file` exists with `size` bytes whose SHA-256 is the address's. */
  async #holds(file: string, address: BlobAddress, size: number): Promise<boolean> {
    if ((await this.#sizeOf(file)) !== size) return false;
    let handle: NodeFs.FileHandle;
    try {
      handle = await this.#fs.open(file, "r");
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    const hash = createSha256();
    for await (const chunk of new FileChunks(handle)) hash.update(chunk);
    return `sha256:${toHex(hash.digest())}` === address;
  }

  async #sizeOf(file: string): Promise<number | undefined> {
    try {
      const stat = await this.#fs.stat(file);
      return stat.isFile() ? stat.size : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async #syncDir(dir: string): Promise<void> {
    let handle: NodeFs.FileHandle | undefined;
    try {
      handle = await this.#fs.open(dir, "r");
      await handle.sync();
    } catch (err) {
      // Windows cannot open or fsync a directory; rename is durable there without it.
      const code = (err as NodeJS.ErrnoException).code;
      if (!(code === "EISDIR" || code === "EPERM" || code === "EINVAL" || code === "EACCES")) throw err;
    } finally {
      await handle?.close();
    }
  }

  /** Removes crash leftovers once, on first use; best effort, never fails an operation. */
  #removeStaleTemps(): Promise<void> {
    this.#cleanup ??= (async () => {
      let names: string[];
      try {
        names = await this.#fs.readdir(this.#tempDir);
      } catch {
        return; // no temp dir yet, or unreadable: nothing to clean
      }
      const cutoff = Date.now() - this.#staleTempMs;
      for (const name of names) {
        if (!name.endsWith(".tmp")) continue;
        const file = this.#path.join(this.#tempDir, name);
        try {
          if ((await this.#fs.stat(file)).mtimeMs < cutoff) await this.#fs.rm(file, { force: true });
        } catch {
          // raced with its writer or another cleaner: fine
        }
      }
    })();
    return this.#cleanup;
  }
}

/**
 * The chunks of an open file. Closes the file at the end, on error, and on `return()` even if
 * iteration never started (unlike an async generator, whose `finally` would not run then).
 */
class FileChunks implements AsyncIterableIterator<Uint8Array> {
  readonly #handle: NodeFs.FileHandle;
  #closed = false;

  constructor(handle: NodeFs.FileHandle) {
    this.#handle = handle;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#closed) return { done: true, value: undefined };
    try {
      const buffer = new Uint8Array(READ_CHUNK_SIZE);
      const { bytesRead } = await this.#handle.read(buffer, 0, READ_CHUNK_SIZE, null);
      if (bytesRead === 0) {
        await this.return();
        return { done: true, value: undefined };
      }
      return { done: false, value: bytesRead === READ_CHUNK_SIZE ? buffer : buffer.slice(0, bytesRead) };
    } catch (err) {
      await this.return();
      throw err;
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.#closed) {
      this.#closed = true;
      await this.#handle.close().catch(() => undefined);
    }
    return { done: true, value: undefined };
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
