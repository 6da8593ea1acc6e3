/**
 * Envelope throughput and memory benchmark (not a test).
 *
 *   npx tsx bench/crypto.ts --size-mib 256 [--repeats 5] [--noble-repeats 3] [--no-release]   # prints JSON
 *
 * Run it with tsx (installed with Hardhat), not `node bench/crypto.ts`: Node's built-in type
 * stripping does not map the SDK's `.js` import specifiers to its `.ts` files. The bench files use
 * only erasable TypeScript syntax.
 *
 * Every SDK figure has a bare-cipher twin that does the same work on the same bytes, so a ratio
 * between them is the cost of the envelope and its streams, nothing else (MB/s of plaintext, MB =
 * 10^6 bytes; the chunking is the envelope's: 64 KiB chunks, a 159-byte AD, counter nonces):
 *
 * | SDK figure                                  | raw twin                                                  |
 * | ------------------------------------------- | --------------------------------------------------------- |
 * | memSeal: 16 MiB block (cycled) → sealStream → counting sink | raw: node:crypto `createCipheriv` per chunk over the same block |
 * | memOpen: its envelope → openStream → counting sink | rawOpen: `createDecipheriv` + tag check over the same layout |
 * | seal: file → sealStream → file              | rawFile: read 1 MiB → cipher each chunk → `writev` → next (sequential) |
 * | open: sealed file → openStream → counting sink | rawFileOpen: read 16 sealed chunks → decipher → count → next |
 *
 * The file is a generated pseudo-random file of `sizeMiB` MiB in os.tmpdir() (set TMPDIR to move
 * it); the in-memory figures process the same number of bytes (rounded up to 16 MiB). The raw
 * loops use node:crypto the fastest way (a prepared KeyObject, one cipher per chunk); noble's raw
 * twin is `chacha20poly1305(key, nonce, ad).encrypt` over the same block. The raw file loops read
 * into the same pool of recycled buffers as the SDK's file source, and the raw open reads whole
 * sealed chunks (16 per read), which spares it the SDK's copying of chunks split across reads.
 *
 * Repetitions alternate (one run of every figure per round, raw right before its SDK twin), and
 * each figure is the MEDIAN of its rounds: a busy moment on a shared machine hits one run of each
 * figure rather than all runs of one. Each run is a full pass over the bytes. `ratios` (SDK / raw)
 * are PAIRED: the median over rounds of the ratio between the two back-to-back runs of a round, so
 * the machine's load, which drifts over seconds, largely cancels out. The same rates and ratios
 * per CPU-second of this process (all threads: main, libuv I/O, GC) are reported too.
 * After the first seal of each backend, an untimed open checks the output's SHA-256 against the
 * input's.
 *
 * sealPeakRssGrowthMiB: peak RSS growth while sealing, measured in a fresh child process
 * (bench/crypto-worker.ts, `--expose-gc`): baseline RSS right before the seal (after a GC), then
 * sampled every 2 ms and every 8 sink writes; the larger of the two backends (each is reported too).
 *
 * The harness is a careful but ordinary consumer: 1 MiB reads into recycled buffers with 2 MiB of
 * read-ahead; sealed pieces batched into ~1 MiB `writev` calls. With `releaseWrittenBuffers` (the
 * default; `--no-release` turns it off) the sinks detach each buffer they have written
 * (`ArrayBuffer.prototype.transfer(0)`) so its memory is freed at once instead of at V8's next GC:
 * without it, V8 lets ~64 MiB of dead ArrayBuffers pile up between collections (its external
 * memory soft limit), which shows up in RSS and costs throughput, whatever produced the buffers.
 * The raw loops release their outputs the same way. (@noble/ciphers' Poly1305 also copies every
 * chunk internally; that garbage cannot be released, so noble's RSS growth still depends on when V8
 * collects.)
 *
 * Figures are handed to `onFigures` as soon as each part is measured (node:crypto, RSS, noble), so
 * a failure later in the run loses nothing already measured.
 *
 * Targets: in memory, seal and open ≥ 90 % of their raw twin; file to file ≥ 80 % of the raw file
 * pipeline; noble seal/open ≥ 80 % of raw noble; RSS growth ≤ 64 MiB while sealing 1 GiB.
 */
import { execFile } from "node:child_process";
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

