/**
 * Envelope throughput and memory benchmark (not a test).
 *
 *   npx tsx bench/crypto.ts --size-mib 256 [--repeats 3] [--no-release]     # prints JSON
 *
 * Run it with tsx (installed with Hardhat), not `node bench/crypto.ts`: Node's built-in type
 * stripping does not map the SDK's `.js` import specifiers to its `.ts` files. The bench files use
 * only erasable TypeScript syntax.
 *
 * On one generated pseudo-random file of `sizeMiB` MiB in os.tmpdir() (set TMPDIR to move it), for
 * each backend (node:crypto, noble):
 * - seal: file → sealStream → file; MB/s of plaintext (MB = 10^6 bytes);
 * - open: sealed file → openStream → counting sink; MB/s of plaintext. After every seal, an
 *   untimed open hashes the output (SHA-256) and checks it against the input's hash;
 * - raw:  the bare cipher over the same number of bytes in 64 KiB chunks with a 159-byte AD (the
 *   envelope's AD size): node:crypto `createCipheriv("chacha20-poly1305")` per chunk with a prepared
 *   KeyObject (its fastest use), and @noble/ciphers `chacha20poly1305(...).encrypt`. The input is one
 *   hot 64 KiB buffer and there is no I/O, so raw is an upper bound;
 * - in memory: the same seal and open with no disk I/O (a 16 MiB random block cycled through the
 *   stream, counting sink), to separate the SDK's own cost from the filesystem's;
 * - sealPeakRssGrowthMiB: peak RSS growth while sealing, measured in a fresh child process
 *   (bench/crypto-worker.ts, `--expose-gc`): baseline RSS right before the seal (after a GC), then
 *   sampled every 2 ms and every 8 sink writes; the larger of the two backends (each is reported too).
 *
 * Every figure is the best of `repeats` runs (raw and stream runs interleaved), which filters out
 * noise from other processes on a shared machine; each run is a full pass over the file. The same
 * rates per CPU-second of the process (`mbPerCpuSecond`) are reported too: on a loaded machine they
 * are the steadier measure of the SDK's own cost.
 *
 * The harness is a careful but ordinary consumer: 1 MiB reads into recycled buffers with 2 MiB of
 * read-ahead; sealed pieces batched into ~1 MiB `writev` calls. With `releaseWrittenBuffers` (the
 * default; `--no-release` turns it off) the sinks detach each buffer they have written
 * (`ArrayBuffer.prototype.transfer(0)`) so its memory is freed at once instead of at V8's next GC:
 * without it, V8 lets ~64 MiB of dead ArrayBuffers pile up between collections (its external
 * memory soft limit), which shows up in RSS and costs throughput, whatever produced the buffers.
 * The raw loops release their outputs the same way, so raw and stream figures stay comparable.
 * (@noble/ciphers' Poly1305 also copies every chunk internally; that garbage cannot be released,
 * so noble's RSS growth still depends on when V8 collects.)
 *
 * Targets: node seal/open ≥ 70 % of raw node:crypto, noble seal/open ≥ 80 % of raw noble, RSS growth
 * ≤ 64 MiB while sealing 1 GiB.
 */
import { execFile } from "node:child_process";
import { createCipheriv, createHash, createSecretKey, randomBytes } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

import { nobleBackend, nodeCryptoBackend, openStream, sealBytes, sealStream } from "../sdk/crypto/index.js";
import type { CipherBackend, EnvelopeContext } from "../sdk/crypto/index.js";

export interface CryptoBenchResult {
  sealMBpsNode: number;
  openMBpsNode: number;
  rawMBpsNode: number;
  sealMBpsNoble: number;
  openMBpsNoble: number;
  rawMBpsNoble: number;
  sealPeakRssGrowthMiB: number;
  /** The same, per backend (sealPeakRssGrowthMiB is the larger). */
  sealPeakRssGrowthMiBNode: number;
  sealPeakRssGrowthMiBNoble: number;
  /**
   * The six rates per CPU-second of this process (all threads: main, libuv I/O, GC) rather than per
   * wall-clock second: steadier on a shared machine, where other processes take CPU time.
   */
  mbPerCpuSecond: Record<Figure, number>;
  /**
   * Seal and open without disk I/O (memory → stream → counting sink), wall-clock MB/s: the SDK's
   * own cost, Web Streams included (its CPU-second rates are in mbPerCpuSecond.mem*).
   */
  inMemoryMBps: Record<MemoryFigure, number>;
}

