import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { expect } from "chai";
import fc from "fast-check";

import {
  DecryptionError,
  IntegrityError,
  InvalidInputError,
  MedLedgerError,
  UnsupportedFormatError,
} from "../../../sdk/errors.js";
import {
  DEFAULT_CHUNK_SIZE,
  ENVELOPE_HEADER_LENGTH,
  ENVELOPE_MAGIC,
  envelopeSize,
  generateDataKey,
  nobleBackend,
  nodeCryptoBackend,
  openBytes,
  openStream,
  parseEnvelopeHeader,
  sealBytes,
  sealStream,
} from "../../../sdk/crypto/index.js";
import type { CipherBackend, EnvelopeContext, OpenOptions, SealOptions } from "../../../sdk/crypto/index.js";
import {
  KAT_CONTEXT,
  KAT_KEY,
  concatAll,
  contextWith,
  fromHex,
  hex,
  pattern,
  pump,
  seededRandom,
  sha256Hex,
  split,
} from "./helpers.js";

const BACKENDS: readonly CipherBackend[] = [nodeCryptoBackend, nobleBackend];
const CS = 1024; // chunk size used by most tests
const SEALED_CS = CS + 16;
const H = ENVELOPE_HEADER_LENGTH;

/**
 * The envelope KAT: fixed key, context, randomness, plaintext and a 1 KiB chunk size. The hash
 * pins the format: if it changes, old envelopes no longer open — bump the version instead.
 */
const KAT = {
  plaintext: pattern(2500),
  chunkSize: 1024,
  seed: "medledger envelope KAT",
  length: 2591,
  sha256: "fc870503cdffe0bf4e59da259543102912f5c21168cf89f435150e7eda9a391c",
  header: "4d4c454e5601010000040075f4eaf69ae03e523e95440f2b48356e8ab814b784fdc78ab3f34352e7c0ff45",
};

function katOptions(backend?: CipherBackend): SealOptions {
  return {
    key: KAT_KEY,
    context: KAT_CONTEXT,
    chunkSize: KAT.chunkSize,
    random: seededRandom(KAT.seed),
    ...(backend === undefined ? {} : { backend }),
  };
}

/**
 * An independent implementation of the documented v1 format from raw @noble primitives: if the
 * SDK and this disagree, one of them does not follow the format comment in envelope.ts.
 */
function referenceSeal(
  plaintext: Uint8Array,
  key: Uint8Array,
  ctx: EnvelopeContext,
  chunkSize: number,
  salt: Uint8Array,
): Uint8Array {
  const header = new Uint8Array(43);
  header.set(new TextEncoder().encode("MLENV"), 0);
  header[5] = 1;
  header[6] = 1;
  new DataView(header.buffer).setUint32(7, chunkSize, false);
  header.set(salt, 11);
  const chunkKey = hkdf(sha256, key, salt, new TextEncoder().encode("medledger/envelope/v1/chunk-key"), 32);
  const chainId = fromHex(ctx.chainId.toString(16).padStart(64, "0"));
  const ad = concatAll([header, ctx.recordId, ctx.subjectId, chainId, fromHex(ctx.registry.toLowerCase())]);
  expect(ad.length).to.equal(159);
  const count = Math.max(1, Math.ceil(plaintext.length / chunkSize));
  const parts: Uint8Array[] = [header];
  for (let i = 0; i < count; i++) {
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setBigUint64(3, BigInt(i), false); // bytes 3..10; bytes 0..2 zero
    nonce[11] = i === count - 1 ? 1 : 0;
    parts.push(chacha20poly1305(chunkKey, nonce, ad).encrypt(plaintext.subarray(i * chunkSize, (i + 1) * chunkSize)));
  }
  return concatAll(parts);
}

function flip(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] ?? 0) ^ mask;
  return out;
}

async function openError(envelope: Uint8Array, opts: OpenOptions): Promise<unknown> {
  try {
    const plaintext = await openBytes(envelope, opts);
    return new Error(`opened ${plaintext.length} bytes from a bad envelope`);
  } catch (err) {
    return err;
  }
}

