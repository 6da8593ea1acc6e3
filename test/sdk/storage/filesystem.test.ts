import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { expect } from "chai";

import { IntegrityError, InvalidInputError, MedLedgerError, StorageError } from "../../../sdk/errors.js";
import { filesystem, type BlobAddress, type BlobStore } from "../../../sdk/storage/index.js";
import {
  chunksOf,
  expectRejection,
  generate,
  iterate,
  readAll,
  shouldBehaveLikeBlobStore,
} from "../../helpers/storage-behaviour.js";

const run = promisify(execFile);

describe("sdk/storage/filesystem", function () {
  let root: string;
  let dirs = 0;
  const newDir = (): string => join(root, `store-${++dirs}`);

  before(async function () {
    root = await mkdtemp(join(tmpdir(), "medledger-fs-"));
  });

  after(async function () {
    await rm(root, { recursive: true, force: true });
  });

  shouldBehaveLikeBlobStore("filesystem()", () => filesystem({ dir: newDir() }), { constantMemory: true });

  describe("on disk", function () {
    let dir: string;
    let store: BlobStore;

    beforeEach(function () {
      dir = newDir();
      store = filesystem({ dir });
    });

    afterEach(async function () {
      await store.close();
    });

    it("writes <dir>/<hex[0:2]>/<hex[2:4]>/<hex> with the exact bytes, owner-only", async function () {
      const data = randomBytes(4096);
      const address = await store.put(data);
      const hex = createHash("sha256").update(data).digest("hex");
      expect(address).to.equal(`sha256:${hex}`);
      const file = join(dir, hex.slice(0, 2), hex.slice(2, 4), hex);
      expect((await readFile(file)).equals(data)).to.equal(true);
      if (process.platform !== "win32") expect((await stat(file)).mode & 0o777).to.equal(0o600);
      expect(await listFiles(dir)).to.deep.equal([file]);
    });

    it("removes the file on delete", async function () {
      const address = await store.put(randomBytes(10));
      expect(await listFiles(dir)).to.have.length(1);
      expect(await store.delete(address)).to.equal(true);
      expect(await listFiles(dir)).to.deep.equal([]);
    });

    it("detects a flipped byte on disk: get's stream and getBytes fail with IntegrityError", async function () {
      const data = randomBytes(1_000_000); // several read chunks
      const address = await store.put(data);
      await flipByte(objectFile(dir, address), 654_321);
      await expectRejection(store.getBytes(address), IntegrityError);
      const err = await expectRejection(readAll(await store.get(address)), IntegrityError);
      expect(err.details).to.contain(address);
    });

    it("never hands out a complete corrupted object: a one-chunk object yields no chunk at all", async function () {
      const address = await store.put(new TextEncoder().encode("diagnosis: none"));
      await flipByte(objectFile(dir, address), 3);
      const chunks: Uint8Array[] = [];
      const err = await expectRejection(
        (async () => {
          for await (const chunk of iterate(await store.get(address))) chunks.push(chunk);
        })(),
        IntegrityError,
      );
      expect(err).to.be.instanceOf(MedLedgerError);
      expect(chunks).to.deep.equal([]);
    });

    it("detects a truncated file, and a later put of the same content repairs it", async function () {
      const data = randomBytes(100_000);
      const address = await store.put(data);
      await truncate(objectFile(dir, address), 50_000);
      await expectRejection(store.getBytes(address), IntegrityError);
      expect(await store.put(data)).to.equal(address);
      expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
    });

    it("a later put of the same content repairs a file of the same size whose bytes are damaged (fails on main)", async function () {
      const data = randomBytes(100_000);
      const address = await store.put(data);
      await flipByte(objectFile(dir, address), 4_242);
      await expectRejection(store.getBytes(address), IntegrityError);
      expect(await store.put(data)).to.equal(address);
      expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
    });

    it("leaves no temp file after concurrent puts, a failed input and a rejected chunk", async function () {
      const same = randomBytes(500_000);
      await Promise.all([
        ...Array.from({ length: 20 }, () => store.put(generate(chunksOf(same, [4096])))),
        ...Array.from({ length: 10 }, () => store.put(randomBytes(10_000))),
      ]);
      await expectRejection(
        store.put(
          (async function* () {
            yield randomBytes(10);
            throw new Error("input failed");
          })(),
        ),
        StorageError,
      );
      await expectRejection(store.put(generate([new Uint8Array(3), "x" as never])), InvalidInputError);
      expect(await readdir(join(dir, ".tmp"))).to.deep.equal([]);
      expect(await listFiles(dir)).to.have.length(11);
    });

    it("is safe with two store instances on the same directory writing the same content at once", async function () {
      const other = filesystem({ dir });
      try {
        const data = randomBytes(2_000_000);
        const addresses = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).put(generate(chunksOf(data, [65_536])))),
        );
        expect(new Set(addresses).size).to.equal(1);
        expect(Buffer.from(await other.getBytes(addresses[0]!)).equals(data)).to.equal(true);
        expect(await readdir(join(dir, ".tmp"))).to.deep.equal([]);
        expect(await listFiles(dir)).to.have.length(1);
      } finally {
        await other.close();
      }
    });

    it("is safe with four processes writing the same content into the same directory at once", async function () {
      this.timeout(60_000);
      const seed = randomBytes(16).toString("hex");
      const script = `
        const { createHash } = await import("node:crypto");
        const { filesystem } = await import(process.argv[1]);
        const [dir, seed] = process.argv.slice(2);
        async function* content() {
          for (let i = 0; i < 40; i++) yield createHash("sha512").update(seed + i).digest();
        }
        const store = filesystem({ dir });
        const addresses = [];
        for (let round = 0; round < 5; round++) addresses.push(await store.put(content()));
        await store.close();
        process.stdout.write(JSON.stringify([...new Set(addresses)]));
      `;
      const entry = pathToFileURL(join(process.cwd(), "sdk/storage/index.ts")).href;
      const outputs = await Promise.all(
        Array.from({ length: 4 }, () =>
          run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, entry, dir, seed]),
        ),
      );
      const expected = createHash("sha256");
      for (let i = 0; i < 40; i++)
        expected.update(
          createHash("sha512")
            .update(seed + String(i))
            .digest(),
        );
      const address = `sha256:${expected.digest("hex")}`;
      for (const { stdout } of outputs) expect(JSON.parse(stdout)).to.deep.equal([address]);
      expect(await store.has(address)).to.equal(true);
      expect((await store.getBytes(address)).length).to.equal(40 * 64);
      expect(await readdir(join(dir, ".tmp"))).to.deep.equal([]);
      expect(await listFiles(dir)).to.have.length(1);
    });

    it("ignores crash leftovers in .tmp and removes the stale ones on first use", async function () {
      const data = randomBytes(1000);
      const address = await store.put(data);
      await store.close();
      // A crash left two half-written temp files: one old, one from a writer that may still run.
      const stale = join(dir, ".tmp", "0a1b2c3d-crashed.tmp");
      const fresh = join(dir, ".tmp", "4e5f6a7b-live.tmp");
      await writeFile(stale, data.subarray(0, 500));
      await writeFile(fresh, data.subarray(0, 200));
      const dayAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(stale, dayAgo, dayAgo);

      store = filesystem({ dir });
      expect(await store.has(address)).to.equal(true);
      expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
      expect(await readdir(join(dir, ".tmp"))).to.deep.equal(["4e5f6a7b-live.tmp"]);
      expect(await store.put(data)).to.equal(address);
      expect(await listFiles(dir)).to.have.length(1);
    });

    it("closes the file when a get stream is cancelled, even before the first read", async function () {
      if (process.platform !== "linux") this.skip();
      const address = await store.put(randomBytes(3_000_000));
      const file = await realpath(objectFile(dir, address)); // /proc/self/fd links are real paths
      expect(await openHandlesTo(file)).to.equal(0);
      const unread = await store.get(address);
      const halfRead = (await store.get(address)).getReader();
      expect((await halfRead.read()).done).to.equal(false);
      expect(await openHandlesTo(file)).to.equal(2);
      await unread.cancel();
      await halfRead.cancel();
      expect(await openHandlesTo(file)).to.equal(0);
      await readAll(await store.get(address)); // reading to the end closes it too
      await expectRejection(
        store
          .getBytes(address)
          .then(() => flipByte(file, 0))
          .then(() => store.getBytes(address)),
        IntegrityError,
      );
      expect(await openHandlesTo(file)).to.equal(0); // and so does an integrity failure
    });

    it("reports an unusable directory as StorageError with the cause", async function () {
      const file = newDir();
      await mkdir(root, { recursive: true });
      await writeFile(file, "not a directory");
      const broken = filesystem({ dir: file });
      const err = await expectRejection(broken.put(new Uint8Array([1])), StorageError);
      expect(err.cause).to.be.instanceOf(Error);
      await broken.close();
    });

    it("validates its options", function () {
      expect(() => filesystem({ dir: "" })).to.throw(InvalidInputError);
      expect(() => filesystem({} as never)).to.throw(InvalidInputError);
      expect(() => filesystem({ dir, staleTempMs: -1 })).to.throw(InvalidInputError);
      expect(() => filesystem({ dir, fileMode: 0o1777 })).to.throw(InvalidInputError);
      expect(filesystem({ dir }).kind).to.equal("filesystem");
    });
  });
});

function objectFile(dir: string, address: BlobAddress): string {
  const hex = address.slice("sha256:".length);
  return join(dir, hex.slice(0, 2), hex.slice(2, 4), hex);
}

async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await open(file, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0x01;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/** Object files in the store (everything except the temp directory), sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      if (entry.name === ".tmp") continue;
      const full = join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(full);
    }
  };
  await mkdir(dir, { recursive: true });
  await walk(dir);
  return out.sort();
}

/** How many of this process's file descriptors point at `file` (Linux). */
async function openHandlesTo(file: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir("/proc/self/fd")) {
    try {
      if ((await readlink(`/proc/self/fd/${fd}`)) === file) count++;
    } catch {
      // closed while listing
    }
  }
  return count;
}