const MEMORY_FIGURES = ["memSealNode", "memOpenNode", "memSealNoble", "memOpenNoble"] as const;
type MemoryFigure = (typeof MEMORY_FIGURES)[number];
const FIGURES = ["sealNode", "openNode", "rawNode", "sealNoble", "openNoble", "rawNoble", ...MEMORY_FIGURES] as const;
type Figure = (typeof FIGURES)[number];

export interface CryptoBenchOptions {
  /** Size of the generated file in MiB. */
  sizeMiB: number;
  /** Runs per figure; the best is reported. Default 3. */
  repeats?: number;
  /** Sinks free written buffers at once (see the module doc). Default true. */
  releaseWrittenBuffers?: boolean;
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
 * A ReadableStream over a file: 1 MiB reads into a pool of recycled buffers, 2 MiB read-ahead.
 * Recycling is safe: the envelope transforms never keep a reference to an input chunk after
 * processing it (they copy the partial chunk they hold back), and the output's SHA-256 is checked.
 */
export function fileSource(handle: FileHandle): ReadableStream<Uint8Array> {
  const pool = Array.from({ length: READ_POOL }, () => new Uint8Array(READ_SIZE));
  let next = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const buffer = pool[next++ % READ_POOL] ?? new Uint8Array(READ_SIZE);
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

function mbps(bytes: number, ms: number): number {
  return round1(bytes / 1e6 / (ms / 1000));
}

function rawNode(totalBytes: number, io: IoOptions): void {
  const key = createSecretKey(randomBytes(32));
  const chunk = randomBytes(RAW_CHUNK);
  const ad = randomBytes(AD_LENGTH);
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  const options = { authTagLength: 16 } as const;
  for (let done = 0, i = 0; done < totalBytes; done += RAW_CHUNK, i++) {
    view.setUint32(7, i, false);
    const cipher = createCipheriv("chacha20-poly1305", key, nonce, options);
    cipher.setAAD(ad, { plaintextLength: RAW_CHUNK });
    const ciphertext = cipher.update(chunk);
    cipher.final();
    release([ciphertext, cipher.getAuthTag()], io);
  }
}

function rawNoble(totalBytes: number, io: IoOptions): void {
  const key = new Uint8Array(randomBytes(32));
  const chunk = new Uint8Array(randomBytes(RAW_CHUNK));
  const ad = new Uint8Array(randomBytes(AD_LENGTH));
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  for (let done = 0, i = 0; done < totalBytes; done += RAW_CHUNK, i++) {
    view.setUint32(7, i, false);
    release([chacha20poly1305(key, nonce, ad).encrypt(chunk)], io);
  }
}

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
    ...process.execArgv.filter((a) => !a.includes("tsx")),
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
 * Seals and opens a generated `sizeMiB` MiB file with both backends, streaming file to file;
 * returns MB/s (MB = 10^6 bytes) and the peak RSS growth while sealing. Temporary files live in
 * os.tmpdir() and are removed afterwards.
 *
 * @example
 * ```ts
 * import { benchCrypto } from "./bench/crypto.ts";
 * console.log(await benchCrypto({ sizeMiB: 256 }));
 * ```
 */
export async function benchCrypto(opts: CryptoBenchOptions): Promise<CryptoBenchResult> {
  const { sizeMiB, repeats = 3, releaseWrittenBuffers = true } = opts;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new RangeError("sizeMiB must be a positive integer");
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError("repeats must be a positive integer");
  const io: IoOptions = { releaseWrittenBuffers };
  const totalBytes = sizeMiB * MiB;
  const dir = await mkdtemp(join(tmpdir(), "medledger-bench-"));
  try {
    const input = join(dir, "input.bin");
    const sealed = join(dir, "sealed.mlenv");
    const inputHash = await writeInputFile(input, totalBytes);
    const key = new Uint8Array(randomBytes(32));

    const rssNode = await sealRssInChild(input, sealed, key, nodeCryptoBackend, io);
    await rm(sealed, { force: true });
    const rssNoble = await sealRssInChild(input, sealed, key, nobleBackend, io);

    const wall = new Map<Figure, number>();
    const cpu = new Map<Figure, number>();
    /** Runs `task`; keeps the best wall-clock and the best CPU time of `figure`. */
    const measure = async (figure: Figure, task: () => unknown): Promise<void> => {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      await task();
      const wallMs = performance.now() - start;
      const used = process.cpuUsage(cpuStart);
      wall.set(figure, Math.min(wall.get(figure) ?? Infinity, wallMs));
      cpu.set(figure, Math.min(cpu.get(figure) ?? Infinity, (used.user + used.system) / 1000));
    };
    const block = new Uint8Array(randomBytes(MEMORY_BLOCK));
    const memoryBytes = Math.ceil(totalBytes / MEMORY_BLOCK) * MEMORY_BLOCK;
    const envelope = await sealBytes(block, { key, context: BENCH_CONTEXT });
    for (let round = 0; round < repeats; round++) {
      await measure("rawNode", () => rawNode(totalBytes, io));
      await rm(sealed, { force: true }); // free the previous output's pages outside the measurement
      await measure("sealNode", () => sealFile(input, sealed, key, nodeCryptoBackend, io));
      await verify(sealed, key, inputHash);
      await measure("openNode", () => checkedOpen(sealed, key, nodeCryptoBackend, io, totalBytes));
      await measure("rawNoble", () => rawNoble(totalBytes, io));
      await rm(sealed, { force: true });
      await measure("sealNoble", () => sealFile(input, sealed, key, nobleBackend, io));
      await verify(sealed, key, inputHash);
      await measure("openNoble", () => checkedOpen(sealed, key, nobleBackend, io, totalBytes));
      await measure("memSealNode", () => sealInMemory(block, memoryBytes, key, nodeCryptoBackend, io));
      await measure("memOpenNode", () => openInMemory(envelope, block, memoryBytes, key, nodeCryptoBackend, io));
      await measure("memSealNoble", () => sealInMemory(block, memoryBytes, key, nobleBackend, io));
      await measure("memOpenNoble", () => openInMemory(envelope, block, memoryBytes, key, nobleBackend, io));
    }
    const rate = (times: Map<Figure, number>, figure: Figure) =>
      mbps(figure.startsWith("mem") ? memoryBytes : totalBytes, times.get(figure) ?? Infinity);
    const perCpuSecond = {} as Record<Figure, number>;
    for (const figure of FIGURES) perCpuSecond[figure] = rate(cpu, figure);
    const inMemory = {} as Record<MemoryFigure, number>;
    for (const figure of MEMORY_FIGURES) inMemory[figure] = rate(wall, figure);
    return {
      sealMBpsNode: rate(wall, "sealNode"),
      openMBpsNode: rate(wall, "openNode"),
      rawMBpsNode: rate(wall, "rawNode"),
      sealMBpsNoble: rate(wall, "sealNoble"),
      openMBpsNoble: rate(wall, "openNoble"),
      rawMBpsNoble: rate(wall, "rawNoble"),
      sealPeakRssGrowthMiB: round1(Math.max(rssNode, rssNoble)),
      sealPeakRssGrowthMiBNode: round1(rssNode),
      sealPeakRssGrowthMiBNoble: round1(rssNoble),
      mbPerCpuSecond: perCpuSecond,
      inMemoryMBps: inMemory,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
  const repeats = argValue(argv, "--repeats", 3);
  const releaseWrittenBuffers = !argv.includes("--no-release");
  const result = await benchCrypto({ sizeMiB, repeats, releaseWrittenBuffers });
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  const cpu = result.mbPerCpuSecond;
  console.log(
    JSON.stringify(
      {
        sizeMiB,
        repeats,
        releaseWrittenBuffers,
        unit: "MB/s (MB = 1e6 bytes), best of repeats; mbPerCpuSecond: MB per CPU-second",
        ...result,
        ratios: {
          wallClock: {
            sealNodeVsRaw: ratio(result.sealMBpsNode, result.rawMBpsNode),
            openNodeVsRaw: ratio(result.openMBpsNode, result.rawMBpsNode),
            sealNobleVsRaw: ratio(result.sealMBpsNoble, result.rawMBpsNoble),
            openNobleVsRaw: ratio(result.openMBpsNoble, result.rawMBpsNoble),
          },
          perCpuSecond: {
            sealNodeVsRaw: ratio(cpu.sealNode, cpu.rawNode),
            openNodeVsRaw: ratio(cpu.openNode, cpu.rawNode),
            sealNobleVsRaw: ratio(cpu.sealNoble, cpu.rawNoble),
            openNobleVsRaw: ratio(cpu.openNoble, cpu.rawNoble),
            memSealNodeVsRaw: ratio(cpu.memSealNode, cpu.rawNode),
            memOpenNodeVsRaw: ratio(cpu.memOpenNode, cpu.rawNode),
            memSealNobleVsRaw: ratio(cpu.memSealNoble, cpu.rawNoble),
            memOpenNobleVsRaw: ratio(cpu.memOpenNoble, cpu.rawNoble),
          },
        },
      },
      null,
      2,
    ),
  );
}