function isOpenFailure(err: unknown): boolean {
  return err instanceof DecryptionError || err instanceof IntegrityError || err instanceof UnsupportedFormatError;
}

async function sealVia(plaintext: Uint8Array, opts: SealOptions, pieces: readonly number[]): Promise<Uint8Array> {
  const { output, error } = await pump(sealStream(opts), split(plaintext, pieces));
  if (error !== undefined) throw error instanceof Error ? error : new Error("sealStream failed", { cause: error });
  return concatAll(output);
}

describe("sdk/crypto/envelope", () => {
  describe("known-answer vector", () => {
    it("seals to the pinned bytes (sha256) with a 43-byte header", async () => {
      const envelope = await sealBytes(KAT.plaintext, katOptions());
      expect(envelope.length).to.equal(KAT.length);
      expect(sha256Hex(envelope)).to.equal(KAT.sha256);
      expect(hex(envelope.subarray(0, H))).to.equal(KAT.header);
      expect(new TextDecoder().decode(envelope.subarray(0, 5))).to.equal(ENVELOPE_MAGIC);
    });

    it("equals an independent implementation of the documented format", () => {
      const salt = seededRandom(KAT.seed)(32);
      const reference = referenceSeal(KAT.plaintext, KAT_KEY, KAT_CONTEXT, KAT.chunkSize, salt);
      expect(sha256Hex(reference)).to.equal(KAT.sha256);
    });

    for (const backend of BACKENDS) {
      it(`${backend.name}: bytes and stream APIs produce the KAT and open it`, async () => {
        const viaBytes = await sealBytes(KAT.plaintext, katOptions(backend));
        const viaStream = await sealVia(KAT.plaintext, katOptions(backend), [7, 1000, 1]);
        expect(sha256Hex(viaBytes)).to.equal(KAT.sha256);
        expect(sha256Hex(viaStream)).to.equal(KAT.sha256);
        const opened = await openBytes(viaBytes, { key: KAT_KEY, context: KAT_CONTEXT, backend });
        expect(hex(opened)).to.equal(hex(KAT.plaintext));
      });
    }
  });

  describe("format", () => {
    it("parses the header", async () => {
      const envelope = await sealBytes(KAT.plaintext, katOptions());
      const header = parseEnvelopeHeader(envelope);
      expect(header).to.deep.include({ version: 1, algorithm: 1, chunkSize: 1024, headerLength: 43 });
      expect(hex(header.salt)).to.equal(hex(seededRandom(KAT.seed)(32)));
      expect(parseEnvelopeHeader(envelope.subarray(0, H)).chunkSize).to.equal(1024);
    });

    it("rejects a bad magic, version or algorithm (UnsupportedFormatError) and a bad chunk size (IntegrityError)", async () => {
      const envelope = await sealBytes(KAT.plaintext, katOptions());
      expect(() => parseEnvelopeHeader(flip(envelope, 0))).to.throw(UnsupportedFormatError, /magic/);
      expect(() => parseEnvelopeHeader(flip(envelope, 5, 0x03))).to.throw(UnsupportedFormatError, /version 2/);
      expect(() => parseEnvelopeHeader(flip(envelope, 6, 0x03))).to.throw(UnsupportedFormatError, /algorithm 2/);
      const small = envelope.slice();
      new DataView(small.buffer).setUint32(7, 1023, false);
      expect(() => parseEnvelopeHeader(small)).to.throw(IntegrityError, /chunk size/);
      const big = envelope.slice();
      new DataView(big.buffer).setUint32(7, 16 * 1024 * 1024 + 1, false);
      expect(() => parseEnvelopeHeader(big)).to.throw(IntegrityError, /chunk size/);
      expect(() => parseEnvelopeHeader(envelope.subarray(0, 42))).to.throw(IntegrityError, /truncated/);
      expect(() => parseEnvelopeHeader(new TextEncoder().encode('{"resourceType"'))).to.throw(UnsupportedFormatError);
    });

    it("lays out k·chunkSize bytes as k chunks, the last one full and final", async () => {
      const plaintext = pattern(2 * CS);
      const opts: SealOptions = { key: KAT_KEY, context: KAT_CONTEXT, chunkSize: CS, random: seededRandom("2cs") };
      const envelope = await sealBytes(plaintext, opts);
      expect(envelope.length).to.equal(H + 2 * SEALED_CS);
      const reference = referenceSeal(plaintext, KAT_KEY, KAT_CONTEXT, CS, seededRandom("2cs")(32));
      expect(hex(envelope)).to.equal(hex(reference));
      expect(hex(await openBytes(envelope, { key: KAT_KEY, context: KAT_CONTEXT }))).to.equal(hex(plaintext));
    });

    it("seals the empty plaintext as one empty final chunk", async () => {
      const opts: SealOptions = { key: KAT_KEY, context: KAT_CONTEXT, random: seededRandom("empty") };
      const envelope = await sealBytes(new Uint8Array(0), opts);
      expect(envelope.length).to.equal(H + 16);
      expect(hex(envelope)).to.equal(
        hex(referenceSeal(new Uint8Array(0), KAT_KEY, KAT_CONTEXT, DEFAULT_CHUNK_SIZE, seededRandom("empty")(32))),
      );
      expect((await openBytes(envelope, { key: KAT_KEY, context: KAT_CONTEXT })).length).to.equal(0);
    });

    it("envelopeSize matches the sealed length", async () => {
      for (const length of [0, 1, CS - 1, CS, CS + 1, 2 * CS, 5 * CS + 3]) {
        const envelope = await sealBytes(pattern(length), { key: KAT_KEY, context: KAT_CONTEXT, chunkSize: CS });
        expect(envelope.length, `length ${length}`).to.equal(envelopeSize(length, CS));
      }
      expect(envelopeSize(0)).to.equal(59);
      expect(envelopeSize(DEFAULT_CHUNK_SIZE + 1)).to.equal(43 + DEFAULT_CHUNK_SIZE + 1 + 32);
    });

    it("uses a fresh salt, so sealing twice with one key never repeats a ciphertext", async () => {
      const key = generateDataKey();
      const a = await sealBytes(pattern(100), { key, context: KAT_CONTEXT });
      const b = await sealBytes(pattern(100), { key, context: KAT_CONTEXT });
      expect(hex(a.subarray(11, 43))).not.to.equal(hex(b.subarray(11, 43)));
      expect(hex(a.subarray(H))).not.to.equal(hex(b.subarray(H)));
    });

    it("treats the registry address case-insensitively", async () => {
      const envelope = await sealBytes(pattern(10), { key: KAT_KEY, context: KAT_CONTEXT });
      const lower = contextWith({ registry: KAT_CONTEXT.registry.toLowerCase() });
      expect(hex(await openBytes(envelope, { key: KAT_KEY, context: lower }))).to.equal(hex(pattern(10)));
    });
  });

  describe("input validation", () => {
    const good: SealOptions = { key: KAT_KEY, context: KAT_CONTEXT };

    it("names the expected length of keys and ids", async () => {
      for (const [opts, message] of [
        [{ ...good, key: new Uint8Array(31) }, "key must be 32 bytes"],
        [{ ...good, key: "00".repeat(32) as unknown as Uint8Array }, "key must be a 32-byte Uint8Array"],
        [{ ...good, context: contextWith({ recordId: new Uint8Array(33) }) }, "context.recordId must be 32 bytes"],
        [{ ...good, context: contextWith({ subjectId: new Uint8Array(0) }) }, "context.subjectId must be 32 bytes"],
      ] as const) {
        expect(() => sealStream(opts))
          .to.throw(InvalidInputError)
          .with.property("shortMessage", message);
        const err = await sealBytes(pattern(1), opts).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(InvalidInputError).with.property("shortMessage", message);
      }
    });

    it("checks chainId, registry, chunk size, backend and the random source", () => {
      const bad: Partial<SealOptions>[] = [
        { context: contextWith({ chainId: 0n }) },
        { context: contextWith({ chainId: -1n }) },
        { context: contextWith({ chainId: 1n << 256n }) },
        { context: contextWith({ chainId: 1 as unknown as bigint }) },
        { context: contextWith({ registry: "0x1234" }) },
        { context: contextWith({ registry: "5FbDB2315678afecb367f032d93F642f64180aa3" }) },
        { context: contextWith({ registry: "0xZZbDB2315678afecb367f032d93F642f64180aa3" }) },
        { chunkSize: 1023 },
        { chunkSize: 16 * 1024 * 1024 + 1 },
        { chunkSize: 1024.5 },
        { backend: {} as CipherBackend },
        { random: () => new Uint8Array(31) },
      ];
      for (const override of bad) {
        expect(() => sealStream({ ...good, ...override }), JSON.stringify(Object.keys(override))).to.throw(
          InvalidInputError,
        );
      }
      expect(() => openStream({ key: new Uint8Array(16), context: KAT_CONTEXT })).to.throw(
        InvalidInputError,
        /32 bytes/,
      );
      expect(() => sealStream({ ...good, chunkSize: 1024 })).not.to.throw();
      expect(() => sealStream({ ...good, chunkSize: 16 * 1024 * 1024 })).not.to.throw();
    });

    it("errors a stream written with something other than bytes", async () => {
      const { error } = await pump(sealStream(good), ["text" as unknown as Uint8Array]);
      expect(error).to.be.instanceOf(InvalidInputError);
    });
  });

  describe("backends", () => {
    for (const length of [0, 1, CS - 1, CS, CS + 1, 2 * CS, 2 * CS + 1, 5 * CS + 7]) {
      it(`node:crypto and noble seal identical bytes and open each other's (${length} bytes)`, async () => {
        const plaintext = pattern(length, 31, 5);
        const opts = (backend: CipherBackend): SealOptions => ({
          key: KAT_KEY,
          context: KAT_CONTEXT,
          chunkSize: CS,
          backend,
          random: seededRandom(`cross ${length}`),
        });
        const byNode = await sealBytes(plaintext, opts(nodeCryptoBackend));
        const byNoble = await sealBytes(plaintext, opts(nobleBackend));
        expect(hex(byNode)).to.equal(hex(byNoble));
        const openOpts = (backend: CipherBackend): OpenOptions => ({ key: KAT_KEY, context: KAT_CONTEXT, backend });
        expect(hex(await openBytes(byNode, openOpts(nobleBackend)))).to.equal(hex(plaintext));
        expect(hex(await openBytes(byNoble, openOpts(nodeCryptoBackend)))).to.equal(hex(plaintext));
      });
    }
  });

  describe("streaming", () => {
    const plaintextSizes = [0, 1, CS - 1, CS, CS + 1, 2 * CS, 3 * CS - 1, 5 * CS];
    const pieceSets: readonly (readonly number[])[] = [
      [1],
      [CS - 1],
      [CS],
      [CS + 1],
      [1 << 24],
      [3, 5000, 1, 1024, 17],
    ];

    for (const size of plaintextSizes) {
      it(`seals and opens ${size} bytes identically to the bytes API for any write boundaries`, async () => {
        const plaintext = pattern(size, 13, 1);
        const opts = (): SealOptions => ({
          key: KAT_KEY,
          context: KAT_CONTEXT,
          chunkSize: CS,
          random: seededRandom(`stream ${size}`),
        });
        const expected = await sealBytes(plaintext, opts());
        for (const pieces of pieceSets) {
          const sealed = await sealVia(plaintext, opts(), pieces);
          expect(hex(sealed), `seal pieces ${pieces.join(",")}`).to.equal(hex(expected));
          const { output, error } = await pump(
            openStream({ key: KAT_KEY, context: KAT_CONTEXT }),
            split(expected, pieces),
          );
          expect(error, `open pieces ${pieces.join(",")}`).to.equal(undefined);
          expect(hex(concatAll(output))).to.equal(hex(plaintext));
          expect(output.every((piece) => piece.length > 0)).to.equal(true);
        }
      });
    }

    it("seals an empty stream (no writes at all) as the empty envelope", async () => {
      const opts = (): SealOptions => ({ key: KAT_KEY, context: KAT_CONTEXT, random: seededRandom("no writes") });
      const { output, error } = await pump(sealStream(opts()), []);
      expect(error).to.equal(undefined);
      expect(hex(concatAll(output))).to.equal(hex(await sealBytes(new Uint8Array(0), opts())));
    });

    it("emits sealed chunks and opened plaintext before the input ends (constant memory)", async () => {
      // Writes are not awaited (a write resolves only once its output is read); their promises are
      // tracked so a failure is reported instead of escaping as an unhandled rejection.
      const writes: Promise<void>[] = [];
      const track = (promise: Promise<void>) => {
        promise.catch(() => undefined);
        writes.push(promise);
      };
      /** Reads exactly `n` bytes (fails if the stream ends first). */
      const readBytes = async (reader: ReadableStreamDefaultReader<Uint8Array>, n: number) => {
        const pieces: Uint8Array[] = [];
        let received = 0;
        while (received < n) {
          const { value } = await reader.read();
          if (value === undefined) throw new Error(`stream ended after ${received} of ${n} bytes`);
          pieces.push(value);
          received += value.length;
        }
        expect(received).to.equal(n);
        return concatAll(pieces);
      };
      const readToEnd = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
        const pieces: Uint8Array[] = [];
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return concatAll(pieces);
          pieces.push(value);
        }
      };

      const seal = sealStream({ key: KAT_KEY, context: KAT_CONTEXT, chunkSize: CS });
      const sealWriter = seal.writable.getWriter();
      const sealReader = seal.readable.getReader();
      track(sealWriter.write(pattern(3 * CS + 1)));
      // Header and three full chunks come out while the input is still open; one byte is held back.
      const early = await readBytes(sealReader, H + 3 * SEALED_CS);
      track(sealWriter.close());
      const envelope = concatAll([early, await readToEnd(sealReader)]);
      expect(envelope.length).to.equal(envelopeSize(3 * CS + 1, CS));

      const open = openStream({ key: KAT_KEY, context: KAT_CONTEXT });
      const openWriter = open.writable.getWriter();
      const openReader = open.readable.getReader();
      track(openWriter.write(envelope.subarray(0, H + 2 * SEALED_CS + 1)));
      // Chunks 0 and 1 are verified and released before the rest of the envelope arrives.
      expect(hex(await readBytes(openReader, 2 * CS))).to.equal(hex(pattern(2 * CS)));
      track(openWriter.write(envelope.subarray(H + 2 * SEALED_CS + 1)));
      track(openWriter.close());
      expect(hex(await readToEnd(openReader))).to.equal(hex(pattern(3 * CS + 1).subarray(2 * CS)));
      await Promise.all(writes);
    });

    it("property: round trip for random sizes, chunk sizes, write boundaries and backends", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1024, max: 3000 }),
          fc.integer({ min: 0, max: 5 }),
          fc.integer({ min: -1, max: 1 }),
          fc.array(fc.integer({ min: 1, max: 7000 }), { minLength: 1, maxLength: 6 }),
          fc.array(fc.integer({ min: 1, max: 7000 }), { minLength: 1, maxLength: 6 }),
          fc.constantFrom(...BACKENDS),
          fc.constantFrom(...BACKENDS),
          fc.integer(),
          async (chunkSize, chunks, delta, sealPieces, openPieces, sealBackend, openBackend, seed) => {
            const size = Math.max(0, chunks * chunkSize + delta);
            const plaintext = pattern(size, (seed & 0xfe) | 1, seed & 0xff);
            const opts = (): SealOptions => ({
              key: KAT_KEY,
              context: KAT_CONTEXT,
              chunkSize,
              backend: sealBackend,
              random: seededRandom(String(seed)),
            });
            const sealed = await sealVia(plaintext, opts(), sealPieces);
            expect(hex(sealed)).to.equal(hex(await sealBytes(plaintext, opts())));
            expect(sealed.length).to.equal(envelopeSize(size, chunkSize));
            const { output, error } = await pump(
              openStream({ key: KAT_KEY, context: KAT_CONTEXT, backend: openBackend }),
              split(sealed, openPieces),
            );
            expect(error).to.equal(undefined);
            expect(hex(concatAll(output))).to.equal(hex(plaintext));
          },
        ),
        { numRuns: 120 },
      );
    });

    describe("as a transform stream under pipeThrough / pipeTo", () => {
      /** A source of `count` pieces (Infinity: endless) that records its pulls and its cancel reason. */
      const source = (piece: Uint8Array, count: number) => {
        const seen = { pulls: 0, cancelled: undefined as unknown };
        const stream = new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (seen.pulls++ >= count) controller.close();
              else controller.enqueue(piece);
            },
            cancel(reason) {
              seen.cancelled = reason;
            },
          },
          { highWaterMark: 0 },
        );
        return { stream, seen };
      };
      const ticks = async (n: number) => {
        for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
      };
      const opts = (): SealOptions => ({ key: KAT_KEY, context: KAT_CONTEXT, chunkSize: CS });

      it("round-trips through pipeThrough and pipeTo", async () => {
        const plaintext = pattern(3 * CS + 5);
        const { stream } = source(plaintext, 2);
        const out: Uint8Array[] = [];
        await stream
          .pipeThrough(sealStream(opts()))
          .pipeThrough(openStream(opts()))
          .pipeTo(new WritableStream({ write: (piece) => void out.push(piece) }));
        expect(hex(concatAll(out))).to.equal(hex(concatAll([plaintext, plaintext])));
      });

      it("a failing chunk errors the reader and the writer side, and cancels the source", async () => {
        const envelope = flip(await sealBytes(pattern(3 * CS), opts()), H + SEALED_CS + 7);
        const { stream, seen } = source(envelope, 1);
        const out: Uint8Array[] = [];
        const err = await stream
          .pipeThrough(openStream(opts()))
          .pipeTo(new WritableStream({ write: (piece) => void out.push(piece) }))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).to.be.instanceOf(DecryptionError);
        expect(concatAll(out).length).to.equal(CS); // the verified first chunk only
        await ticks(5);
        expect(seen.cancelled).to.equal(err);
      });

      it("a reader that cancels cancels the source with its reason", async () => {
        const { stream, seen } = source(pattern(CS), Infinity);
        const reader = stream.pipeThrough(sealStream(opts())).getReader();
        await reader.read();
        const reason = new Error("reader gave up");
        await reader.cancel(reason);
        await ticks(5);
        expect(seen.cancelled).to.equal(reason);
      });

      it("a source that errors errors the reader with the source's error", async () => {
        const failure = new Error("disk gone");
        let sent = false;
        const failing = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent) controller.error(failure);
            else controller.enqueue(pattern(2 * CS));
            sent = true;
          },
        });
        const reader = failing.pipeThrough(sealStream(opts())).getReader();
        const err = await (async () => {
          for (;;) if ((await reader.read()).done) return undefined;
        })().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.equal(failure);
      });

      it("does not read ahead of its reader (backpressure): one input chunk at a time", async () => {
        const { stream, seen } = source(pattern(CS), Infinity);
        const reader = stream.pipeThrough(sealStream(opts())).getReader();
        await ticks(20);
        const before = seen.pulls;
        expect(before).to.be.at.most(3);
        await reader.read(); // the header
        await ticks(20);
        expect(seen.pulls - before).to.be.at.most(2);
        await reader.cancel();
      });
    });
  });

  describe("tampering", () => {
    // 2500 bytes in 1 KiB chunks: header (43) | chunk 0 (1040) | chunk 1 (1040) | chunk 2 (468) = 2591 bytes
    let envelope: Uint8Array;
    const plaintext = KAT.plaintext;
    const opts: OpenOptions = { key: KAT_KEY, context: KAT_CONTEXT };
    const chunkStarts = [H, H + SEALED_CS, H + 2 * SEALED_CS];
    const chunkEnds = [H + SEALED_CS, H + 2 * SEALED_CS, KAT.length];

    before(async () => {
      envelope = await sealBytes(plaintext, katOptions());
    });

    it("every single-bit flip anywhere in the envelope fails to open (bytes API, node:crypto)", async () => {
      let checked = 0;
      for (let index = 0; index < envelope.length; index++) {
        for (let bit = 0; bit < 8; bit++) {
          const err = await openError(flip(envelope, index, 1 << bit), opts);
          if (!isOpenFailure(err)) expect.fail(`flip of byte ${index} bit ${bit}: ${String(err)}`);
          checked++;
        }
      }
      expect(checked).to.equal(KAT.length * 8);
    });

    it("header bit flips give the matching error class", async () => {
      for (let index = 0; index < H; index++) {
        for (let bit = 0; bit < 8; bit++) {
          const err = await openError(flip(envelope, index, 1 << bit), { ...opts, backend: nobleBackend });
          if (index < 7) expect(err, `byte ${index}`).to.be.instanceOf(UnsupportedFormatError);
          else if (index >= 11) expect(err, `byte ${index}`).to.be.instanceOf(DecryptionError);
          else expect(isOpenFailure(err), `byte ${index} bit ${bit}`).to.equal(true);
        }
      }
    });

    it("openStream never emits plaintext from a tampered chunk, only the verified prefix", async () => {
      const positions: number[] = [];
      for (let c = 0; c < 3; c++) {
        const start = chunkStarts[c] ?? 0;
        const end = chunkEnds[c] ?? 0;
        positions.push(start, start + 1, end - 17); // first ciphertext bytes, last ciphertext byte
        for (let t = end - 16; t < end; t++) positions.push(t); // every tag byte
      }
      for (const backend of BACKENDS) {
        for (const position of positions) {
          const chunk = chunkStarts.filter((start) => start <= position).length - 1;
          for (const pieces of [[1 << 20], [1], [SEALED_CS], [300, 7]]) {
            const { output, error } = await pump(
              openStream({ ...opts, backend }),
              split(flip(envelope, position, 0x80), pieces),
            );
            expect(error, `position ${position}`).to.be.instanceOf(DecryptionError);
            expect(hex(concatAll(output)), `position ${position}`).to.equal(hex(plaintext.subarray(0, chunk * CS)));
          }
        }
      }
    });

    it("every truncation fails; at a chunk boundary it is an IntegrityError (missing final chunk)", async () => {
      for (let length = 0; length < envelope.length; length++) {
        const err = await openError(envelope.subarray(0, length), opts);
        if (!isOpenFailure(err)) expect.fail(`truncated to ${length}: ${String(err)}`);
        if (length <= H || length === H + SEALED_CS || length === H + 2 * SEALED_CS) {
          expect(err, `length ${length}`).to.be.instanceOf(IntegrityError);
        }
      }
      const streamCases: [length: number, verifiedChunks: number][] = [
        [H + 5, 0],
        [H + 500, 0],
        [H + SEALED_CS, 0],
        [H + SEALED_CS + 100, 1],
        [H + 2 * SEALED_CS, 1],
      ];
      for (const [length, verifiedChunks] of streamCases) {
        const { output, error } = await pump(openStream(opts), split(envelope.subarray(0, length), [333]));
        expect(error, `length ${length}`).to.be.instanceOf(MedLedgerError);
        expect(hex(concatAll(output)), `length ${length}`).to.equal(hex(plaintext.subarray(0, verifiedChunks * CS)));
      }
    });

    it("dropping the final chunk is an IntegrityError", async () => {
      const dropped = envelope.subarray(0, chunkStarts[2]);
      expect(await openError(dropped, opts))
        .to.be.instanceOf(IntegrityError)
        .with.property("shortMessage")
        .match(/final chunk/);
      const { error } = await pump(openStream(opts), [dropped]);
      expect(error).to.be.instanceOf(IntegrityError);
    });

    it("appended bytes fail; after a full final chunk they are an IntegrityError (data after final chunk)", async () => {
      for (const extra of [new Uint8Array(1), new Uint8Array(16), envelope.slice(H, H + SEALED_CS)]) {
        const err = await openError(concatAll([envelope, extra]), opts);
        expect(isOpenFailure(err), `${extra.length} extra bytes`).to.equal(true);
      }
      const full = await sealBytes(pattern(2 * CS), { key: KAT_KEY, context: KAT_CONTEXT, chunkSize: CS });
      for (const extra of [new Uint8Array(1), full.slice(H, H + SEALED_CS)]) {
        const appended = concatAll([full, extra]);
        expect(await openError(appended, opts))
          .to.be.instanceOf(IntegrityError)
          .with.property("shortMessage")
          .match(/after/);
        const { output, error } = await pump(openStream(opts), split(appended, [100]));
        expect(error).to.be.instanceOf(IntegrityError);
        expect(hex(concatAll(output))).to.equal(hex(pattern(CS))); // chunk 0 only: the final one is withheld
      }
    });

    it("swapped or duplicated chunks fail", async () => {
      const c0 = envelope.slice(chunkStarts[0], chunkEnds[0]);
      const c1 = envelope.slice(chunkStarts[1], chunkEnds[1]);
      const c2 = envelope.slice(chunkStarts[2], chunkEnds[2]);
      const header = envelope.slice(0, H);
      for (const parts of [
        [header, c1, c0, c2],
        [header, c0, c0, c2],
        [header, c0, c2],
        [header, c2],
        [header, c0, c1, c1, c2],
      ]) {
        expect(isOpenFailure(await openError(concatAll(parts), opts))).to.equal(true);
      }
    });

    it("a chunk spliced from another record sealed with the same key and salt fails", async () => {
      const otherContext = contextWith({ recordId: pattern(32, 3, 9) });
      const other = await sealBytes(plaintext, { ...katOptions(), context: otherContext }); // same key, same salt
      expect(hex(other.subarray(0, H))).to.equal(hex(envelope.subarray(0, H)));
      const spliced = concatAll([
        envelope.subarray(0, chunkStarts[1]),
        other.subarray(chunkStarts[1], chunkEnds[1]),
        envelope.subarray(chunkStarts[2]),
      ]);
      expect(await openError(spliced, opts)).to.be.instanceOf(DecryptionError);
      expect(await openError(other, opts)).to.be.instanceOf(DecryptionError);
    });

    it("a wrong key or any wrong context field is a DecryptionError", async () => {
      const wrong: [string, OpenOptions][] = [
        ["key", { ...opts, key: flip(KAT_KEY, 31) }],
        ["recordId", { ...opts, context: contextWith({ recordId: flip(KAT_CONTEXT.recordId, 0) }) }],
        ["subjectId", { ...opts, context: contextWith({ subjectId: flip(KAT_CONTEXT.subjectId, 31) }) }],
        ["chainId", { ...opts, context: contextWith({ chainId: 31338n }) }],
        ["registry", { ...opts, context: contextWith({ registry: "0x5FbDB2315678afecb367f032d93F642f64180aa4" }) }],
      ];
      for (const [field, wrongOpts] of wrong) {
        for (const backend of BACKENDS) {
          expect(await openError(envelope, { ...wrongOpts, backend }), field).to.be.instanceOf(DecryptionError);
          const { output, error } = await pump(openStream({ ...wrongOpts, backend }), [envelope]);
          expect(error, field).to.be.instanceOf(DecryptionError);
          expect(output, field).to.deep.equal([]);
        }
      }
    });

    it("garbage and other formats are rejected before any decryption", async () => {
      expect(await openError(new TextEncoder().encode('{"resourceType":"Patient"}'), opts)).to.be.instanceOf(
        UnsupportedFormatError,
      );
      const { error } = await pump(openStream(opts), [new TextEncoder().encode("ML"), new TextEncoder().encode("X")]);
      expect(error).to.be.instanceOf(UnsupportedFormatError);
      expect(await openError(new Uint8Array(0), opts)).to.be.instanceOf(IntegrityError);
    });
  });
});
