/**
 * The sealed envelope: a record's content encrypted in fixed-size chunks with ChaCha20-Poly1305
 * in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár: "Online Authenticated-Encryption
 * and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015), so content of any size is sealed and
 * opened in constant memory, and truncation, reordering, dropping or appending chunks is detected.
 *
 * ## Format, version 1 (all integers big-endian)
 *
 * ```
 * envelope = header || chunk_0 || chunk_1 || ... || chunk_last
 *
 * header (43 bytes)
 *   offset  size  field
 *        0     5  magic      "MLENV" (4d 4c 45 4e 56)
 *        5     1  version    0x01
 *        6     1  algorithm  0x01 = ChaCha20-Poly1305 (RFC 8439), HKDF-SHA256 chunk key, STREAM nonces
 *        7     4  chunkSize  uint32, plaintext bytes per chunk, 1024 ≤ chunkSize ≤ 16 MiB
 *       11    32  salt       random, fresh for every envelope
 *
 * chunkKey = HKDF-SHA256(IKM = dataKey, salt = header.salt, info = "medledger/envelope/v1/chunk-key", L = 32)
 * nonce_i  = uint88(i) || flag        (12 bytes: 11-byte chunk counter from 0, then
 *                                      flag = 0x00 for every chunk but the last, 0x01 for the last)
 * AD       = header (43) || recordId (32) || subjectId (32) || chainId (uint256, 32) || registry (20)
 *            (159 bytes, every field fixed-width, so the encoding is injective)
 * chunk_i  = ChaCha20-Poly1305(chunkKey, nonce_i, AD).seal(plaintext_i) = ciphertext_i || tag_i (16)
 * ```
 *
 * Every chunk but the last holds exactly `chunkSize` plaintext bytes (`chunkSize + 16` sealed); the
 * last holds 0..chunkSize (16..chunkSize + 16 sealed). An empty plaintext is one empty final chunk; a
 * plaintext of exactly k·chunkSize bytes is k chunks, the k-th one full and final. A reader finds
 * the last chunk by position (the stream's end) and the flag in the nonce proves it is the last.
 *
 * Why these choices:
 * - The random header salt gives every envelope its own chunk key, so even a data key reused for
 *   several envelopes (never the SDK's intent: one data key per record version) cannot repeat a
 *   (key, nonce) pair; the counter is then unique per chunk within the envelope.
 * - The header is part of the AD of every chunk, so any change to it (chunk size, salt, version)
 *   fails authentication; the context binds each chunk to its record, subject, chain and registry,
 *   so a chunk or a whole envelope moved to another record fails to open.
 * - The on-chain digest covers the envelope bytes, not the key slots (see keyslot.ts), so key
 *   slots can be rotated without touching the anchor.
 *
 * ## Streaming guarantees
 * {@link openStream} releases a chunk's plaintext only after that chunk's tag has verified; it
 * buffers at most one sealed chunk. Like any online AEAD it releases verified chunks before it has
 * seen the end of the stream: a reader must treat its output as incomplete until the stream closes
 * without an error (a truncated envelope errors at the end, after the verified prefix).
 * {@link openBytes} returns nothing unless the whole envelope verified.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { DecryptionError, IntegrityError, InvalidInputError, UnsupportedFormatError } from "../errors.js";
import { AEAD_TAG_LENGTH, defaultBackend } from "./backend.js";
import type { BoundAead, CipherBackend } from "./backend.js";
import { ascii, assertBytes, assertInteger, readU32BE, writeU32BE } from "./bytes.js";
import { encodeContext } from "./context.js";
import type { EnvelopeContext } from "./context.js";
import { drawRandom } from "./random.js";
import type { RandomSource } from "./random.js";

/** The envelope's magic, ASCII "MLENV": the first 5 bytes of every envelope. */
export const ENVELOPE_MAGIC = "MLENV";
/** The envelope format version this SDK writes (and the only one it reads). */
export const ENVELOPE_VERSION = 1;
/** Algorithm id 1: ChaCha20-Poly1305, HKDF-SHA256 chunk key, STREAM nonces (see the module doc). */
export const ENVELOPE_ALGORITHM_CHACHA20_POLY1305 = 1;
/** Default plaintext bytes per chunk: 64 KiB. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** Smallest allowed chunk size: 1 KiB. */
export const MIN_CHUNK_SIZE = 1024;
/** Largest allowed chunk size: 16 MiB (a reader buffers one chunk). */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Length of a version-1 header in bytes. */
export const ENVELOPE_HEADER_LENGTH = 43;
/** Length of a data key in bytes. */
export const DATA_KEY_LENGTH = 32;