import { nobleBackend, nodeCryptoBackend, openStream, sealBytes, sealStream } from "../sdk/crypto/index.js";
import type { CipherBackend, EnvelopeContext } from "../sdk/crypto/index.js";

/** node:crypto figures: each SDK figure next to its raw twin. */
const NODE_FIGURES = [
  "rawNode",
  "memSealNode",
  "rawOpenNode",
  "memOpenNode",
  "rawFileNode",
  "sealNode",
  "rawFileOpenNode",
  "openNode",
] as const;
const NOBLE_FIGURES = ["rawNoble", "memSealNoble", "memOpenNoble", "sealNoble", "openNoble"] as const;
type NodeFigure = (typeof NODE_FIGURES)[number];
type NobleFigure = (typeof NOBLE_FIGURES)[number];
type Figure = NodeFigure | NobleFigure;
const MEMORY_FIGURES = ["memSealNode", "memOpenNode", "memSealNoble", "memOpenNoble"] as const;
type MemoryFigure = (typeof MEMORY_FIGURES)[number];

export interface CryptoBenchResult {
  /** file → sealStream → file (node:crypto). */
  sealMBpsNode: number;
  /** sealed file → openStream → counting sink. */
  openMBpsNode: number;
  /** Raw twin of memSeal: the bare cipher over the same in-memory block. */
  rawMBpsNode: number;
  /** Raw twin of memOpen: bare decipher + tag check over the same layout. */
  rawOpenMBpsNode: number;
  /** Raw twin of seal: read → bare cipher → write, sequential. */
  rawFileMBpsNode: number;
  /** Raw twin of open: read → bare decipher → count, sequential. */
  rawFileOpenMBpsNode: number;
  /** In memory: block → sealStream → counting sink. */
  memSealMBpsNode: number;
  /** In memory: envelope → openStream → counting sink. */
  memOpenMBpsNode: number;
  sealMBpsNoble: number;
  openMBpsNoble: number;
  /** noble's bare cipher over the same in-memory block. */
  rawMBpsNoble: number;
  sealPeakRssGrowthMiB: number;
  /** The same, per backend (sealPeakRssGrowthMiB is the larger). */
  sealPeakRssGrowthMiBNode: number;
  sealPeakRssGrowthMiBNoble: number;
  /** Every figure per CPU-second of this process (steadier on a shared machine). */
  mbPerCpuSecond: Record<Figure, number>;
  /** The in-memory figures again under their earlier names (wall clock). */
  inMemoryMBps: Record<MemoryFigure, number>;
  /**
   * SDK figure / raw twin: the median over rounds of the ratio of the two runs of one round, which
   * ran back to back, so a change in the machine's load between rounds cancels out.
   */
  ratios: Record<RatioName, number>;
  /** The same ratios computed from CPU time instead of wall-clock time. */
  ratiosPerCpuSecond: Record<RatioName, number>;
}

/** Each SDK figure and its raw twin. */
const TWINS = {
  memSealNode: ["memSealNode", "rawNode"],
  memOpenNode: ["memOpenNode", "rawOpenNode"],
  sealNode: ["sealNode", "rawFileNode"],
  openNode: ["openNode", "rawFileOpenNode"],
  memSealNoble: ["memSealNoble", "rawNoble"],
  memOpenNoble: ["memOpenNoble", "rawNoble"],
  sealNoble: ["sealNoble", "rawNoble"],
  openNoble: ["openNoble", "rawNoble"],
} as const satisfies Record<string, readonly [Figure, Figure]>;
type RatioName = keyof typeof TWINS;

export interface CryptoBenchOptions {
  /** Size of the generated file in MiB. */
  sizeMiB: number;
  /** Rounds of the node:crypto figures; each figure is the median. Default 5. */
  repeats?: number;
  /** Rounds of the noble figures (about 10× slower). Default 3. */
  nobleRepeats?: number;
  /** Sinks free written buffers at once (see the module doc). Default true. */
  releaseWrittenBuffers?: boolean;
  /** Receives the figures measured so far after each part (node:crypto, RSS, noble). */
  onFigures?: (figures: Partial<CryptoBenchResult>) => void | Promise<void>;
}

/** How the benchmark's sinks treat buffers they have written. */
export interface IoOptions {
  releaseWrittenBuffers: boolean;
}

