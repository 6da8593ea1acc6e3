/**
 * `ipfs()`: a store backed by an in-process Helia node, addressed by CIDv1.
 *
 * @module
 */
import type * as NodeFs from "node:fs/promises";
import type * as NodePath from "node:path";

import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";

import {
  DependencyMissingError,
  IntegrityError,
  InvalidInputError,
  MedLedgerError,
  NotFoundError,
  StorageError,
  UnsupportedFormatError,
} from "../errors.js";
import { loadOptionalDependencies } from "../peers.js";
import { DAG_PB_CODE, RAW_CODE, requireScheme, SHA2_256_CODE } from "./address.js";
import type { BlobAddress, BlobInput, BlobStore } from "./types.js";
import { FsDatastore } from "./internal/fs-datastore.js";
import { bytesEqual, nodeBuiltin, sha256, toHex } from "./internal/hash.js";
import { KeyedMutex, ReadWriteLock } from "./internal/lock.js";
import { collect, inputChunks, iterableToStream, releaseSource } from "./internal/streams.js";
import {
  decodePbNode,
  decodeUnixFs,
  encodePbNode,
  encodeUnixFsFile,
  type PbNode,
  UnixFsType,
} from "./internal/unixfs.js";

/**
 * The IPFS store's default (and largest) `chunkSize`, 1 MiB: objects up to this size are one raw
 * block; larger ones are cut into raw leaves of this size.
 *
 * @example
 * ```ts
 * import { ipfs, IPFS_DEFAULT_CHUNK_SIZE } from "medledger";
 * const store = await ipfs({ chunkSize: IPFS_DEFAULT_CHUNK_SIZE / 4 }); // 256 KiB, like Kubo's default
 * ```
 */
export const IPFS_DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** Links per UnixFS node, as in Kubo's and js-ipfs's balanced layout. */
const MAX_LINKS = 174;
/** The one key of the pin mutex. */
const PIN_LOCK = "pins";
/** Smallest accepted `chunkSize` (small sizes exist for tests of deep DAGs). */
const MIN_CHUNK_SIZE = 256;

/**
 * Options this store passes to Helia's block and pin calls (a subset of Helia's own options).
 *
 * @example
 * ```ts
 * import type { HeliaCallOptions } from "medledger";
 * const options: HeliaCallOptions = { offline: true, signal: AbortSignal.timeout(5_000) };
 * ```
 */
export interface HeliaCallOptions {
  signal?: AbortSignal;
  /** Never fetch from the network: fail if the block is not local. */
  offline?: boolean;
}

/**
 * Options this store passes to Helia's `pins.add` and `pins.rm`.
 *
 * @example
 * ```ts
 * import type { HeliaPinOptions } from "medledger";
 * const options: HeliaPinOptions = { offline: true };
 * ```
 */
export interface HeliaPinOptions extends HeliaCallOptions {
  /** A Helia `GraphWalkerFactory`; the store passes one that visits each block once. */
  walker?: unknown;
}

/**
 * The parts of a Helia node this store uses. A node from `helia`'s `createHelia()` or
 * `createHeliaLight()` (or `@helia/http`) satisfies it; declaring it here keeps the SDK's types
 * independent of the optional `helia` package.
 *
 * @example
 * ```ts
 * import { createHelia } from "helia";
 * import { ipfs, type HeliaLike } from "medledger";
 * const node: HeliaLike = await createHelia(); // a networked node you configure and own
 * const store = await ipfs({ helia: node });
 * ```
 */
export interface HeliaLike {
  readonly blockstore: {
    put(cid: CID, block: Uint8Array, options?: HeliaCallOptions): CID | Promise<CID>;
    get(cid: CID, options?: HeliaCallOptions): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    has(cid: CID, options?: HeliaCallOptions): boolean | Promise<boolean>;
    delete(cid: CID, options?: HeliaCallOptions): void | Promise<void>;
  };
  readonly pins: {
    add(cid: CID, options?: HeliaPinOptions): AsyncIterable<CID>;
    rm(cid: CID, options?: HeliaPinOptions): AsyncIterable<CID>;
    get(cid: CID, options?: HeliaCallOptions): Promise<unknown>;
    isPinned(cid: CID, options?: HeliaCallOptions): Promise<boolean>;
  };
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
}

