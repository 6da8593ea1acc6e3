import { randomBytes } from "node:crypto";

import { expect } from "chai";

import { IntegrityError, InvalidInputError, NotFoundError, StorageError } from "../../../sdk/errors.js";
import {
  custom,
  sha256Address,
  type BlobAddress,
  type CustomBlobSource,
  type CustomBlobStoreOptions,
  type StagedBlob,
} from "../../../sdk/storage/index.js";
import { expectRejection, iterate, readAll, shouldBehaveLikeBlobStore } from "../../helpers/storage-behaviour.js";

/** A backend over a Map, in buffered (`put`) mode. Records every address it is called with. */
function mapBackend(table = new Map<string, Uint8Array>(), seen: string[] = []): CustomBlobStoreOptions {
  return {
    kind: "map",
    put: async (address, data) => {
      seen.push(address);
      table.set(address, data);
    },
    get: async (address) => {
      seen.push(address);
      return table.get(address);
    },
    has: async (address) => {
      seen.push(address);
      return table.has(address);
    },
    delete: async (address) => {
      seen.push(address);
      return table.delete(address);
    },
  };
}

/**
 * A backend in streaming (`stage`) mode, shaped like an object store with temporary keys: bytes
 * are staged under a temp key and copied to the address on commit. Serves reads as streams.
 */
function stagingBackend(objects = new Map<string, Uint8Array[]>(), temps = new Map<string, Uint8Array[]>()) {
  let next = 0;
  const options: CustomBlobStoreOptions = {
    kind: "staging",
    stage: async (data) => {
      const tempKey = `tmp-${next++}`;
      const parts: Uint8Array[] = [];
      temps.set(tempKey, parts);
      try {
        for await (const chunk of data) parts.push(new Uint8Array(chunk)); // a copy: Buffer#slice() would be a view
      } catch (err) {
        temps.delete(tempKey);
        throw err;
      }
      return {
        commit: async (address) => {
          if (!objects.has(address)) objects.set(address, parts);
          temps.delete(tempKey);
        },
        abort: async () => void temps.delete(tempKey),
      };
    },
    get: async (address) => {
      const parts = objects.get(address);
      if (parts === undefined) return undefined;
      let index = 0;
      return new ReadableStream<Uint8Array>({
        pull: (controller) => {
          const part = parts[index++];
          if (part === undefined) controller.close();
          else controller.enqueue(new Uint8Array(part));
        },
      });
    },
    has: async (address) => objects.has(address),
    delete: async (address) => objects.delete(address),
  };
  return { options, objects, temps };
}

