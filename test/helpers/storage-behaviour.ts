/**
 * The shared behaviour suite every {@link BlobStore} adapter must pass (filesystem, memory, IPFS,
 * custom). Adapter-specific guarantees (on-disk layout, tampering on disk, pinning) live in each
 * adapter's own test file.
 *
 * @example
 * ```ts
 * import { memory } from "../../../sdk/storage/index.js";
 * import { shouldBehaveLikeBlobStore } from "../../helpers/storage-behaviour.js";
 * shouldBehaveLikeBlobStore("memory()", () => memory());
 * ```
 */
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

import { expect } from "chai";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";

import { InvalidInputError, NotFoundError, StorageError } from "../../sdk/errors.js";
import { isBlobAddress, sha256Address, type BlobAddress, type BlobStore } from "../../sdk/storage/index.js";

export interface BehaviourOptions {
  /**
   * Assert that the 100 MB round trip runs in constant memory (live ArrayBuffer memory, measured
   * after forced GCs, stays within {@link CONSTANT_MEMORY_BUDGET} of the start). Only for stores
   * that promise it (filesystem, custom with `stage` over disk).
   */
  constantMemory?: boolean;
  /** Run the 100 MB round trip (default true); off for configurations that only slow it down. */
  bigObject?: boolean;
}

/** How much live ArrayBuffer memory a "constant memory" 100 MB round trip may add. */
export const CONSTANT_MEMORY_BUDGET = 32 * 1024 * 1024;
const MiB = 1024 * 1024;

