/**
 * Content addresses: parsing, validation and construction.
 *
 * Two schemes exist, and every address is in exactly one canonical spelling, so two different
 * strings never name the same object:
 * - `sha256:<64 lowercase hex>`: the filesystem, memory and custom stores.
 * - a CIDv1 in base32 (`bafkrei…` for a raw block, `bafybei…` for a UnixFS DAG), codec raw
 *   (0x55) or dag-pb (0x70), sha2-256 multihash: the IPFS store.
 *
 * Validation is strict (an allow-list of characters and an exact length), which is also what
 * makes the filesystem layout safe: nothing that is not hex ever reaches a path.
 *
 * @module
 */
import { CID } from "multiformats/cid";

import { InvalidInputError } from "../errors.js";
import type { BlobAddress } from "./types.js";
import { sha256, toHex } from "./internal/hash.js";

/**
 * Multicodec code of the raw codec: a CID naming plain bytes (an IPFS object up to one chunk).
 *
 * @example
 * ```ts
 * import { parseAddress, RAW_CODE } from "medledger";
 * const parsed = parseAddress(address);
 * const singleBlock = parsed.scheme === "cid" && parsed.cid.code === RAW_CODE;
 * ```
 */
export const RAW_CODE = 0x55;

/**
 * Multicodec code of dag-pb: a CID naming a UnixFS node (an IPFS object of several chunks).
 *
 * @example
 * ```ts
 * import { parseAddress, DAG_PB_CODE } from "medledger";
 * const parsed = parseAddress(address);
 * const chunked = parsed.scheme === "cid" && parsed.cid.code === DAG_PB_CODE;
 * ```
 */
export const DAG_PB_CODE = 0x70;

/**
 * Multihash code of sha2-256, the only hash function accepted in CID addresses.
 *
 * @example
 * ```ts
 * import { CID } from "multiformats/cid";
 * import * as Digest from "multiformats/hashes/digest";
 * import { RAW_CODE, SHA2_256_CODE } from "medledger";
 * const cid = CID.createV1(RAW_CODE, Digest.create(SHA2_256_CODE, sha256Digest));
 * ```
 */
export const SHA2_256_CODE = 0x12;

const SHA256_ADDRESS = /^sha256:[0-9a-f]{64}$/;
const BASE32_CID = /^b[a-z2-7]{58}$/; // CIDv1 + raw|dag-pb + sha2-256 (36 bytes) is 59 chars

/**
 * A validated address, split into its parts.
 *
 * @example
 * ```ts
 * import { parseAddress } from "medledger";
 * const parsed = parseAddress("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
 * if (parsed.scheme === "cid") console.log(parsed.codec, parsed.cid.toString());
 * ```
 */
export type ParsedBlobAddress =
  | {
      /** `sha256:<hex>`: the filesystem, memory and custom stores. */
      readonly scheme: "sha256";
      /** The canonical address string. */
      readonly address: BlobAddress;
      /** The 32-byte SHA-256 of the object's bytes. */
      readonly digest: Uint8Array;
    }
  | {
      /** A CIDv1: the IPFS store. */
      readonly scheme: "cid";
      readonly address: BlobAddress;
      /** The sha2-256 digest of the root block (for a raw CID, of the object's bytes). */
      readonly digest: Uint8Array;
      readonly cid: CID;
      /** `raw`: one block holding the bytes; `dag-pb`: a UnixFS file DAG over several blocks. */
      readonly codec: "raw" | "dag-pb";
    };

/**
 * Validates `address` and splits it into its parts. Only canonical spellings are accepted:
 * lowercase hex, base32 CIDv1 with codec raw or dag-pb and a sha2-256 multihash.
 *
 * @throws InvalidInputError if `address` is not a string in one of the two schemes.
 *
 * @example
 * ```ts
 * import { parseAddress } from "medledger";
 * const { scheme, digest } = parseAddress(address);
 * parseAddress("../../etc/passwd"); // throws InvalidInputError
 * ```
 */