const MAGIC_BYTES = ascii(ENVELOPE_MAGIC);
const SALT_OFFSET = 11;
const SALT_LENGTH = 32;
const CHUNK_KEY_INFO = ascii("medledger/envelope/v1/chunk-key");
const NONCE_LENGTH = 12;
const FLAG_NOT_LAST = 0x00;
const FLAG_LAST = 0x01;
/** Counters stay exact JavaScript integers; at ≥ 1 KiB per chunk that is ≥ 9 EB per envelope. */
const MAX_CHUNKS = Number.MAX_SAFE_INTEGER;
const EMPTY = new Uint8Array(0);

/** A parsed envelope header. */
export interface EnvelopeHeader {
  /** Format version (1). */
  readonly version: number;
  /** AEAD algorithm id (1 = ChaCha20-Poly1305). */
  readonly algorithm: number;
  /** Plaintext bytes per chunk. */
  readonly chunkSize: number;
  /** The per-envelope 32-byte salt of the chunk key. */
  readonly salt: Uint8Array;
  /** Header length in bytes: the first chunk starts at this offset. */
  readonly headerLength: number;
}

/** Options of {@link sealBytes} and {@link sealStream}. */
export interface SealOptions {
  /** The record version's 32-byte data key (see {@link generateDataKey}). */
  key: Uint8Array;
  /** The record the envelope belongs to; opening needs the same context. */
  context: EnvelopeContext;
  /** Plaintext bytes per chunk, 1024..16 MiB; default {@link DEFAULT_CHUNK_SIZE} (64 KiB). */
  chunkSize?: number;
  /** AEAD implementation; default {@link defaultBackend}(). Output is identical across backends. */
  backend?: CipherBackend;
  /** Randomness for the header salt; default the platform CSPRNG. */
  random?: RandomSource;
}

/** Options of {@link openBytes} and {@link openStream}; the chunk size is read from the header. */
export interface OpenOptions {
  /** The 32-byte data key the envelope was sealed with. */
  key: Uint8Array;
  /** The context the envelope was sealed for. */
  context: EnvelopeContext;
  /** AEAD implementation; default {@link defaultBackend}(). */
  backend?: CipherBackend;
}

type Emit = (bytes: Uint8Array) => void;

/**
 * Draws a fresh random 32-byte data key: one per record version.
 *
 * @example
 * ```ts
 * import { generateDataKey } from "medledger";
 * const key = generateDataKey();
 * ```
 */
export function generateDataKey(random?: RandomSource): Uint8Array {
  return drawRandom(DATA_KEY_LENGTH, random);
}

/**
 * Parses and validates an envelope header from the start of `bytes` (a whole envelope or just its
 * first bytes). Throws UnsupportedFormatError for a wrong magic, version or algorithm, and
 * IntegrityError when the header is truncated or its chunk size is out of range.
 *
 * @example
 * ```ts
 * import { parseEnvelopeHeader } from "medledger";
 * const { chunkSize, headerLength } = parseEnvelopeHeader(envelope);
 * ```
 */
export function parseEnvelopeHeader(bytes: Uint8Array): EnvelopeHeader {
  assertBytes(bytes, "envelope");
  checkHeaderPrefix(bytes);
  if (bytes.length < ENVELOPE_HEADER_LENGTH) {
    throw new IntegrityError("Envelope truncated inside its header", {
      details: `need ${ENVELOPE_HEADER_LENGTH} header bytes, got ${bytes.length}`,
    });
  }
  const chunkSize = readU32BE(bytes, 7);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new IntegrityError("Envelope header has an invalid chunk size", {
      details: `chunk size ${chunkSize} outside [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}]`,
    });
  }
  return {
    version: ENVELOPE_VERSION,
    algorithm: ENVELOPE_ALGORITHM_CHACHA20_POLY1305,
    chunkSize,
    salt: bytes.slice(SALT_OFFSET, SALT_OFFSET + SALT_LENGTH),
    headerLength: ENVELOPE_HEADER_LENGTH,
  };
}