/** Runs the shared behaviour suite against stores made by `makeStore` (a fresh one per test). */
export function shouldBehaveLikeBlobStore(
  name: string,
  makeStore: () => BlobStore | Promise<BlobStore>,
  options: BehaviourOptions = {},
): void {
  describe(`${name} behaves like a BlobStore`, function () {
    let store: BlobStore;

    beforeEach(async function () {
      store = await makeStore();
    });

    afterEach(async function () {
      await store.close();
    });

    describe("round trips", function () {
      it("stores bytes and returns a well-formed address; getBytes and get return them", async function () {
        const data = randomBytes(10_000);
        const address = await store.put(data);
        expect(isBlobAddress(address)).to.equal(true);
        expect(await store.has(address)).to.equal(true);
        expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
        expect(Buffer.from(await readAll(await store.get(address))).equals(data)).to.equal(true);
      });

      it("accepts a ReadableStream and gives the same address as the bytes", async function () {
        const data = randomBytes(300_000);
        const fromBytes = await store.put(data);
        const fromStream = await store.put(webStream(chunksOf(data, [65_536])));
        expect(fromStream).to.equal(fromBytes);
        expect(Buffer.from(await store.getBytes(fromStream)).equals(data)).to.equal(true);
      });

      it("accepts an AsyncIterable with odd and empty chunks", async function () {
        const data = randomBytes(200_003);
        const expected = await store.put(data);
        await store.delete(expected);
        const address = await store.put(generate(chunksOf(data, [1, 0, 3, 7, 0, 1000, 65_537, 13])));
        expect(address).to.equal(expected);
        expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
      });

      it("accepts a Node Readable (an AsyncIterable of Buffers)", async function () {
        const data = randomBytes(100_000);
        const address = await store.put(Readable.from(chunksOf(data, [4096])));
        expect(address).to.equal(await store.put(data));
      });

      it("copies each chunk as it arrives: an input may reuse one buffer for every chunk", async function () {
        const data = randomBytes(100_000);
        const shared = new Uint8Array(1000);
        async function* reusing(): AsyncGenerator<Uint8Array> {
          for (let offset = 0; offset < data.length; offset += shared.length) {
            shared.set(data.subarray(offset, offset + shared.length));
            yield shared;
          }
        }
        const address = await store.put(reusing());
        expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
        expect(await store.put(data)).to.equal(address);
      });

      it("stores the empty object", async function () {
        const address = await store.put(new Uint8Array(0));
        expect(await store.has(address)).to.equal(true);
        expect((await store.getBytes(address)).length).to.equal(0);
        expect((await readAll(await store.get(address))).length).to.equal(0);
        expect(await store.put(webStream([]))).to.equal(address);
        expect(await store.put(generate([new Uint8Array(0)]))).to.equal(address);
      });

      it("copies: mutating the input after put or the output after get changes nothing stored", async function () {
        const data = randomBytes(5000);
        const original = Buffer.from(data);
        const address = await store.put(data);
        data.fill(0);
        const first = await store.getBytes(address);
        expect(Buffer.from(first).equals(original)).to.equal(true);
        first.fill(1);
        expect(Buffer.from(await store.getBytes(address)).equals(original)).to.equal(true);
      });
    });

    describe("content addressing", function () {
      it("gives the same content the same address and stores it once", async function () {
        const data = randomBytes(50_000);
        const a = await store.put(data);
        const b = await store.put(Uint8Array.from(data));
        expect(b).to.equal(a);
        // Stored once: one delete removes it entirely.
        expect(await store.delete(a)).to.equal(true);
        expect(await store.has(a)).to.equal(false);
        expect(await store.delete(a)).to.equal(false);
      });

      it("gives different content different addresses", async function () {
        const a = await store.put(new Uint8Array([1]));
        const b = await store.put(new Uint8Array([2]));
        expect(a).to.not.equal(b);
      });

      it("handles 20 concurrent puts of the same content: one address, content intact", async function () {
        const data = randomBytes(300_000);
        const addresses = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            i % 2 === 0 ? store.put(data) : store.put(generate(chunksOf(data, [1000 + i]))),
          ),
        );
        expect(new Set(addresses).size).to.equal(1);
        const address = addresses[0]!;
        expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
        expect(await store.delete(address)).to.equal(true);
        expect(await store.has(address)).to.equal(false);
      });

      it("handles 20 concurrent puts of different content", async function () {
        const items = Array.from({ length: 20 }, (_, i) => randomBytes(1000 + i * 5000));
        const addresses = await Promise.all(items.map((item) => store.put(generate(chunksOf(item, [777])))));
        expect(new Set(addresses).size).to.equal(20);
        for (const [i, address] of addresses.entries()) {
          expect(Buffer.from(await store.getBytes(address)).equals(items[i]!)).to.equal(true);
        }
      });
    });

    describe("has / delete / not found", function () {
      it("deletes: true once, then false; get and getBytes then reject with NotFoundError", async function () {
        const address = await store.put(randomBytes(1234));
        expect(await store.has(address)).to.equal(true);
        expect(await store.delete(address)).to.equal(true);
        expect(await store.has(address)).to.equal(false);
        expect(await store.delete(address)).to.equal(false);
        await expectRejection(store.get(address), NotFoundError);
        await expectRejection(store.getBytes(address), NotFoundError);
      });

      it("rejects a well-formed but unknown address with NotFoundError", async function () {
        const unknown = await unknownAddress(store);
        expect(await store.has(unknown)).to.equal(false);
        expect(await store.delete(unknown)).to.equal(false);
        await expectRejection(store.get(unknown), NotFoundError);
        await expectRejection(store.getBytes(unknown), NotFoundError);
      });

      it("can store again what was deleted", async function () {
        const data = randomBytes(2000);
        const address = await store.put(data);
        await store.delete(address);
        expect(await store.put(data)).to.equal(address);
        expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
      });
    });

    describe("validation", function () {
      const malformed: unknown[] = [
        "../../etc/passwd",
        "",
        "sha256:",
        "sha256:abc",
        `sha256:${"ab".repeat(31)}`,
        `sha256:${"ab".repeat(33)}`,
        `sha256:${"AB".repeat(32)}`,
        `sha256:${"g".repeat(64)}`,
        `sha256:${"ab".repeat(32)}/../../x`,
        ` sha256:${"ab".repeat(32)}`,
        `sha256:../../../../../etc/passwd${"a".repeat(36)}`,
        "bafkrei",
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
        123,
        null,
        undefined,
      ];

      it("rejects malformed addresses with InvalidInputError in every method", async function () {
        for (const bad of malformed) {
          const address = bad as string;
          await expectRejection(store.get(address), InvalidInputError, String(bad));
          await expectRejection(store.getBytes(address), InvalidInputError, String(bad));
          await expectRejection(store.has(address), InvalidInputError, String(bad));
          await expectRejection(store.delete(address), InvalidInputError, String(bad));
        }
      });

      it("rejects a well-formed address of the other scheme with InvalidInputError", async function () {
        const probe = await store.put(new Uint8Array([7]));
        const other = probe.startsWith("sha256:") ? rawCid(randomBytes(8)) : sha256Address(randomBytes(8));
        await expectRejection(store.get(other), InvalidInputError);
        await expectRejection(store.has(other), InvalidInputError);
        await expectRejection(store.delete(other), InvalidInputError);
      });

      it("rejects input that is not bytes or a byte stream with InvalidInputError", async function () {
        for (const bad of ["text", 42, null, undefined, {}, [new Uint8Array(1)]]) {
          await expectRejection(store.put(bad as never), InvalidInputError, JSON.stringify(bad) ?? "undefined");
        }
        await expectRejection(store.put(generate(["text" as never])), InvalidInputError);
      });

      it("reports a failing input stream as StorageError keeping the cause, and stores nothing", async function () {
        const boom = new Error("network dropped");
        async function* failing(): AsyncGenerator<Uint8Array> {
          yield randomBytes(100_000);
          yield randomBytes(100_000);
          throw boom;
        }
        const err = await expectRejection(store.put(failing()), StorageError);
        expect(err.walk((e) => e === boom)).to.equal(boom);
        // The store still works.
        const address = await store.put(new Uint8Array([1, 2, 3]));
        expect(await store.getBytes(address)).to.deep.equal(new Uint8Array([1, 2, 3]));
      });
    });

    describe("streams and lifecycle", function () {
      it("lets a reader cancel a get stream half way", async function () {
        const data = randomBytes(3 * MiB);
        const address = await store.put(data);
        const reader = (await store.get(address)).getReader();
        const first = await reader.read();
        expect(first.done).to.equal(false);
        await reader.cancel();
        expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
      });

      it("rejects every call with StorageError after close(); close is idempotent", async function () {
        const address = await store.put(new Uint8Array([1]));
        await store.close();
        await store.close();
        await expectRejection(store.put(new Uint8Array([2])), StorageError);
        await expectRejection(store.get(address), StorageError);
        await expectRejection(store.getBytes(address), StorageError);
        await expectRejection(store.has(address), StorageError);
        await expectRejection(store.delete(address), StorageError);
      });
    });

    (options.bigObject === false ? describe.skip : describe)("a 100 MB object", function () {
      it(`round-trips 100 × 1 MiB pseudo-random blocks by streaming${options.constantMemory === true ? " in constant memory" : ""}`, async function () {
        this.timeout(120_000);
        const probe = options.constantMemory === true ? memoryProbe() : undefined;
        const inputHash = createHash("sha256");
        async function* blocks(): AsyncGenerator<Uint8Array> {
          for (let i = 0; i < 100; i++) {
            const block = randomFillSync(new Uint8Array(MiB));
            inputHash.update(block);
            yield block;
            if (i % 10 === 9) probe?.sample();
          }
        }
        const address = await store.put(blocks());
        const inDigest = inputHash.digest("hex");
        if (address.startsWith("sha256:")) expect(address).to.equal(`sha256:${inDigest}`);

        const outputHash = createHash("sha256");
        let size = 0;
        let count = 0;
        for await (const chunk of iterate(await store.get(address))) {
          outputHash.update(chunk);
          size += chunk.length;
          if (++count % 50 === 0) probe?.sample();
        }
        probe?.sample();
        expect(size).to.equal(100 * MiB);
        expect(outputHash.digest("hex")).to.equal(inDigest);
        if (probe !== undefined) {
          expect(probe.growth(), `live ArrayBuffer growth ${(probe.growth() / MiB).toFixed(1)} MiB`).to.be.below(
            CONSTANT_MEMORY_BUDGET,
          );
        }
        expect(await store.delete(address)).to.equal(true);
      });
    });
  });
}