interface IpfsCommonOptions {
  /**
   * Objects up to this many bytes are stored as one raw block (a `bafkrei…` CID); larger ones
   * are cut into raw blocks of this size linked by a UnixFS file DAG (a `bafybei…` CID).
   * Between 256 bytes and 1 MiB (the largest block IPFS peers reliably exchange). Default 1 MiB.
   * Changing it changes the CIDs of objects larger than it.
   */
  chunkSize?: number;
}

/**
 * Options of {@link ipfs}: at most one of `helia` (use your node) or `dir` (persist blocks and
 * pins in a directory); with neither, blocks live in memory.
 *
 * @example
 * ```ts
 * import type { IpfsOptions } from "medledger";
 * const persistent: IpfsOptions = { dir: "./data/ipfs" };
 * const inMemory: IpfsOptions = {};
 * ```
 */
export type IpfsOptions = IpfsCommonOptions &
  (
    | {
        /**
         * An existing Helia node, started by you. The store uses its blockstore and pins, never
         * fetches from the network on its behalf (reads are `offline`), and does not stop it on
         * `close()`. A networked node announces and serves what the store puts.
         */
        helia: HeliaLike;
        dir?: never;
      }
    | {
        /**
         * A directory for a persistent node: blocks in `<dir>/blocks` (`blockstore-fs`), pins in
         * `<dir>/datastore`. Reopening the directory finds the objects and pins again. One process
         * at a time per directory: Helia's pin records are not safe across processes.
         */
        dir: string;
        helia?: never;
      }
    | { helia?: never; dir?: never }
  );

/**
 * The IPFS store: a {@link BlobStore} with pinning.
 *
 * @example
 * ```ts
 * import { ipfs } from "medledger";
 * const store = await ipfs();
 * const address = await store.put(bytes); // pinned
 * await store.isPinned(address); // true
 * await store.close();
 * ```
 */
export interface IpfsBlobStore extends BlobStore {
  readonly kind: "ipfs";
  /** The Helia node underneath (yours, or the one `ipfs()` created and `close()` stops). */
  readonly helia: HeliaLike;
  /**
   * Pins the object (recursively) so Helia's garbage collector keeps it. Idempotent.
   * @throws NotFoundError if the object is not stored locally; StorageError if its DAG is incomplete.
   */
  pin(address: BlobAddress | string): Promise<void>;
  /** Removes the pin; `true` if there was one. The blocks stay until `delete` or a `helia.gc()`. */
  unpin(address: BlobAddress | string): Promise<boolean>;
  /** Whether the object is pinned as a root (by `put` or `pin`). */
  isPinned(address: BlobAddress | string): Promise<boolean>;
}

/**
 * A store backed by Helia, the JavaScript IPFS implementation, running in this process.
 *
 * - **Offline by default**: without `helia`, the node is made with `createHeliaLight()`: no
 *   libp2p, no transports, no routers, no bootstrap dialing, no block brokers. Nothing touches
 *   the network, start-up takes milliseconds, and `close()` leaves no handle open. To publish to
 *   the IPFS network, pass your own networked node as `helia`.
 * - **Addressing**: canonical base32 CIDv1 strings with sha2-256. Objects up to `chunkSize`
 *   (1 MiB) are a single raw block (codec 0x55, `bafkrei…`), so their CID commits to the bytes
 *   directly. Larger objects are cut into raw leaves linked by a balanced UnixFS file DAG (dag-pb,
 *   `bafybei…`, at most 174 links per node, all leaves at the same depth: the shape
 *   `ipfs add --raw-leaves --cid-version 1` builds), so any IPFS node can serve and read them.
 *   `put` streams: at most two chunks are buffered.
 * - **Verification**: Helia checks hashes only of blocks it fetches from the network, not of
 *   blocks read from its own blockstore, so this store hashes every block it reads and compares
 *   it with the block's CID before passing any of it on. As the DAG is a Merkle tree, this
 *   verifies the whole object: a flipped byte on disk becomes `IntegrityError`.
 * - **Pinning**: `put` pins the object; see {@link IpfsBlobStore.pin}. `delete` unpins it and
 *   removes its blocks unless another pinned object still uses them (targeted, instead of a
 *   `helia.gc()` that would also remove unpinned blocks belonging to others on a shared node).
 *   Pinning uses a walker that reads only the DAG's inner nodes and visits each block once
 *   (Helia's default walker re-reads every leaf and, on unpin, miscounts repeated blocks).
 *   A `put` whose input fails part way leaves the blocks already written unpinned; `helia.gc()`
 *   reclaims them. Helia 7's `pins.rm` also miscounts a block shared by two DAGs when one of them
 *   is unpinned and pinned again; sealed (randomly keyed) envelopes never share blocks.
 * - **Durability**: that of `blockstore-fs` (atomic renames, no fsync). The filesystem store is
 *   the durable default; use this one to publish to, or mirror from, IPFS.
 *
 * Needs the optional peer dependency `helia` (and, with `dir`, `blockstore-fs` and
 * `interface-datastore`): `npm install helia blockstore-fs interface-datastore` in the app. They
 * are loaded only when this function runs. Async because it loads them and opens the node: a
 * missing package or an unusable directory fails here, at start-up, before anything is written.
 *
 * @throws DependencyMissingError naming the packages to install when one is missing.
 * @throws InvalidInputError for contradictory or out-of-range options.
 * @throws StorageError if the node cannot start (for example an unusable `dir`).
 *
 * @example
 * ```ts
 * import { ipfs } from "medledger";
 * const store = await ipfs({ dir: "./data/ipfs" });
 * const address = await store.put(sealedEnvelope); // "bafkrei…"
 * const bytes = await store.getBytes(address);
 * await store.delete(address); // unpins and removes the blocks
 * await store.close(); // stops the Helia node it created
 * ```
 */