/** Checks magic, version and algorithm as far as `prefix` reaches, so garbage fails at once. */
function checkHeaderPrefix(prefix: Uint8Array): void {
  const magicBytes = Math.min(prefix.length, MAGIC_BYTES.length);
  for (let i = 0; i < magicBytes; i++) {
    if (prefix[i] !== MAGIC_BYTES[i]) {
      throw new UnsupportedFormatError("Not a MedLedger envelope: wrong magic", {
        details: `expected the ASCII magic "${ENVELOPE_MAGIC}" at offset 0`,
      });
    }
  }
  const version = prefix[5];
  if (version !== undefined && version !== ENVELOPE_VERSION) {
    throw new UnsupportedFormatError(`Unsupported envelope version ${version}`, {
      details: `this SDK reads version ${ENVELOPE_VERSION}`,
    });
  }
  const algorithm = prefix[6];
  if (algorithm !== undefined && algorithm !== ENVELOPE_ALGORITHM_CHACHA20_POLY1305) {
    throw new UnsupportedFormatError(`Unsupported envelope algorithm ${algorithm}`, {
      details: `this SDK implements algorithm ${ENVELOPE_ALGORITHM_CHACHA20_POLY1305} (ChaCha20-Poly1305)`,
    });
  }
}

/**
 * Size in bytes of the envelope of a `plaintextLength`-byte plaintext (for Content-Length,
 * storage quotas, or preallocation).
 *
 * @example
 * ```ts
 * import { envelopeSize } from "medledger";
 * envelopeSize(0); // 59: header (43) + one empty final chunk (16)
 * ```
 */