export const MiB = 1024 * 1024;
const READ_SIZE = MiB;
const READ_AHEAD = 2;
/**
 * Recycled read buffers. In flight at once: READ_AHEAD queued + 1 being read + 1 held by the pipe
 * + 2 on the transform's writable side = 6 < 8. Every seal's output is also verified.
 */
const READ_POOL = 8;
const WRITE_BATCH = MiB;
const RAW_CHUNK = 64 * 1024;
const AD_LENGTH = 159; // envelope AD: header (43) + context (116)

export const BENCH_CONTEXT: EnvelopeContext = {
  recordId: new Uint8Array(32).fill(1),
  subjectId: new Uint8Array(32).fill(2),
  chainId: 31337n,
  registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
};

export function backendByName(name: string): CipherBackend {
  if (name === nodeCryptoBackend.name) return nodeCryptoBackend;
  if (name === nobleBackend.name) return nobleBackend;
  throw new RangeError(`unknown backend ${name}`);
}

/**
 * The recycled read buffers of the file figures, SDK and raw alike: READ_POOL buffers of `size`
 * bytes, used in turn (so both touch the same amount of memory, not one cache-hot buffer).
 */
function readBuffers(size: number): () => Uint8Array {
  const pool = Array.from({ length: READ_POOL }, () => new Uint8Array(size));
  let next = 0;
  return () => pool[next++ % READ_POOL] ?? new Uint8Array(size);
}

/**
 * A ReadableStream over a file: 1 MiB reads into a pool of recycled buffers, 2 MiB read-ahead.
 * Recycling is safe: the envelope transforms never keep a reference to an input chunk after
 * processing it (they copy the partial chunk they hold back), and the output's SHA-256 is checked.
 */
export function fileSource(handle: FileHandle): ReadableStream<Uint8Array> {
  const nextBuffer = readBuffers(READ_SIZE);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const buffer = nextBuffer();
        const { bytesRead } = await handle.read(buffer, 0, READ_SIZE, null);
        if (bytesRead === 0) controller.close();
        else controller.enqueue(buffer.subarray(0, bytesRead));
      },
    },
    { highWaterMark: READ_AHEAD },
  );
}

/** Detaches written buffers that own their whole ArrayBuffer (never a shared Buffer pool slab). */
function release(pieces: readonly Uint8Array[], io: IoOptions): void {
  if (!io.releaseWrittenBuffers) return;
  for (const piece of pieces) {
    const buffer = piece.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
    if (piece.byteOffset === 0 && piece.byteLength === buffer.byteLength && typeof buffer.transfer === "function") {
      buffer.transfer(0);
    }
  }
}

/** A WritableStream into a file: ~1 MiB `writev` batches, up to 4 MiB queued during a write. */
export function fileSink(
  handle: FileHandle,
  io: IoOptions,
  onWrite: () => void = () => undefined,
): WritableStream<Uint8Array> {
  let batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async () => {
    const pieces = batch;
    batch = [];
    batched = 0;
    if (pieces.length === 0) return;
    await handle.writev(pieces);
    release(pieces, io);
  };
  return new WritableStream<Uint8Array>(
    {
      async write(chunk) {
        onWrite();
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) await flush();
      },
      close: flush,
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 4 * MiB }),
  );
}

/** A WritableStream that counts bytes, optionally hashing them. */
function countingSink(
  counter: { bytes: number },
  io: IoOptions,
  update?: (chunk: Uint8Array) => void,
): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write(chunk) {
      counter.bytes += chunk.length;
      update?.(chunk);
      release([chunk], io);
    },
  });
}

/** file → sealStream → file; returns elapsed milliseconds. */
export async function sealFile(
  input: string,
  output: string,
  key: Uint8Array,
  backend: CipherBackend,
  io: IoOptions,
  onWrite?: () => void,
): Promise<number> {
  const source = await open(input, "r");
  const target = await open(output, "w");
  try {
    const start = performance.now();
    await fileSource(source)
      .pipeThrough(sealStream({ key, context: BENCH_CONTEXT, backend }))
      .pipeTo(fileSink(target, io, onWrite));
    return performance.now() - start;
  } finally {
    await source.close();
    await target.close();
  }
}