export async function ipfs(options: IpfsOptions = {}): Promise<IpfsBlobStore> {
  if (typeof options !== "object" || options === null) throw new InvalidInputError("ipfs() expects an options object");
  const chunkSize = options.chunkSize ?? IPFS_DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > IPFS_DEFAULT_CHUNK_SIZE) {
    throw new InvalidInputError(`ipfs(): \`chunkSize\` must be an integer from ${MIN_CHUNK_SIZE} to 1 MiB`, {
      details: String(options.chunkSize),
    });
  }
  if (options.helia !== undefined && options.dir !== undefined) {
    throw new InvalidInputError("ipfs(): give either `helia` or `dir`, not both");
  }
  if (options.helia !== undefined) return new IpfsStore(options.helia, false, chunkSize);
  if (options.dir !== undefined && (typeof options.dir !== "string" || options.dir.length === 0)) {
    throw new InvalidInputError("ipfs(): `dir` must be a non-empty string");
  }

  // Fails before any side effect when a package is missing, naming every one of them.
  const peers = await loadOptionalDependencies(
    IPFS_PEERS,
    options.dir === undefined ? ["helia"] : ["helia", "blockstore-fs", "interface-datastore"],
  );
  const { createHeliaLight } = peers.helia;
  let init: Parameters<typeof createHeliaLight>[0] = {};
  if (options.dir !== undefined) {
    const fs = nodeBuiltin<typeof NodeFs>("node:fs/promises");
    const path = nodeBuiltin<typeof NodePath>("node:path");
    if (fs === undefined || path === undefined) {
      throw new DependencyMissingError("ipfs({ dir }) needs Node.js (node:fs); omit `dir` for an in-memory node");
    }
    const { FsBlockstore } = peers["blockstore-fs"];
    const { Key } = peers["interface-datastore"];
    const root = path.resolve(options.dir);
    const blockstore = new FsBlockstore(path.join(root, "blocks"));
    const datastore = new FsDatastore(fs, path, path.join(root, "datastore"), Key);
    try {
      await blockstore.open();
      await datastore.open();
    } catch (cause) {
      throw new StorageError("Cannot open the IPFS store's directory", { details: root, cause });
    }
    init = { blockstore, datastore };
  }
  const helia = createHeliaLight(init);
  try {
    await helia.start();
  } catch (cause) {
    await helia.stop().catch(() => undefined);
    throw new StorageError("Cannot start the Helia node", { cause });
  }
  return new IpfsStore(helia, true, chunkSize);
}

/**
 * The optional peer dependencies of {@link ipfs}, loaded only when it runs: `helia` always,
 * `blockstore-fs` and `interface-datastore` with `dir`. An app that uses `ipfs()` installs them
 * (`npm install helia blockstore-fs interface-datastore`); every other app never downloads them.
 */