export function envelopeSize(plaintextLength: number, chunkSize: number = DEFAULT_CHUNK_SIZE): number {
  assertInteger(plaintextLength, "plaintextLength", 0, Number.MAX_SAFE_INTEGER);
  assertInteger(chunkSize, "chunkSize", MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
  const chunks = Math.max(1, Math.ceil(plaintextLength / chunkSize));
  return ENVELOPE_HEADER_LENGTH + plaintextLength + chunks * AEAD_TAG_LENGTH;
}

function resolveBackend(backend: CipherBackend | undefined): CipherBackend {
  if (backend === undefined) return defaultBackend();
  if (typeof backend !== "object" || backend === null || typeof backend.bind !== "function") {
    throw new InvalidInputError("backend must be a CipherBackend (nodeCryptoBackend or nobleBackend)");
  }
  return backend;
}

function checkOptions(opts: unknown, what: string): asserts opts is { key: unknown; context: EnvelopeContext } {
  if (typeof opts !== "object" || opts === null) {
    throw new InvalidInputError(`${what} options must be an object { key, context, ... }`);
  }
}

/** Shared state of both directions: the bound chunk cipher, the AD and the STREAM nonce. */
class ChunkCipher {
  private readonly nonce = new Uint8Array(NONCE_LENGTH);
  /** Index of the next chunk. */
  index = 0;

  private readonly aead: BoundAead;
  private readonly ad: Uint8Array;

  constructor(aead: BoundAead, ad: Uint8Array) {
    this.aead = aead;
    this.ad = ad;
  }

  private setNonce(index: number, last: boolean): Uint8Array {
    if (index >= MAX_CHUNKS) throw new InvalidInputError("Envelope has too many chunks");
    const n = this.nonce;
    // 11-byte big-endian counter: bytes 0..2 stay zero (index < 2^53 < 2^64), bytes 3..10 hold it.
    n[0] = 0;
    n[1] = 0;
    n[2] = 0;
    writeU32BE(n, 3, Math.floor(index / 0x1_0000_0000));
    writeU32BE(n, 7, index >>> 0);
    n[11] = last ? FLAG_LAST : FLAG_NOT_LAST;
    return n;
  }

  seal(plaintext: Uint8Array, last: boolean, emit: Emit): void {
    const pieces = this.aead.seal(this.setNonce(this.index, last), plaintext, this.ad);
    this.index++;
    for (const piece of pieces) if (piece.length > 0) emit(piece);
  }

  /** Opens chunk `index` with the given flag; throws DecryptionError on failure. */
  open(sealed: Uint8Array, last: boolean): Uint8Array {
    return this.aead.open(this.setNonce(this.index, last), sealed, this.ad);
  }

  /** True when `sealed` authenticates as the current chunk with the other flag (diagnosis only). */
  opensWithFlag(sealed: Uint8Array, last: boolean): boolean {
    try {
      this.aead.open(this.setNonce(this.index, last), sealed, this.ad).fill(0);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The sealing state machine behind {@link sealStream} and {@link sealBytes}: accepts input in any
 * pieces and seals a chunk as soon as it is known not to be the last one. Holds at most one chunk.
 */
class Sealer {
  readonly header: Uint8Array;
  private readonly chunks: ChunkCipher;
  private readonly chunkSize: number;
  private pending: Uint8Array | undefined;
  private pendingLength = 0;
  private finished = false;

  constructor(opts: SealOptions) {
    checkOptions(opts, "seal");
    assertBytes(opts.key, "key", DATA_KEY_LENGTH);
    const contextBytes = encodeContext(opts.context);
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    assertInteger(chunkSize, "chunkSize", MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
    const backend = resolveBackend(opts.backend);
    const salt = drawRandom(SALT_LENGTH, opts.random);

    const header = new Uint8Array(ENVELOPE_HEADER_LENGTH);
    header.set(MAGIC_BYTES, 0);
    header[5] = ENVELOPE_VERSION;
    header[6] = ENVELOPE_ALGORITHM_CHACHA20_POLY1305;
    writeU32BE(header, 7, chunkSize);
    header.set(salt, SALT_OFFSET);

    this.header = header;
    this.chunkSize = chunkSize;
    this.chunks = makeChunkCipher(backend, opts.key, header, contextBytes);
  }

  /** Consumes `input`; with `last`, also seals the final chunk. */
  write(input: Uint8Array, emit: Emit, last: boolean): void {
    if (this.finished) throw new InvalidInputError("The envelope is already finished");
    const size = this.chunkSize;
    let offset = 0;
    for (;;) {
      const remaining = input.length - offset;
      if (this.pendingLength === 0) {
        if (remaining > size) {
          // More bytes follow this chunk, so it is not the last: seal it straight from the input.
          this.chunks.seal(input.subarray(offset, offset + size), false, emit);
          offset += size;
          continue;
        }
        if (last) {
          this.chunks.seal(input.subarray(offset), true, emit);
          this.finished = true;
          return;
        }
        // Up to one chunk that may turn out to be the last: keep a copy (the caller may reuse input).
        if (remaining > 0) {
          this.pendingBuffer().set(input.subarray(offset), 0);
          this.pendingLength = remaining;
        }
        return;
      }
      const pending = this.pendingBuffer();
      if (remaining === 0) {
        if (last) {
          this.chunks.seal(pending.subarray(0, this.pendingLength), true, emit);
          this.pendingLength = 0;
          this.finished = true;
        }
        return;
      }
      if (this.pendingLength === size) {
        this.chunks.seal(pending, false, emit);
        this.pendingLength = 0;
        continue;
      }
      const take = Math.min(size - this.pendingLength, remaining);
      pending.set(input.subarray(offset, offset + take), this.pendingLength);
      this.pendingLength += take;
      offset += take;
    }
  }

  private pendingBuffer(): Uint8Array {
    this.pending ??= new Uint8Array(this.chunkSize);
    return this.pending;
  }
}

function makeChunkCipher(
  backend: CipherBackend,
  key: Uint8Array,
  header: Uint8Array,
  contextBytes: Uint8Array,
): ChunkCipher {
  const salt = header.subarray(SALT_OFFSET, SALT_OFFSET + SALT_LENGTH);
  const chunkKey = hkdf(sha256, key, salt, CHUNK_KEY_INFO, 32);
  const ad = new Uint8Array(header.length + contextBytes.length);
  ad.set(header, 0);
  ad.set(contextBytes, header.length);
  return new ChunkCipher(backend.bind(chunkKey), ad);
}

/**
 * The opening state machine behind {@link openStream} and {@link openBytes}: parses the header,
 * then opens a chunk as soon as it is known whether it is the last one. Holds at most one chunk.
 */
class Opener {
  private readonly key: Uint8Array;
  private readonly contextBytes: Uint8Array;
  private readonly backend: CipherBackend;
  private headerBytes: Uint8Array | undefined = new Uint8Array(ENVELOPE_HEADER_LENGTH);
  private headerLength = 0;
  private chunks: ChunkCipher | undefined;
  private sealedChunkSize = 0;
  private pending: Uint8Array | undefined;
  private pendingLength = 0;
  private finished = false;
  private failed = false;

  constructor(opts: OpenOptions) {
    checkOptions(opts, "open");
    assertBytes(opts.key, "key", DATA_KEY_LENGTH);
    this.contextBytes = encodeContext(opts.context);
    this.backend = resolveBackend(opts.backend);
    this.key = opts.key.slice();
  }

  /** Consumes `input`; with `last`, the input ends here and the final chunk is checked. */
  write(input: Uint8Array, emit: Emit, last: boolean): void {
    if (this.failed) throw new IntegrityError("The envelope already failed to open");
    if (this.finished) throw new IntegrityError("Data after the end of the envelope");
    try {
      this.consume(input, emit, last);
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  private consume(input: Uint8Array, emit: Emit, last: boolean): void {
    let offset = 0;
    if (this.chunks === undefined) {
      offset = this.consumeHeader(input);
      if (this.chunks === undefined) {
        if (last) parseEnvelopeHeader(this.headerBytes?.subarray(0, this.headerLength) ?? EMPTY);
        return;
      }
    }
    const size = this.sealedChunkSize;
    for (;;) {
      const remaining = input.length - offset;
      if (this.pendingLength === 0) {
        if (remaining > size) {
          this.openNotLast(input.subarray(offset, offset + size), emit);
          offset += size;
          continue;
        }
        if (last) {
          this.openLast(input.subarray(offset), emit);
          return;
        }
        if (remaining > 0) {
          this.pendingBuffer().set(input.subarray(offset), 0);
          this.pendingLength = remaining;
        }
        return;
      }
      const pending = this.pendingBuffer();
      if (remaining === 0) {
        if (last) {
          this.openLast(pending.subarray(0, this.pendingLength), emit);
          this.pendingLength = 0;
        }
        return;
      }
      if (this.pendingLength === size) {
        this.openNotLast(pending, emit);
        this.pendingLength = 0;
        continue;
      }
      const take = Math.min(size - this.pendingLength, remaining);
      pending.set(input.subarray(offset, offset + take), this.pendingLength);
      this.pendingLength += take;
      offset += take;
    }
  }

  /** Collects header bytes; returns how many bytes of `input` it used. */
  private consumeHeader(input: Uint8Array): number {
    const headerBytes = this.headerBytes ?? new Uint8Array(ENVELOPE_HEADER_LENGTH);
    const take = Math.min(ENVELOPE_HEADER_LENGTH - this.headerLength, input.length);
    headerBytes.set(input.subarray(0, take), this.headerLength);
    this.headerLength += take;
    checkHeaderPrefix(headerBytes.subarray(0, this.headerLength));
    if (this.headerLength === ENVELOPE_HEADER_LENGTH) {
      const header = parseEnvelopeHeader(headerBytes);
      this.sealedChunkSize = header.chunkSize + AEAD_TAG_LENGTH;
      this.chunks = makeChunkCipher(this.backend, this.key, headerBytes, this.contextBytes);
      this.headerBytes = undefined;
    }
    return take;
  }

  private openNotLast(sealed: Uint8Array, emit: Emit): void {
    const chunks = this.chunks as ChunkCipher;
    let plaintext: Uint8Array;
    try {
      plaintext = chunks.open(sealed, false);
    } catch (err) {
      if (err instanceof DecryptionError && chunks.opensWithFlag(sealed, true)) {
        throw new IntegrityError("Data after the envelope's final chunk", {
          details: `chunk ${chunks.index} is the final chunk but more bytes follow it`,
        });
      }
      throw chunkFailed(err, chunks.index, false);
    }
    chunks.index++;
    if (plaintext.length > 0) emit(plaintext);
  }

  private openLast(sealed: Uint8Array, emit: Emit): void {
    const chunks = this.chunks as ChunkCipher;
    if (sealed.length === 0) {
      throw new IntegrityError("Envelope ends without a final chunk", {
        details: `the stream ended after ${chunks.index} chunk(s) with no final chunk`,
      });
    }
    if (sealed.length < AEAD_TAG_LENGTH) {
      throw new IntegrityError("Envelope truncated: the last chunk is shorter than its 16-byte tag", {
        details: `chunk ${chunks.index} has ${sealed.length} bytes`,
      });
    }
    let plaintext: Uint8Array;
    try {
      plaintext = chunks.open(sealed, true);
    } catch (err) {
      if (
        err instanceof DecryptionError &&
        sealed.length === this.sealedChunkSize &&
        chunks.opensWithFlag(sealed, false)
      ) {
        throw new IntegrityError("Envelope ends without a final chunk (truncated at a chunk boundary)", {
          details: `chunk ${chunks.index} is a valid non-final chunk and nothing follows it`,
        });
      }
      throw chunkFailed(err, chunks.index, true);
    }
    chunks.index++;
    this.finished = true;
    if (plaintext.length > 0) emit(plaintext);
  }

  private pendingBuffer(): Uint8Array {
    this.pending ??= new Uint8Array(this.sealedChunkSize);
    return this.pending;
  }
}

function chunkFailed(err: unknown, index: number, last: boolean): unknown {
  if (!(err instanceof DecryptionError)) return err;
  return new DecryptionError(
    `Envelope chunk ${index} failed authentication: wrong key, wrong context or tampered/truncated data`,
    {
      details: `chunk ${index}${last ? " (read as the final chunk)" : ""}`,
      cause: err,
    },
  );
}

function assertChunk(chunk: unknown): asserts chunk is Uint8Array {
  if (!(chunk instanceof Uint8Array)) {
    throw new InvalidInputError("Stream chunks must be Uint8Array", { details: `got ${typeof chunk}` });
  }
}

/**
 * Seals `plaintext` into an envelope (see the module doc for the format).
 *
 * @example
 * ```ts
 * import { generateDataKey, sealBytes } from "medledger";
 * const key = generateDataKey();
 * const context = { recordId, subjectId, chainId: 31337n, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
 * const envelope = await sealBytes(new TextEncoder().encode(fhirJson), { key, context });
 * ```
 */
export function sealBytes(plaintext: Uint8Array, opts: SealOptions): Promise<Uint8Array> {
  // A Promise (not a sync return) so an asynchronous backend can fit later without an API change;
  // the executor turns every validation error into a rejection.
  return new Promise((resolve) => resolve(sealAll(plaintext, opts)));
}

function sealAll(plaintext: Uint8Array, opts: SealOptions): Uint8Array {
  assertBytes(plaintext, "plaintext");
  const sealer = new Sealer(opts);
  const out = new Uint8Array(envelopeSize(plaintext.length, opts.chunkSize ?? DEFAULT_CHUNK_SIZE));
  out.set(sealer.header, 0);
  let offset = sealer.header.length;
  sealer.write(
    plaintext,
    (bytes) => {
      out.set(bytes, offset);
      offset += bytes.length;
    },
    true,
  );
  return out;
}

/**
 * Opens an envelope sealed by {@link sealBytes} or {@link sealStream}; returns the plaintext only
 * if every chunk verified and the envelope is complete. Throws DecryptionError (wrong key or
 * context, tampered chunk), IntegrityError (truncated, missing final chunk, trailing data) or
 * UnsupportedFormatError (not an envelope, unknown version).
 *
 * @example
 * ```ts
 * import { openBytes } from "medledger";
 * const plaintext = await openBytes(envelope, { key, context });
 * ```
 */
export function openBytes(envelope: Uint8Array, opts: OpenOptions): Promise<Uint8Array> {
  return new Promise((resolve) => resolve(openAll(envelope, opts)));
}

function openAll(envelope: Uint8Array, opts: OpenOptions): Uint8Array {
  assertBytes(envelope, "envelope");
  const opener = new Opener(opts);
  const pieces: Uint8Array[] = [];
  let length = 0;
  opener.write(
    envelope,
    (bytes) => {
      pieces.push(bytes);
      length += bytes.length;
    },
    true,
  );
  if (pieces.length === 1 && pieces[0] !== undefined) return pieces[0];
  const out = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/**
 * A transform whose steps are synchronous, as a `{ readable, writable }` pair: what `pipeThrough`
 * takes, with a TransformStream's behaviour (backpressure, errors on both sides, cancel and abort
 * passed on) but without its per-chunk promise machinery, which in Node 24 costs about as much as
 * encrypting 16 KiB for every input chunk.
 *
 * - `start` runs when the readable side starts; `step` for each written chunk; `end` on close.
 *   Each may `emit` output; one that throws errors both sides with its error.
 * - Backpressure: a write resolves once the reader has taken everything the chunk produced, so at
 *   most one input chunk's output waits in the readable side.
 * - Cancelling the readable side errors the writable side (the upstream pipe stops and cancels its
 *   source); aborting the writable side errors the readable side.
 */
function syncTransform(
  start: (emit: Emit) => void,
  step: (chunk: Uint8Array, emit: Emit) => void,
  end: (emit: Emit) => void,
): TransformStream<Uint8Array, Uint8Array> {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let sink!: WritableStreamDefaultController;
  let failure: { reason: unknown } | undefined;
  let waiting: { resolve: () => void; reject: (reason: unknown) => void } | undefined;
  const emit: Emit = (bytes) => controller.enqueue(bytes);
  const settle = (reason?: { reason: unknown }) => {
    const w = waiting;
    waiting = undefined;
    if (reason === undefined) w?.resolve();
    else w?.reject(reason.reason);
  };
  const fail = (reason: unknown): never => {
    failure ??= { reason };
    controller.error(reason);
    settle(failure);
    throw reason;
  };
  const readable = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        start(emit);
      },
      pull() {
        settle();
      },
      cancel(reason) {
        failure ??= { reason };
        sink.error(reason);
        settle(failure);
      },
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream<Uint8Array>({
    start(c) {
      sink = c;
    },
    write(chunk) {
      if (failure !== undefined) throw failure.reason;
      try {
        step(chunk, emit);
      } catch (err) {
        fail(err);
      }
      // What this chunk produced is still queued: finish the write when the reader has taken it.
      if ((controller.desiredSize ?? 0) >= 0) return;
      return new Promise<void>((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    close() {
      if (failure !== undefined) throw failure.reason;
      try {
        end(emit);
        controller.close();
      } catch (err) {
        fail(err);
      }
    },
    abort(reason) {
      failure ??= { reason };
      controller.error(reason);
    },
  });
  return { readable, writable };
}

/**
 * A Web Streams transform from plaintext to envelope bytes. Accepts writes of any size; holds at
 * most one chunk of plaintext. Works in Node ≥ 22 and browsers. (It behaves as a TransformStream
 * and is typed as one, but is a plain `{ readable, writable }` pair; see the module's source.)
 *
 * @example
 * ```ts
 * import { createReadStream, createWriteStream } from "node:fs";
 * import { Readable, Writable } from "node:stream";
 * import { generateDataKey, sealStream } from "medledger";
 * const key = generateDataKey();
 * await (Readable.toWeb(createReadStream("scan.dcm")) as ReadableStream<Uint8Array>)
 *   .pipeThrough(sealStream({ key, context }))
 *   .pipeTo(Writable.toWeb(createWriteStream("scan.dcm.mlenv")));
 * ```
 */
export function sealStream(opts: SealOptions): TransformStream<Uint8Array, Uint8Array> {
  const sealer = new Sealer(opts);
  return syncTransform(
    (emit) => emit(sealer.header.slice()),
    (chunk, emit) => {
      assertChunk(chunk);
      sealer.write(chunk, emit, false);
    },
    (emit) => sealer.write(EMPTY, emit, true),
  );
}

/**
 * A Web Streams transform from envelope bytes to plaintext. Emits a chunk's plaintext only after
 * its tag verified; errors the stream (IntegrityError) when the input ends without a final chunk or
 * continues after it. Output is complete only when the stream closes without an error.
 *
 * @example
 * ```ts
 * import { openStream } from "medledger";
 * const response = await fetch(url);
 * const plaintext = response.body!.pipeThrough(openStream({ key, context }));
 * for await (const piece of plaintext) handle(piece);
 * ```
 */
export function openStream(opts: OpenOptions): TransformStream<Uint8Array, Uint8Array> {
  const opener = new Opener(opts);
  return syncTransform(
    () => undefined,
    (chunk, emit) => {
      assertChunk(chunk);
      opener.write(chunk, emit, false);
    },
    (emit) => opener.write(EMPTY, emit, true),
  );
}
