/**
 * Byte helpers shared by the crypto module: exact input checks, fixed-width integers, hex.
 *
 * Internal: not re-exported from the package root. Every check throws {@link InvalidInputError}
 * whose message names the expected shape (the way a `RangeError` from @noble would), so a caller
 * can branch on the SDK error class instead of parsing messages.
 */
import { InvalidInputError } from "../errors.js";

const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

/** Describes a value for error details without ever printing its contents (it may be a key). */
function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/**
 * Asserts `value` is a Uint8Array, of exactly `length` bytes when given.
 * Throws InvalidInputError("<name> must be a 32-byte Uint8Array") otherwise.
 */
export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    const shape = length === undefined ? "a Uint8Array" : `a ${length}-byte Uint8Array`;
    throw new InvalidInputError(`${name} must be ${shape}`, { details: `got ${describe(value)}` });
  }
  if (length !== undefined && value.length !== length) {
    throw new InvalidInputError(`${name} must be ${length} bytes`, { details: `got ${value.length} bytes` });
  }
}

/** Asserts `value` is an integer in [min, max]. */
export function assertInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`${name} must be an integer in [${min}, ${max}]`, {
      details: `got ${typeof value === "number" ? String(value) : typeof value}`,
    });
  }
}

/** Writes `value` (0 ≤ value < 2^32) big-endian at `offset`. */
export function writeU32BE(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 24) & 0xff;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/** Reads a big-endian uint32 at `offset` (the caller has checked the length). */
export function readU32BE(source: Uint8Array, offset: number): number {
  return (
    (((source[offset] ?? 0) << 24) |
      ((source[offset + 1] ?? 0) << 16) |
      ((source[offset + 2] ?? 0) << 8) |
      (source[offset + 3] ?? 0)) >>>
    0
  );
}

/** `value` as 4 big-endian bytes. */
export function u32BE(value: number): Uint8Array {
  const out = new Uint8Array(4);
  writeU32BE(out, 0, value);
  return out;
}

/** `value` (0 ≤ value < 2^256) as 32 big-endian bytes, the ABI encoding of a uint256. */
export function u256BE(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Concatenates byte arrays into a new array. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Constant-time (for equal lengths) byte comparison. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** True when every byte is zero. */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const byte of bytes) acc |= byte;
  return acc === 0;
}

/** Lower-case `0x`-prefixed hex. */
export function toHex(bytes: Uint8Array): string {
  let out = "0x";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * Parses `0x`-prefixed hex (either case) into bytes, of exactly `length` bytes when given.
 * Throws InvalidInputError naming `name` otherwise.
 */
export function fromHex(value: unknown, name: string, length?: number): Uint8Array {
  if (typeof value !== "string" || !HEX_RE.test(value)) {
    throw new InvalidInputError(`${name} must be a 0x-prefixed hex string`, { details: `got ${describe(value)}` });
  }
  const out = new Uint8Array((value.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(value.slice(2 + 2 * i, 4 + 2 * i), 16);
  if (length !== undefined && out.length !== length) {
    throw new InvalidInputError(`${name} must be ${length} bytes of hex`, { details: `got ${out.length} bytes` });
  }
  return out;
}

/** UTF-8 encoding of an ASCII label. */
export function ascii(label: string): Uint8Array {
  return new TextEncoder().encode(label);
}
