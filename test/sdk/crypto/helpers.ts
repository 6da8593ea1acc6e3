/** Shared fixtures for the crypto tests: fixed contexts, deterministic randomness, stream pumps. */
import { sha256 } from "@noble/hashes/sha2.js";

import type { EnvelopeContext, RandomSource } from "../../../sdk/crypto/index.js";

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value.replace(/^0x/, ""), "hex"));
}

export function sha256Hex(bytes: Uint8Array): string {
  return hex(sha256(bytes));
}

/** `length` bytes following a fixed pattern: byte i = (i * mul + add) mod 256. */
export function pattern(length: number, mul = 7, add = 3): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * mul + add) & 0xff;
  return out;
}

/** A deterministic RandomSource: SHA-256(seed || counter) blocks. Same seed, same bytes. */
export function seededRandom(seed: string): RandomSource {
  let counter = 0;
  const seedBytes = new TextEncoder().encode(seed);
  return (n) => {
    const out = new Uint8Array(n);
    for (let offset = 0; offset < n; offset += 32) {
      const block = sha256(new Uint8Array([...seedBytes, ...new TextEncoder().encode(`/${counter++}`)]));
      out.set(block.subarray(0, Math.min(32, n - offset)), offset);
    }
    return out;
  };
}

/** The fixed context of the known-answer vectors. */
export const KAT_CONTEXT: EnvelopeContext = {
  recordId: pattern(32, 1, 0x10),
  subjectId: pattern(32, 1, 0x40),
  chainId: 31337n,
  registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
};

/** The fixed 32-byte data key of the known-answer vectors: 00 01 02 ... 1f. */
export const KAT_KEY = pattern(32, 1, 0);

export function contextWith(overrides: Partial<EnvelopeContext>): EnvelopeContext {
  return { ...KAT_CONTEXT, ...overrides };
}

/** Splits `bytes` into consecutive pieces of the given sizes (cycled); the last piece takes the rest. */
export function split(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.max(1, sizes.length === 0 ? bytes.length : (sizes[i % sizes.length] ?? 1));
    pieces.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  return pieces;
}

export function concatAll(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

export interface PumpResult {
  /** Every piece the transform enqueued, in order, until it closed or errored. */
  output: Uint8Array[];
  error: unknown;
}

/** Writes `pieces` into `transform` (awaiting each write) while reading everything it emits. */
export async function pump(
  transform: TransformStream<Uint8Array, Uint8Array>,
  pieces: readonly Uint8Array[],
): Promise<PumpResult> {
  const output: Uint8Array[] = [];
  let error: unknown;
  const reader = transform.readable.getReader();
  const reading = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      output.push(value);
    }
  })();
  const writer = transform.writable.getWriter();
  try {
    for (const piece of pieces) await writer.write(piece);
    await writer.close();
  } catch (err) {
    error = err;
  }
  try {
    await reading;
  } catch (err) {
    error ??= err;
  }
  return { output, error };
}