/** sealed file → openStream → counting sink; returns the number of plaintext bytes. */
async function openFile(
  sealed: string,
  key: Uint8Array,
  backend: CipherBackend,
  io: IoOptions,
  update?: (chunk: Uint8Array) => void,
) {
  const source = await open(sealed, "r");
  const counter = { bytes: 0 };
  try {
    await fileSource(source)
      .pipeThrough(openStream({ key, context: BENCH_CONTEXT, backend }))
      .pipeTo(countingSink(counter, io, update));
    return { bytes: counter.bytes };
  } finally {
    await source.close();
  }
}

async function writeInputFile(path: string, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(path, "w");
  try {
    for (let written = 0; written < bytes;) {
      const block = randomBytes(Math.min(MiB, bytes - written));
      hash.update(block);
      await handle.write(block);
      written += block.length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function mbps(bytes: number, ms: number): number {
  return round1(bytes / 1e6 / (ms / 1000));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

// ── The bare cipher, chunked like the envelope ───────────────────────────────────────────────────

const TAG = 16;
const SEALED_CHUNK = RAW_CHUNK + TAG;

/** node:crypto ChaCha20-Poly1305 under one prepared key, with the envelope's nonce and AD shapes. */
class RawNode {
  private readonly key: KeyObject = createSecretKey(randomBytes(32));
  private readonly ad = randomBytes(AD_LENGTH);
  private readonly nonce = new Uint8Array(12);
  private readonly view = new DataView(this.nonce.buffer);
  private readonly options = { authTagLength: TAG } as const;
  private counter = 0;

  reset(): void {
    this.counter = 0;
  }

  private nextNonce(): Uint8Array {
    this.view.setUint32(7, this.counter++, false);
    return this.nonce;
  }

  /** Returns [ciphertext, tag] like the SDK's node backend. */
  seal(chunk: Uint8Array): [Uint8Array, Uint8Array] {
    const cipher = createCipheriv("chacha20-poly1305", this.key, this.nextNonce(), this.options);
    cipher.setAAD(this.ad, { plaintextLength: chunk.length });
    const ciphertext = cipher.update(chunk);
    cipher.final();
    return [ciphertext, cipher.getAuthTag()];
  }

  /** Verifies and decrypts one `ciphertext || tag`. */
  open(sealed: Uint8Array): Uint8Array {
    const split = sealed.length - TAG;
    const decipher = createDecipheriv("chacha20-poly1305", this.key, this.nextNonce(), this.options);
    decipher.setAAD(this.ad, { plaintextLength: split });
    decipher.setAuthTag(sealed.subarray(split));
    const plaintext = decipher.update(sealed.subarray(0, split));
    decipher.final();
    return plaintext;
  }
}

/** Raw twin of memSeal: `totalBytes` of `block` (cycled) through the bare cipher, 64 KiB chunks. */
function rawSealInMemory(raw: RawNode, block: Uint8Array, totalBytes: number, io: IoOptions): void {
  raw.reset();
  for (let done = 0; done < totalBytes; done += RAW_CHUNK) {
    const start = done % block.length;
    release(raw.seal(block.subarray(start, start + RAW_CHUNK)), io);
  }
}

/** `block` sealed chunk by chunk, laid out like an envelope's chunks (ciphertext || tag, …). */
function rawSealedBlock(raw: RawNode, block: Uint8Array): Uint8Array {
  raw.reset();
  const out = new Uint8Array((block.length / RAW_CHUNK) * SEALED_CHUNK);
  for (let i = 0; i * RAW_CHUNK < block.length; i++) {
    const [ciphertext, tag] = raw.seal(block.subarray(i * RAW_CHUNK, (i + 1) * RAW_CHUNK));
    out.set(ciphertext, i * SEALED_CHUNK);
    out.set(tag, i * SEALED_CHUNK + RAW_CHUNK);
  }
  return out;
}

/** Raw twin of memOpen: opens `sealedBlock` chunk by chunk until `totalBytes` of plaintext came out. */
function rawOpenInMemory(raw: RawNode, sealedBlock: Uint8Array, totalBytes: number, io: IoOptions): void {
  for (let opened = 0; opened < totalBytes;) {
    raw.reset();
    for (let at = 0; at < sealedBlock.length && opened < totalBytes; at += SEALED_CHUNK) {
      const plaintext = raw.open(sealedBlock.subarray(at, at + SEALED_CHUNK));
      opened += plaintext.length;
      release([plaintext], io);
    }
  }
}

/** Raw twin of seal: read 1 MiB → cipher its chunks → writev → next, one step at a time. */
async function rawSealFile(raw: RawNode, input: string, output: string, io: IoOptions): Promise<void> {
  raw.reset();
  const source = await open(input, "r");
  const target = await open(output, "w");
  try {
    const nextBuffer = readBuffers(READ_SIZE);
    for (;;) {
      const buffer = nextBuffer();
      const { bytesRead } = await source.read(buffer, 0, READ_SIZE, null);
      if (bytesRead === 0) break;
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < bytesRead; at += RAW_CHUNK) {
        pieces.push(...raw.seal(buffer.subarray(at, Math.min(at + RAW_CHUNK, bytesRead))));
      }
      await target.writev(pieces);
      release(pieces, io);
    }
  } finally {
    await source.close();
    await target.close();
  }
}

/** Raw twin of open: read 16 sealed chunks → decipher each → count → next; returns plaintext bytes. */
async function rawOpenFile(raw: RawNode, sealed: string, io: IoOptions): Promise<number> {
  raw.reset();
  const source = await open(sealed, "r");
  let bytes = 0;
  try {
    const size = (READ_SIZE / RAW_CHUNK) * SEALED_CHUNK;
    const nextBuffer = readBuffers(size);
    for (;;) {
      const buffer = nextBuffer();
      const { bytesRead } = await source.read(buffer, 0, size, null);
      if (bytesRead === 0) break;
      for (let at = 0; at < bytesRead; at += SEALED_CHUNK) {
        const plaintext = raw.open(buffer.subarray(at, Math.min(at + SEALED_CHUNK, bytesRead)));
        bytes += plaintext.length;
        release([plaintext], io);
      }
    }
  } finally {
    await source.close();
  }
  return bytes;
}

/** noble's bare cipher over `totalBytes` of `block` (cycled), 64 KiB chunks. */
function rawNobleInMemory(block: Uint8Array, totalBytes: number, io: IoOptions): void {
  const key = new Uint8Array(randomBytes(32));
  const ad = new Uint8Array(randomBytes(AD_LENGTH));
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  for (let done = 0, i = 0; done < totalBytes; done += RAW_CHUNK, i++) {
    view.setUint32(7, i, false);
    const start = done % block.length;
    release([chacha20poly1305(key, nonce, ad).encrypt(block.subarray(start, start + RAW_CHUNK))], io);
  }
}

// ── The SDK, in memory ──────────────────────────────────────────────────────────────────────────

const MEMORY_BLOCK = 16 * MiB;

/** A ReadableStream of `totalBytes` bytes: 1 MiB views cycling over `block`, no allocation, no I/O. */
function memorySource(block: Uint8Array, totalBytes: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= totalBytes) return controller.close();
        const start = offset % block.length;
        const piece = block.subarray(start, Math.min(start + READ_SIZE, block.length, start + totalBytes - offset));
        offset += piece.length;
        controller.enqueue(piece);
      },
    },
    { highWaterMark: READ_AHEAD },
  );
}