const IPFS_PEERS = {
  helia: () => import("helia"),
  "blockstore-fs": () => import("blockstore-fs"),
  "interface-datastore": () => import("interface-datastore"),
};

/** @internal Re-exported from ../peers.ts (where the other optional parts load theirs too). */
export { loadOptionalDependencies };

/** A finished subtree of the DAG being built. */
interface DagEntry {
  cid: CID;
  /** Bytes of file content below it. */
  fileSize: number;
  /** Bytes of all blocks below and including it (the DAG-PB `Tsize`). */
  tsize: number;
}

class IpfsStore implements IpfsBlobStore {
  readonly kind = "ipfs" as const;
  readonly helia: HeliaLike;
  readonly #owned: boolean;
  readonly #chunkSize: number;
  /** Puts and pin changes share it; a delete takes it alone, so it never races a put's pinning. */
  readonly #lock = new ReadWriteLock();
  /**
   * Serialises every pin change: Helia's per-block pin records are read-modify-write, and two
   * objects may share a block, so even pins of different roots must not interleave.
   */
  readonly #pinMutex = new KeyedMutex();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(helia: HeliaLike, owned: boolean, chunkSize: number) {
    this.helia = helia;
    this.#owned = owned;
    this.#chunkSize = chunkSize;
  }

  async put(data: BlobInput): Promise<BlobAddress> {
    this.#assertOpen();
    const chunks = inputChunks(data);
    try {
      return await this.#lock.shared(async () => {
        const root = await this.#import(chunks);
        await this.#pin(root);
        return root.toString() as BlobAddress;
      });
    } catch (err) {
      await releaseSource(data);
      throw this.#wrap("put", undefined, err);
    }
  }

  async get(address: BlobAddress | string): Promise<ReadableStream<Uint8Array>> {
    const cid = this.#parse(address);
    const root = await this.#loadRoot(cid, address);
    return iterableToStream(this.#read(cid, root));
  }

  async getBytes(address: BlobAddress | string): Promise<Uint8Array> {
    const cid = this.#parse(address);
    const root = await this.#loadRoot(cid, address);
    return collect(this.#read(cid, root));
  }

  async has(address: BlobAddress | string): Promise<boolean> {
    const cid = this.#parse(address);
    try {
      return (await this.helia.blockstore.has(cid)) === true;
    } catch (err) {
      throw this.#wrap("has", cid.toString(), err);
    }
  }

  async delete(address: BlobAddress | string): Promise<boolean> {
    const cid = this.#parse(address);
    try {
      return await this.#lock.exclusive(async () => {
        if (!(await this.helia.blockstore.has(cid))) return false;
        if (await this.#isRootPinned(cid)) await drain(this.helia.pins.rm(cid, this.#pinOptions(false)));
        const blocks = await this.#dagBlocks(cid);
        for (const block of blocks) {
          if (await this.helia.pins.isPinned(block)) continue; // shared with another pinned object
          try {
            await this.helia.blockstore.delete(block);
          } catch (err) {
            if ((err as Error).name !== "BlockPinnedError") throw err; // pinned meanwhile by someone else
          }
        }
        return true;
      });
    } catch (err) {
      throw this.#wrap("delete", cid.toString(), err);
    }
  }

  async pin(address: BlobAddress | string): Promise<void> {
    const cid = this.#parse(address);
    try {
      await this.#lock.shared(async () => {
        if (!(await this.helia.blockstore.has(cid))) {
          throw new NotFoundError("No object stored at this address", { details: `ipfs: ${cid.toString()}` });
        }
        await this.#pin(cid);
      });
    } catch (err) {
      throw this.#wrap("pin", cid.toString(), err);
    }
  }

  async unpin(address: BlobAddress | string): Promise<boolean> {
    const cid = this.#parse(address);
    try {
      return await this.#lock.shared(() =>
        this.#pinMutex.run(PIN_LOCK, async () => {
          if (!(await this.#isRootPinned(cid))) return false;
          await drain(this.helia.pins.rm(cid, this.#pinOptions(false)));
          return true;
        }),
      );
    } catch (err) {
      throw this.#wrap("unpin", cid.toString(), err);
    }
  }

  async isPinned(address: BlobAddress | string): Promise<boolean> {
    const cid = this.#parse(address);
    try {
      return await this.#isRootPinned(cid);
    } catch (err) {
      throw this.#wrap("isPinned", cid.toString(), err);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      if (!this.#owned) return;
      try {
        await this.helia.stop();
      } catch (cause) {
        throw new StorageError("Stopping the Helia node failed", { cause });
      }
    })();
    return this.#closing;
  }

  // ------------------------------------------------------------------ writing

  /** Chunks the input into blocks, writes them, and returns the root CID. */
  async #import(chunks: AsyncIterable<Uint8Array>): Promise<CID> {
    const size = this.#chunkSize;
    const builder = new DagBuilder((cid, bytes) => this.#putBlock(cid, bytes));
    // The chunk being filled grows on demand, so a small object does not cost a whole chunk.
    let buffer = new Uint8Array(0);
    let filled = 0;
    /** A full chunk not yet written: if the input ends here, it is the whole object. */
    let pending: Uint8Array | undefined;
    for await (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.length) {
        const count = Math.min(size - filled, chunk.length - offset);
        if (filled + count > buffer.length) {
          const grown = new Uint8Array(Math.min(size, Math.max(filled + count, buffer.length * 2, 64 * 1024)));
          grown.set(buffer.subarray(0, filled));
          buffer = grown;
        }
        buffer.set(chunk.subarray(offset, offset + count), filled);
        filled += count;
        offset += count;
        if (filled === size) {
          if (pending !== undefined) await builder.addLeaf(await this.#putRaw(pending));
          pending = buffer; // exactly `size` bytes: growth is capped at `size`
          buffer = new Uint8Array(0);
          filled = 0;
        }
      }
    }
    const tail = filled === buffer.length ? buffer : buffer.slice(0, filled);
    if (!builder.started) {
      // Fits in one block: the CID is the raw block's, committing to the bytes directly.
      if (pending === undefined) return (await this.#putRaw(tail)).cid;
      if (filled === 0) return (await this.#putRaw(pending)).cid;
    }
    if (pending !== undefined) await builder.addLeaf(await this.#putRaw(pending));
    if (filled > 0) await builder.addLeaf(await this.#putRaw(tail));
    return builder.finish();
  }

  async #putRaw(bytes: Uint8Array): Promise<DagEntry> {
    const cid = CID.createV1(RAW_CODE, Digest.create(SHA2_256_CODE, sha256(bytes)));
    await this.#putBlock(cid, bytes);
    return { cid, fileSize: bytes.length, tsize: bytes.length };
  }

  async #putBlock(cid: CID, bytes: Uint8Array): Promise<void> {
    await this.helia.blockstore.put(cid, bytes);
  }

  /** Pins `root` unless it already is; the DAG is walked locally only. */
  async #pin(root: CID): Promise<void> {
    await this.#pinMutex.run(PIN_LOCK, async () => {
      if (await this.#isRootPinned(root)) return;
      await drain(this.helia.pins.add(root, this.#pinOptions(true)));
    });
  }

  // ------------------------------------------------------------------ reading

  async #loadRoot(cid: CID, address: string): Promise<Uint8Array> {
    let block: Uint8Array | undefined;
    try {
      block = await this.#loadBlock(cid);
    } catch (err) {
      throw this.#wrap("get", cid.toString(), err);
    }
    if (block === undefined) {
      throw new NotFoundError("No object stored at this address", { details: `ipfs: ${address}` });
    }
    return block;
  }

  /** A block's bytes, verified against its CID; undefined if it is not stored locally. */
  async #loadBlock(cid: CID): Promise<Uint8Array | undefined> {
    if (cid.multihash.code !== SHA2_256_CODE) {
      throw new UnsupportedFormatError("DAG links a block hashed with something other than sha2-256", {
        details: cid.toString(),
      });
    }
    let bytes: Uint8Array;
    try {
      bytes = await collect(toAsync(this.helia.blockstore.get(cid, { offline: true })));
    } catch (err) {
      const name = (err as Error | undefined)?.name;
      if (name === "NotFoundError" || name === "BlockNotFoundWhileOfflineError") return undefined;
      throw err;
    }
    const actual = sha256(bytes);
    if (!bytesEqual(actual, cid.multihash.digest)) {
      throw new IntegrityError("Stored IPFS block does not match its CID", {
        details: `${cid.toString()}: ${bytes.length} bytes hash to sha256:${toHex(actual)}`,
      });
    }
    return bytes;
  }

  /**
   * The object's bytes, depth first through the DAG; every block is verified before any of its
   * bytes are yielded.
   */
  async *#read(cid: CID, block: Uint8Array): AsyncGenerator<Uint8Array> {
    try {
      if (cid.code === RAW_CODE) {
        yield block;
        return;
      }
      if (cid.code !== DAG_PB_CODE) {
        throw new UnsupportedFormatError("DAG links a block that is neither raw nor dag-pb", {
          details: `${cid.toString()} (codec 0x${cid.code.toString(16)})`,
        });
      }
      const node = decodeFileNode(cid, block);
      if (node.content !== undefined && node.content.length > 0) yield new Uint8Array(node.content);
      for (const child of node.children) {
        const childBlock = await this.#loadBlock(child);
        if (childBlock === undefined) {
          throw new StorageError("The IPFS object is incomplete: a block of its DAG is missing", {
            details: `${child.toString()} under ${cid.toString()}`,
          });
        }
        yield* this.#read(child, childBlock);
      }
    } catch (err) {
      throw this.#wrap("get", cid.toString(), err);
    }
  }

  /** The CIDs of the object's locally present blocks (and of missing ones its nodes link). */
  async #dagBlocks(root: CID): Promise<CID[]> {
    const out: CID[] = [];
    for await (const { cid } of this.#walk(root, false)) out.push(cid);
    return out;
  }

  /**
   * Visits each distinct block of the DAG under `root` once, depth first. Only dag-pb nodes are
   * read (to find their links, verified); leaves are just listed, so pinning a 1 GB object does
   * not read 1 GB again. `strict` (pinning): a missing block is an error. Otherwise (unpinning,
   * deleting): missing or unreadable nodes are listed but not descended into.
   */
  async *#walk(root: CID, strict: boolean): AsyncGenerator<{ cid: CID; depth: number; path: CID[] }> {
    const seen = new Set<string>();
    const stack = [{ cid: root, depth: 0, path: [root] }];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const { cid, depth, path } = next;
      // Helia keys pin records by multihash, so deduplicate the same way.
      const key = toHex(cid.multihash.bytes);
      if (seen.has(key)) continue;
      seen.add(key);
      let children: CID[] = [];
      if (cid.code === DAG_PB_CODE) {
        try {
          const block = await this.#loadBlock(cid);
          if (block === undefined)
            throw new StorageError("A block of the IPFS object is missing", { details: cid.toString() });
          children = decodePbNode(block).links.map((link) => CID.decode(link.hash));
        } catch (err) {
          if (strict) throw err;
        }
      } else if (strict && !(await this.helia.blockstore.has(cid))) {
        throw new StorageError("A block of the IPFS object is missing", { details: cid.toString() });
      }
      yield { cid, depth, path };
      for (const child of children.reverse()) stack.push({ cid: child, depth: depth + 1, path: [...path, child] });
    }
  }

  /**
   * A graph walker for Helia's `pins.add`/`pins.rm` (their `walker` option) built on
   * {@link #walk}. Helia's default walker visits a block once per link to it; `pins.rm` then
   * decrements a repeated block's pin count once per visit (while `pins.add` counted it once),
   * driving it negative so the block stays "pinned" forever. Visiting each block once avoids
   * that, and leaves are not read. Helia's pins only use `block.cid` of what a walker yields.
   */
  #pinOptions(strict: boolean): HeliaPinOptions {
    return { offline: true, walker: this.#pinWalker(strict) };
  }

  #pinWalker(strict: boolean): unknown {
    return () => ({
      walk: (root: CID) =>
        (async function* (walk: AsyncGenerator<{ cid: CID; depth: number; path: CID[] }>) {
          // Walk the whole DAG before yielding: Helia updates a pin record per yielded block, so
          // a missing block found half way would leave records for a pin that never happened.
          const nodes: Array<{ cid: CID; depth: number; path: CID[] }> = [];
          for await (const node of walk) nodes.push(node);
          for (const { cid, depth, path } of nodes) yield { block: { cid }, depth, path };
        })(this.#walk(root, strict)),
    });
  }

  async #isRootPinned(cid: CID): Promise<boolean> {
    try {
      await this.helia.pins.get(cid);
      return true;
    } catch (err) {
      if ((err as Error | undefined)?.name === "NotFoundError") return false;
      throw err;
    }
  }

  #parse(address: BlobAddress | string): CID {
    this.#assertOpen();
    return requireScheme(address, "cid", "ipfs").cid;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageError("The ipfs store is closed");
  }

  #wrap(operation: string, address: string | undefined, err: unknown): MedLedgerError {
    if (err instanceof MedLedgerError) return err;
    return new StorageError(`The ipfs store failed to ${operation}`, { details: address, cause: err });
  }
}

