/**
 * Storage adapters: one small content-addressed interface ({@link BlobStore}) and factories for
 * each backend, in the style of viem's transports.
 *
 * | factory | addresses | use |
 * |---|---|---|
 * | {@link filesystem} | `sha256:<hex>` | the embedded default: atomic, fsynced, constant memory |
 * | {@link memory} | `sha256:<hex>` | tests, demos, browsers |
 * | {@link ipfs} | CIDv1 `bafk…`/`bafy…` | Helia in-process (optional peer dependency), pinning |
 * | {@link custom} | `sha256:<hex>` | your backend (S3, a database) with the same guarantees |
 *
 * @example
 * ```ts
 * import { memory, type BlobStore } from "medledger";
 * import { filesystem } from "medledger/node";
 * const store: BlobStore = process.env.NODE_ENV === "test" ? memory() : filesystem({ dir: "./data/blobs" });
 * const address = await store.put(sealed);
 * ```
 *
 * @module
 */
export type { BlobAddress, BlobInput, BlobStore } from "./types.js";
export {
  DAG_PB_CODE,
  isBlobAddress,
  parseAddress,
  RAW_CODE,
  SHA2_256_CODE,
  sha256Address,
  type ParsedBlobAddress,
} from "./address.js";
export { filesystem, type FilesystemOptions } from "./filesystem.js";
export { memory } from "./memory.js";
export { custom, type CustomBlobSource, type CustomBlobStoreOptions, type StagedBlob } from "./custom.js";
export {
  ipfs,
  IPFS_DEFAULT_CHUNK_SIZE,
  type HeliaCallOptions,
  type HeliaPinOptions,
  type HeliaLike,
  type IpfsBlobStore,
  type IpfsOptions,
} from "./ipfs.js";