/** In memory: `totalBytes` of plaintext → sealStream → counting sink. */
async function sealInMemory(
  block: Uint8Array,
  totalBytes: number,
  key: Uint8Array,
  backend: CipherBackend,
  io: IoOptions,
) {
  const counter = { bytes: 0 };
  await memorySource(block, totalBytes)
    .pipeThrough(sealStream({ key, context: BENCH_CONTEXT, backend }))
    .pipeTo(countingSink(counter, io));
}

/** In memory: opens `envelope` (of `block`) through openStream until `totalBytes` of plaintext came out. */
async function openInMemory(
  envelope: Uint8Array,
  block: Uint8Array,
  totalBytes: number,
  key: Uint8Array,
  backend: CipherBackend,
  io: IoOptions,
) {
  for (let opened = 0; opened < totalBytes; opened += block.length) {
    const counter = { bytes: 0 };
    await memorySource(envelope, envelope.length)
      .pipeThrough(openStream({ key, context: BENCH_CONTEXT, backend }))
      .pipeTo(countingSink(counter, io));
    if (counter.bytes !== block.length) throw new Error(`${backend.name}: opened ${counter.bytes} bytes in memory`);
  }
}

/** `execArgv` without tsx's own loader flags (`--require <tsx…>`, `--import=<tsx…>`, …). */
function withoutTsx(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] ?? "";
    const takesValue = ["--require", "-r", "--import", "--loader", "--experimental-loader"].includes(arg);
    const value = takesValue ? (execArgv[i + 1] ?? "") : arg;
    if (takesValue) i++;
    if (!value.includes("tsx")) out.push(...(takesValue ? [arg, value] : [arg]));
  }
  return out;
}