describe("sdk/storage/custom", function () {
  shouldBehaveLikeBlobStore("custom() over a Map (put mode)", () => custom(mapBackend()));
  shouldBehaveLikeBlobStore("custom() with stage (streaming mode)", () => custom(stagingBackend().options));

  describe("guarantees added to any backend", function () {
    it("never passes a malformed address to the backend", async function () {
      const seen: string[] = [];
      const store = custom(mapBackend(new Map(), seen));
      for (const bad of ["../../etc/passwd", "sha256:xyz", ""]) {
        await expectRejection(store.getBytes(bad), InvalidInputError);
        await expectRejection(store.has(bad), InvalidInputError);
        await expectRejection(store.delete(bad), InvalidInputError);
      }
      expect(seen).to.deep.equal([]);
    });

    it("verifies what the backend returns: a corrupted byte is an IntegrityError", async function () {
      const table = new Map<string, Uint8Array>();
      const store = custom(mapBackend(table));
      const data = randomBytes(1_000_000);
      const address = await store.put(data);
      table.get(address)![500_000]! ^= 0xff;
      await expectRejection(store.getBytes(address), IntegrityError);
      await expectRejection(readAll(await store.get(address)), IntegrityError);
    });

    it("verifies streamed reads too, withholding the last chunk of a corrupted object", async function () {
      const { options, objects } = stagingBackend();
      const store = custom(options);
      const address = await store.put(new Uint8Array([1, 2, 3]));
      objects.set(address, [new Uint8Array([1, 2]), new Uint8Array([4])]);
      const received: Uint8Array[] = [];
      await expectRejection(
        (async () => {
          for await (const chunk of iterate(await store.get(address))) received.push(chunk);
        })(),
        IntegrityError,
      );
      expect(received).to.deep.equal([new Uint8Array([1, 2])]);
    });

    it("hands out copies even when the backend returns its own Buffer", async function () {
      const table = new Map<string, Uint8Array>();
      const store = custom({
        kind: "buffers",
        put: async (address, data) => void table.set(address, Buffer.from(data)),
        get: async (address) => table.get(address),
        has: async (address) => table.has(address),
        delete: async (address) => table.delete(address),
      });
      const address = await store.put(new Uint8Array(600_000).fill(7));
      (await store.getBytes(address)).fill(0);
      for await (const chunk of iterate(await store.get(address))) chunk.fill(0);
      expect((await store.getBytes(address)).every((byte) => byte === 7)).to.equal(true);
    });

    it("computes the address itself: a backend cannot choose where content goes", async function () {
      const seen: string[] = [];
      const store = custom(mapBackend(new Map(), seen));
      const data = new TextEncoder().encode("hello");
      const address = await store.put(data);
      expect(address).to.equal("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
      expect(address).to.equal(sha256Address(data));
      expect(seen).to.deep.equal([address]);
    });

    it("wraps backend failures in StorageError with the cause; SDK errors pass through", async function () {
      const failure = new Error("connection reset");
      const failing = custom({
        kind: "flaky",
        put: async () => {
          throw failure;
        },
        get: async () => {
          throw new NotFoundError("gone");
        },
        has: async () => {
          throw failure;
        },
        delete: async () => {
          throw failure;
        },
      });
      const address = sha256Address(new Uint8Array([1]));
      for (const attempt of [failing.put(new Uint8Array([1])), failing.has(address), failing.delete(address)]) {
        const err = await expectRejection(attempt, StorageError);
        expect(err.cause).to.equal(failure);
        expect(err.shortMessage).to.contain("flaky");
      }
      await expectRejection(failing.getBytes(address), NotFoundError);
    });

    it("rejects a backend get that returns something other than bytes with StorageError", async function () {
      const store = custom({ ...mapBackend(), get: async () => "text" as unknown as CustomBlobSource });
      await expectRejection(store.getBytes(sha256Address(new Uint8Array())), StorageError);
      const chunky = custom({
        ...mapBackend(),
        get: async () =>
          (async function* () {
            yield "x";
          })() as never,
      });
      await expectRejection(chunky.getBytes(sha256Address(new Uint8Array())), StorageError);
    });

    it("cancels the backend's stream when a reader cancels before reading", async function () {
      let cancelled = false;
      const store = custom({
        ...mapBackend(),
        get: async () =>
          new ReadableStream<Uint8Array>({
            pull: (controller) => controller.enqueue(new Uint8Array(10)),
            cancel: () => void (cancelled = true),
          }),
      });
      const stream = await store.get(sha256Address(new Uint8Array([5])));
      await stream.cancel();
      expect(cancelled).to.equal(true);
    });

    it("calls close() of the backend once", async function () {
      let closes = 0;
      const store = custom({ ...mapBackend(), close: async () => void closes++ });
      await Promise.all([store.close(), store.close()]);
      await store.close();
      expect(closes).to.equal(1);
    });
  });

  describe("stage mode", function () {
    it("aborts the staged upload when the input fails, reporting the input's error", async function () {
      const { options, temps, objects } = stagingBackend();
      const store = custom(options);
      const boom = new Error("upload source died");
      const err = await expectRejection(
        store.put(
          (async function* () {
            yield new Uint8Array(10);
            throw boom;
          })(),
        ),
        StorageError,
      );
      expect(err.cause).to.equal(boom);
      expect(temps.size).to.equal(0);
      expect(objects.size).to.equal(0);
    });

    it("aborts when commit fails, and when stage() returns without consuming the input", async function () {
      const aborted: string[] = [];
      const staged = (name: string, commit: StagedBlob["commit"]): StagedBlob => ({
        commit,
        abort: async () => void aborted.push(name),
      });
      const failingCommit = custom({
        ...stagingBackend().options,
        stage: async (data) => {
          for await (const _ of data) {
            // consume
          }
          return staged("commit", async () => {
            throw new Error("copy failed");
          });
        },
      });
      await expectRejection(failingCommit.put(new Uint8Array(5)), StorageError);
      const lazy = custom({
        ...stagingBackend().options,
        stage: async () => staged("lazy", async () => undefined),
      });
      await expectRejection(lazy.put(new Uint8Array(5)), StorageError);
      expect(aborted).to.deep.equal(["commit", "lazy"]);
    });

    it("commits under the verified address", async function () {
      const committed: BlobAddress[] = [];
      const { options } = stagingBackend();
      const store = custom({
        ...options,
        stage: async (data) => {
          const inner = await options.stage(data);
          return {
            commit: async (address) => {
              committed.push(address);
              await inner.commit(address);
            },
            abort: () => inner.abort(),
          };
        },
      });
      const data = randomBytes(100_000);
      expect(await store.put(data)).to.equal(sha256Address(data));
      expect(committed).to.deep.equal([sha256Address(data)]);
    });
  });

  describe("options", function () {
    it("requires a kind, exactly one of put or stage, and get/has/delete", function () {
      const base = mapBackend();
      expect(() => custom({ ...base, kind: "" })).to.throw(InvalidInputError);
      expect(() => custom({ ...base, stage: async () => ({}) as StagedBlob } as never)).to.throw(InvalidInputError);
      expect(() => custom({ ...base, put: undefined } as never)).to.throw(InvalidInputError);
      expect(() => custom({ ...base, has: undefined } as never)).to.throw(InvalidInputError);
      expect(() => custom(null as never)).to.throw(InvalidInputError);
      expect(custom(base).kind).to.equal("map");
    });
  });
});