/**
 * Builds a balanced UnixFS file DAG bottom-up while leaves stream in: each level collects up to
 * {@link MAX_LINKS} entries, and a full level is folded into one node of the level above. Memory
 * is bounded by MAX_LINKS entries per level, whatever the object size. All leaves end up at the
 * same depth.
 */
class DagBuilder {
  readonly #levels: DagEntry[][] = [];
  readonly #put: (cid: CID, bytes: Uint8Array) => Promise<void>;
  started = false;

  constructor(put: (cid: CID, bytes: Uint8Array) => Promise<void>) {
    this.#put = put;
  }

  async addLeaf(leaf: DagEntry): Promise<void> {
    this.started = true;
    await this.#push(0, leaf);
  }

  async finish(): Promise<CID> {
    for (let level = 0; level < this.#levels.length; level++) {
      const entries = this.#levels[level] ?? [];
      if (entries.length === 0) continue;
      const higher = this.#levels.slice(level + 1).some((above) => above.length > 0);
      if (!higher && entries.length === 1 && level > 0) return entries[0]!.cid;
      this.#levels[level] = [];
      await this.#push(level + 1, await this.#node(entries));
    }
    throw new StorageError("unreachable: empty DAG");
  }

  async #push(level: number, entry: DagEntry): Promise<void> {
    const entries = (this.#levels[level] ??= []);
    entries.push(entry);
    if (entries.length === MAX_LINKS) {
      this.#levels[level] = [];
      await this.#push(level + 1, await this.#node(entries));
    }
  }