/** Runs bench/crypto-worker.ts in a fresh process; returns its peak RSS growth while sealing. */
async function sealRssInChild(
  input: string,
  output: string,
  key: Uint8Array,
  backend: CipherBackend,
  io: IoOptions,
): Promise<number> {
  const worker = fileURLToPath(new URL("./crypto-worker.ts", import.meta.url));
  // The worker is TypeScript importing ".js" paths: load it through tsx, whoever started us.
  const tsx = import.meta.resolve("tsx/esm");
  const args = [
    ...withoutTsx(process.execArgv),
    "--import",
    tsx,
    "--expose-gc",
    worker,
    JSON.stringify({ input, output, key: Buffer.from(key).toString("hex"), backend: backend.name, ...io }),
  ];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1024 * 1024 });
  const report = JSON.parse(stdout) as { rssGrowthMiB: number };
  return report.rssGrowthMiB;
}

/**
 * Seals and opens a generated `sizeMiB` MiB file and the same number of bytes in memory, with both
 * backends, next to the bare cipher doing the same work; returns MB/s (MB = 10^6 bytes), medians of
 * alternating rounds, and the peak RSS growth while sealing. Temporary files live in os.tmpdir()
 * and are removed afterwards.
 *
 * @example
 * ```ts
 * import { benchCrypto } from "./bench/crypto.ts";
 * console.log(await benchCrypto({ sizeMiB: 256, onFigures: (f) => console.log(f) }));
 * ```
 */