export function parseAddress(address: unknown): ParsedBlobAddress {
  if (typeof address !== "string") {
    throw new InvalidInputError("Blob address must be a string", { details: `got ${typeof address}` });
  }
  if (SHA256_ADDRESS.test(address)) {
    const hex = address.slice("sha256:".length);
    const digest = new Uint8Array(32);
    for (let i = 0; i < 32; i++) digest[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return { scheme: "sha256", address: address as BlobAddress, digest };
  }
  if (BASE32_CID.test(address)) {
    let cid: CID;
    try {
      cid = CID.parse(address);
    } catch (cause) {
      throw new InvalidInputError("Malformed CID", { details: describe(address), cause });
    }
    if (cid.version !== 1 || cid.multihash.code !== SHA2_256_CODE || cid.multihash.size !== 32) {
      throw new InvalidInputError("Unsupported CID: expected CIDv1 with a sha2-256 multihash", {
        details: describe(address),
      });
    }
    if (cid.code !== RAW_CODE && cid.code !== DAG_PB_CODE) {
      throw new InvalidInputError("Unsupported CID codec: expected raw (0x55) or dag-pb (0x70)", {
        details: `${describe(address)}, codec 0x${cid.code.toString(16)}`,
      });
    }
    if (cid.toString() !== address) {
      throw new InvalidInputError("CID is not in canonical base32 form", { details: describe(address) });
    }
    return {
      scheme: "cid",
      address: address as BlobAddress,
      digest: cid.multihash.digest,
      cid,
      codec: cid.code === RAW_CODE ? "raw" : "dag-pb",
    };
  }
  throw new InvalidInputError("Malformed blob address", {
    details: `${describe(address)}; expected "sha256:<64 lowercase hex>" or a base32 CIDv1 ("bafk…"/"bafy…")`,
  });
}

/**
 * Whether `value` is a well-formed blob address in either scheme (see {@link parseAddress}).
 * Never throws.
 *
 * @example
 * ```ts
 * import { isBlobAddress } from "medledger";
 * isBlobAddress("sha256:" + "ab".repeat(32)); // true
 * isBlobAddress("sha256:AB"); // false
 * ```
 */
export function isBlobAddress(value: unknown): value is BlobAddress {
  try {
    parseAddress(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The `sha256:` address the filesystem, memory and custom stores give `data`, computed without
 * storing anything (for example to check an object against an anchor before uploading it).
 *
 * @example
 * ```ts
 * import { sha256Address } from "medledger";
 * sha256Address(new TextEncoder().encode("hello"));
 * // "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
 * ```
 */
export function sha256Address(data: Uint8Array): BlobAddress {
  if (!(data instanceof Uint8Array)) throw new InvalidInputError("sha256Address expects a Uint8Array");
  return sha256AddressFromDigest(sha256(data));
}

/** @internal The `sha256:` address for a 32-byte digest. */
export function sha256AddressFromDigest(digest: Uint8Array): BlobAddress {
  return `sha256:${toHex(digest)}` as BlobAddress;
}

/**
 * @internal Parses `address` and requires the scheme a store uses.
 * @throws InvalidInputError naming the store and the scheme it expects.
 */
export function requireScheme<S extends ParsedBlobAddress["scheme"]>(
  address: unknown,
  scheme: S,
  kind: string,
): Extract<ParsedBlobAddress, { scheme: S }> {
  const parsed = parseAddress(address);
  if (parsed.scheme !== scheme) {
    throw new InvalidInputError(`The ${kind} store uses ${scheme === "sha256" ? "sha256:" : "CID"} addresses`, {
      details: `got ${describe(parsed.address)}`,
    });
  }
  return parsed as Extract<ParsedBlobAddress, { scheme: S }>;
}

/** A loggable, bounded rendering of an untrusted address. */
function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