  async #node(entries: readonly DagEntry[]): Promise<DagEntry> {
    const fileSize = entries.reduce((sum, entry) => sum + entry.fileSize, 0);
    const bytes = encodePbNode({
      links: entries.map((entry) => ({ hash: entry.cid.bytes, name: "", tsize: entry.tsize })),
      data: encodeUnixFsFile(
        fileSize,
        entries.map((entry) => entry.fileSize),
      ),
    });
    const cid = CID.createV1(DAG_PB_CODE, Digest.create(SHA2_256_CODE, sha256(bytes)));
    await this.#put(cid, bytes);
    return { cid, fileSize, tsize: bytes.length + entries.reduce((sum, entry) => sum + entry.tsize, 0) };
  }
}

/** Decodes a dag-pb block as a UnixFS file node: its inline content and its children in order. */
function decodeFileNode(cid: CID, block: Uint8Array): { content: Uint8Array | undefined; children: CID[] } {
  let node: PbNode;
  let type: number;
  let content: Uint8Array | undefined;
  try {
    node = decodePbNode(block);
    if (node.data === undefined) throw new Error("dag-pb node without UnixFS data");
    const unixfs = decodeUnixFs(node.data);
    type = unixfs.type;
    content = unixfs.data;
  } catch (cause) {
    throw new UnsupportedFormatError("Not a UnixFS file node", { details: cid.toString(), cause });
  }
  if (type !== UnixFsType.File && type !== UnixFsType.Raw) {
    throw new UnsupportedFormatError("The CID names a UnixFS node that is not a file (a directory?)", {
      details: `${cid.toString()} (UnixFS type ${type})`,
    });
  }
  const children = node.links.map((link) => {
    try {
      return CID.decode(link.hash);
    } catch (cause) {
      throw new UnsupportedFormatError("dag-pb link with a malformed CID", { details: cid.toString(), cause });
    }
  });
  return { content, children };
}

async function* toAsync(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* source;
}

async function drain(source: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of source) {
    // consume
  }
}