export async function benchCrypto(opts: CryptoBenchOptions): Promise<CryptoBenchResult> {
  const { sizeMiB, repeats = 5, nobleRepeats = 3, releaseWrittenBuffers = true, onFigures } = opts;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new RangeError("sizeMiB must be a positive integer");
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError("repeats must be a positive integer");
  if (!Number.isInteger(nobleRepeats) || nobleRepeats < 1)
    throw new RangeError("nobleRepeats must be a positive integer");
  const io: IoOptions = { releaseWrittenBuffers };
  const fileBytes = sizeMiB * MiB;
  const memoryBytes = Math.ceil(fileBytes / MEMORY_BLOCK) * MEMORY_BLOCK;
  const bytesOf = (figure: Figure) =>
    figure.startsWith("mem") || (figure.startsWith("raw") && !figure.startsWith("rawFile")) ? memoryBytes : fileBytes;
  const dir = await mkdtemp(join(tmpdir(), "medledger-bench-"));
  try {
    const input = join(dir, "input.bin");
    const sealed = join(dir, "sealed.mlenv");
    const rawSealed = join(dir, "sealed.raw");
    const inputHash = await writeInputFile(input, fileBytes);
    await settle(input);
    const key = new Uint8Array(randomBytes(32));
    const block = new Uint8Array(randomBytes(MEMORY_BLOCK));

    const wall = new Map<Figure, number[]>();
    const cpu = new Map<Figure, number[]>();
    /** Runs `task` once and records its wall-clock and CPU milliseconds under `figure`. */
    const measure = async (figure: Figure, task: () => unknown): Promise<void> => {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      await task();
      const wallMs = performance.now() - start;
      const used = process.cpuUsage(cpuStart);
      wall.set(figure, [...(wall.get(figure) ?? []), wallMs]);
      cpu.set(figure, [...(cpu.get(figure) ?? []), (used.user + used.system) / 1000]);
    };
    const rate = (times: Map<Figure, number[]>, figure: Figure) =>
      mbps(bytesOf(figure), median(times.get(figure) ?? [Infinity]));
    /** Median over rounds of (SDK rate / raw rate) within each round. */
    const paired = (times: Map<Figure, number[]>, [sdk, raw]: readonly [Figure, Figure]) => {
      const sdkTimes = times.get(sdk) ?? [];
      const rawTimes = times.get(raw) ?? [];
      const ratios = sdkTimes.map((t, i) => bytesOf(sdk) / t / (bytesOf(raw) / (rawTimes[i] ?? NaN)));
      return round3(median(ratios));
    };
    const result: Partial<CryptoBenchResult> = {};
    const rates = (figures: readonly Figure[], ratioNames: readonly RatioName[]) => {
      const perCpu = { ...result.mbPerCpuSecond } as Record<Figure, number>;
      for (const figure of figures) perCpu[figure] = rate(cpu, figure);
      result.mbPerCpuSecond = perCpu;
      const ratios = { ...result.ratios } as Record<RatioName, number>;
      const cpuRatios = { ...result.ratiosPerCpuSecond } as Record<RatioName, number>;
      for (const name of ratioNames) {
        ratios[name] = paired(wall, TWINS[name]);
        cpuRatios[name] = paired(cpu, TWINS[name]);
      }
      result.ratios = ratios;
      result.ratiosPerCpuSecond = cpuRatios;
      return (figure: Figure) => rate(wall, figure);
    };

    // node:crypto: every SDK figure right after its raw twin, round after round.
    const raw = new RawNode();
    const rawSealedMemory = rawSealedBlock(raw, block);
    const envelope = await sealBytes(block, { key, context: BENCH_CONTEXT, backend: nodeCryptoBackend });
    // Warm-up, untimed: every code path once, so no figure pays for the JIT.
    rawSealInMemory(raw, block, MEMORY_BLOCK, io);
    rawOpenInMemory(raw, rawSealedMemory, MEMORY_BLOCK, io);
    await sealInMemory(block, MEMORY_BLOCK, key, nodeCryptoBackend, io);
    await openInMemory(envelope, block, MEMORY_BLOCK, key, nodeCryptoBackend, io);
    for (let round = 0; round < repeats; round++) {
      await measure("rawNode", () => rawSealInMemory(raw, block, memoryBytes, io));
      await measure("memSealNode", () => sealInMemory(block, memoryBytes, key, nodeCryptoBackend, io));
      await measure("rawOpenNode", () => rawOpenInMemory(raw, rawSealedMemory, memoryBytes, io));
      await measure("memOpenNode", () => openInMemory(envelope, block, memoryBytes, key, nodeCryptoBackend, io));
      await rm(rawSealed, { force: true }); // free the previous output's pages outside the measurement
      await measure("rawFileNode", () => rawSealFile(raw, input, rawSealed, io));
      await settle(rawSealed);
      await rm(sealed, { force: true });
      await measure("sealNode", () => sealFile(input, sealed, key, nodeCryptoBackend, io));
      await settle(sealed);
      if (round === 0) await verify(sealed, key, inputHash);
      await measure("rawFileOpenNode", async () => {
        const bytes = await rawOpenFile(raw, rawSealed, io);
        if (bytes !== fileBytes) throw new Error(`raw: opened ${bytes} bytes, expected ${fileBytes}`);
      });
      await measure("openNode", () => checkedOpen(sealed, key, nodeCryptoBackend, io, fileBytes));
    }
    const node = rates(NODE_FIGURES, ["memSealNode", "memOpenNode", "sealNode", "openNode"]);
    Object.assign(result, {
      sealMBpsNode: node("sealNode"),
      openMBpsNode: node("openNode"),
      rawMBpsNode: node("rawNode"),
      rawOpenMBpsNode: node("rawOpenNode"),
      rawFileMBpsNode: node("rawFileNode"),
      rawFileOpenMBpsNode: node("rawFileOpenNode"),
      memSealMBpsNode: node("memSealNode"),
      memOpenMBpsNode: node("memOpenNode"),
    });
    await onFigures?.(ordered(result));

    const rssNode = await sealRssInChild(input, sealed, key, nodeCryptoBackend, io);
    await rm(sealed, { force: true });
    const rssNoble = await sealRssInChild(input, sealed, key, nobleBackend, io);
    Object.assign(result, {
      sealPeakRssGrowthMiB: round1(Math.max(rssNode, rssNoble)),
      sealPeakRssGrowthMiBNode: round1(rssNode),
      sealPeakRssGrowthMiBNoble: round1(rssNoble),
    });
    await onFigures?.(ordered(result));

    const nobleEnvelope = await sealBytes(block, { key, context: BENCH_CONTEXT, backend: nobleBackend });
    rawNobleInMemory(block, MEMORY_BLOCK, io);
    await sealInMemory(block, MEMORY_BLOCK, key, nobleBackend, io);
    await openInMemory(nobleEnvelope, block, MEMORY_BLOCK, key, nobleBackend, io);
    for (let round = 0; round < nobleRepeats; round++) {
      await measure("rawNoble", () => rawNobleInMemory(block, memoryBytes, io));
      await measure("memSealNoble", () => sealInMemory(block, memoryBytes, key, nobleBackend, io));
      await measure("memOpenNoble", () => openInMemory(nobleEnvelope, block, memoryBytes, key, nobleBackend, io));
      await rm(sealed, { force: true });
      await measure("sealNoble", () => sealFile(input, sealed, key, nobleBackend, io));
      await settle(sealed);
      if (round === 0) await verify(sealed, key, inputHash);
      await measure("openNoble", () => checkedOpen(sealed, key, nobleBackend, io, fileBytes));
    }
    const noble = rates(NOBLE_FIGURES, ["memSealNoble", "memOpenNoble", "sealNoble", "openNoble"]);
    Object.assign(result, {
      sealMBpsNoble: noble("sealNoble"),
      openMBpsNoble: noble("openNoble"),
      rawMBpsNoble: noble("rawNoble"),
    });
    const inMemory = {} as Record<MemoryFigure, number>;
    for (const figure of MEMORY_FIGURES) inMemory[figure] = rate(wall, figure);
    result.inMemoryMBps = inMemory;
    await onFigures?.(ordered(result));
    return ordered(result) as CryptoBenchResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Untimed: writes `path`'s dirty pages to disk, so every timed write starts with none pending.
 * Otherwise the SDK's write, which follows the raw one, inherits the raw file's dirty pages and
 * their writeback (at 1 GiB on a busy machine: 0.62 of raw before this, 0.73 after).
 */
async function settle(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** The figures in a reading order: the headline rates, then RSS, then the details. */
function ordered(result: Partial<CryptoBenchResult>): Partial<CryptoBenchResult> {
  const { mbPerCpuSecond, inMemoryMBps, ratios, ratiosPerCpuSecond, ...rest } = structuredClone(result);
  return { ...rest, ratios, ratiosPerCpuSecond, mbPerCpuSecond, inMemoryMBps };
}

/** Untimed: opens `sealed` (node:crypto) and checks the plaintext's SHA-256 against the input's. */
async function verify(sealed: string, key: Uint8Array, inputHash: string): Promise<void> {
  const hash = createHash("sha256");
  await openFile(sealed, key, nodeCryptoBackend, { releaseWrittenBuffers: false }, (chunk) => hash.update(chunk));
  if (hash.digest("hex") !== inputHash) throw new Error("opened content does not match the input");
}

async function checkedOpen(
  sealed: string,
  key: Uint8Array,
  backend: CipherBackend,
  io: IoOptions,
  expected: number,
): Promise<void> {
  const { bytes } = await openFile(sealed, key, backend, io);
  if (bytes !== expected) throw new Error(`${backend.name}: opened ${bytes} bytes, expected ${expected}`);
}

function argValue(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(name);
  const value = index >= 0 ? Number(argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const argv = process.argv.slice(2);
  const sizeMiB = argValue(argv, "--size-mib", 256);
  const repeats = argValue(argv, "--repeats", 5);
  const nobleRepeats = argValue(argv, "--noble-repeats", 3);
  const releaseWrittenBuffers = !argv.includes("--no-release");
  const result = await benchCrypto({ sizeMiB, repeats, nobleRepeats, releaseWrittenBuffers });
  console.log(
    JSON.stringify(
      {
        sizeMiB,
        repeats,
        nobleRepeats,
        releaseWrittenBuffers,
        unit: "MB/s (MB = 1e6 bytes), median of alternating rounds; mbPerCpuSecond: MB per CPU-second",
        ...result,
      },
      null,
      2,
    ),
  );
}
