/**
 * The SDK's low-level helpers, in one place: bytes and text, hex, hashing, randomness, bounded
 * concurrency, Node built-ins reached without a static import, and atomic file writes.
 *
 * Browser-safe: nothing here imports a Node module statically. `writeFileAtomic` reaches
 * `node:fs/promises` through `process.getBuiltinModule` when it is called, and throws
 * `DependencyMissingError` on platforms without a filesystem.
 *
 * @example
 * ```ts
 * import { sha256Hex, utf8 } from "medledger";
 * const digest = sha256Hex(utf8("hello")); // "0x2cf24dba…"
 * ```
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";

import type * as NodeFs from "node:fs/promises";
import type * as NodePath from "node:path";

import { secureRandom } from "./crypto/random.js";
import { DependencyMissingError, StorageError } from "./errors.js";
import type { Hex } from "./types.js";

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return ENCODER.encode(text);
}

/** The string of UTF-8 bytes (invalid sequences become U+FFFD). */
export function fromUtf8(bytes: Uint8Array): string {
  return DECODER.decode(bytes);
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lowercase 0x-prefixed hex of bytes. */
export function toHex(bytes: Uint8Array): Hex {
  let out = "0x";
  for (const b of bytes) out += HEX_DIGITS[b]!;
  return out as Hex;
}

/** Lowercase hex of bytes without the 0x prefix. */
export function toPlainHex(bytes: Uint8Array): string {
  return toHex(bytes).slice(2);
}

/** Bytes of a hex string (with or without 0x); undefined when it is not even-length hex. */
export function parseHex(value: string): Uint8Array | undefined {
  const digits = value.startsWith("0x") || value.startsWith("0X") ? value.slice(2) : value;
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) return undefined;
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** SHA-256 of bytes as 0x-prefixed lowercase hex (the on-chain record digest). */
export function sha256Hex(bytes: Uint8Array): Hex {
  return toHex(sha256(bytes));
}

/** `n` bytes from the platform CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  return secureRandom(n);
}

/** 32 random bytes as hex (ids, salts). */
export function randomHex32(random: (n: number) => Uint8Array = randomBytes): Hex {
  return toHex(random(32));
}

/** Maps with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

type GetBuiltinModule = (id: string) => unknown;

/**
 * A Node built-in module (`"node:fs/promises"`…) if this runtime has it, else undefined. Reached
 * through `process.getBuiltinModule`, so bundlers see no `node:` import.
 */
export function nodeBuiltin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: GetBuiltinModule } }).process;
  if (typeof proc?.getBuiltinModule !== "function") return undefined;
  try {
    return proc.getBuiltinModule(id) as T | undefined;
  } catch {
    return undefined;
  }
}

/** `node:fs/promises` and `node:path`, or DependencyMissingError naming what needed them. */
export function nodeFs(what: string): { fs: typeof NodeFs; path: typeof NodePath } {
  const fs = nodeBuiltin<typeof NodeFs>("node:fs/promises");
  const path = nodeBuiltin<typeof NodePath>("node:path");
  if (fs === undefined || path === undefined)
    throw new DependencyMissingError(`${what} needs a filesystem (node:fs), which this platform lacks`);
  return { fs, path };
}

/**
 * Writes a file atomically: a temporary file in the same directory, fsync, rename over the
 * target, fsync of the directory. Readers see the old or the new content, never a mix.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const { fs, path: nodePath } = nodeFs("writeFileAtomic");
  const dir = nodePath.dirname(path);
  const temp = nodePath.join(dir, `.tmp-${toPlainHex(randomBytes(8))}`);
  try {
    await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(temp, "wx", mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path);
    const dirHandle = await fs.open(dir, "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new StorageError(`Writing ${path} failed`, { cause: err });
  }
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), indent);
}

/** Writes `value` as JSON atomically (see {@link writeFileAtomic}). */
export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(path, toJson(value, 2) + "\n", mode);
}

/** Whether an error is a Node "no such file" error. */
export function isMissingFile(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "ENOENT";
}