// ------------------------------------------------------------------ helpers (exported for adapter tests)

/** Cuts `data` into chunks cycling through `sizes` (a 0 yields an empty chunk). */
export function chunksOf(data: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  if (!sizes.some((size) => size > 0)) throw new RangeError("sizes needs a positive size");
  const out: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(data.slice(offset, offset + size));
    offset += size;
  }
  return out;
}

/** An async generator over `chunks`. */
export async function* generate<T>(chunks: readonly T[]): AsyncGenerator<T> {
  for (const chunk of chunks) {
    await Promise.resolve();
    yield chunk;
  }
}

/** A ReadableStream over `chunks`. */
export function webStream(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

/** Iterates a ReadableStream with a reader (portable, unlike `for await` over the stream). */
export async function* iterate(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Reads a whole stream. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of iterate(stream)) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Asserts that `promise` rejects with an instance of `type`, and returns the error. */
export async function expectRejection<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  context = "",
): Promise<E> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (err) {
    expect(err, `${context}: ${String(err)}`).to.be.instanceOf(type);
    return err as E;
  }
  expect.fail(`${context}: expected a ${type.name}, but it resolved with ${String(outcome)}`);
}

/** The raw-codec CIDv1 string of `data`, computed independently of the stores. */
export function rawCid(data: Uint8Array): string {
  const digest = createHash("sha256").update(data).digest();
  return CID.createV1(0x55, Digest.create(0x12, digest)).toString();
}

/** A well-formed address in the store's own scheme that nothing was stored at. */
async function unknownAddress(store: BlobStore): Promise<BlobAddress> {
  const probe = await store.put(new Uint8Array([9, 9, 9]));
  const random = randomBytes(32);
  return (probe.startsWith("sha256:") ? sha256Address(random) : rawCid(random)) as BlobAddress;
}

/**
 * Samples live ArrayBuffer memory (Buffers, Uint8Arrays) after a full GC. `growth()` is the peak
 * over the first sample. Uses V8's `gc` through `--expose-gc` set at run time.
 */
export function memoryProbe(): { sample(): void; growth(): number } {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const measure = (): number => {
    gc();
    return process.memoryUsage().arrayBuffers;
  };
  const baseline = measure();
  let peak = baseline;
  return {
    sample: () => void (peak = Math.max(peak, measure())),
    growth: () => peak - baseline,
  };
}
