import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, open, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";

import {
  DependencyMissingError,
  IntegrityError,
  InvalidInputError,
  NotFoundError,
  StorageError,
  UnsupportedFormatError,
} from "../../../sdk/errors.js";
import { ipfs, parseAddress, type HeliaLike, type IpfsBlobStore } from "../../../sdk/storage/index.js";
import { loadOptionalDependencies } from "../../../sdk/storage/ipfs.js";
import { encodePbNode } from "../../../sdk/storage/internal/unixfs.js";
import { expectRejection, rawCid, readAll, shouldBehaveLikeBlobStore } from "../../helpers/storage-behaviour.js";

/** helia is an optional dependency: without it these tests are skipped, not failed. */
const heliaInstalled = await import("helia").then(
  () => true,
  () => false,
);

(heliaInstalled ? describe : describe.skip)("sdk/storage/ipfs", function () {
  let root: string;
  let dirs = 0;
  const newDir = (): string => join(root, `ipfs-${++dirs}`);

  before(async function () {
    root = await mkdtemp(join(tmpdir(), "medledger-ipfs-"));
  });

  after(async function () {
    await rm(root, { recursive: true, force: true });
  });

  shouldBehaveLikeBlobStore("ipfs() in memory", () => ipfs());
  shouldBehaveLikeBlobStore("ipfs({ dir }) on blockstore-fs", () => ipfs({ dir: newDir() }));
  // Small chunks turn every object above 1 KiB into a DAG (3 MiB: 3072 leaves on two levels).
  shouldBehaveLikeBlobStore("ipfs({ chunkSize: 1 KiB }) with deep DAGs", () => ipfs({ chunkSize: 1024 }), {
    bigObject: false,
  });

  describe("addressing", function () {
    let store: IpfsBlobStore;

    beforeEach(async function () {
      store = await ipfs({ chunkSize: 4096 });
    });

    afterEach(async function () {
      await store.close();
    });

    it("addresses an object up to chunkSize by its raw-block CIDv1 (bafkrei…)", async function () {
      for (const size of [0, 1, 4095, 4096]) {
        const data = randomBytes(size);
        const address = await store.put(data);
        expect(address).to.equal(rawCid(data));
        expect(address.startsWith("bafkrei")).to.equal(true);
        const parsed = parseAddress(address);
        expect(parsed.scheme === "cid" && parsed.cid.version === 1 && parsed.codec === "raw").to.equal(true);
      }
    });

    it("links a larger object's raw chunks with a UnixFS file node (bafybei…) that Helia's dag-pb codec reads", async function () {
      const data = randomBytes(4096 * 2 + 1);
      const address = await store.put(data);
      expect(address.startsWith("bafybei")).to.equal(true);
      const cid = CID.parse(address);
      expect(cid.code).to.equal(0x70);

      const dagPb = await import("@ipld/dag-pb");
      const chunks: Uint8Array[] = [];
      for await (const chunk of store.helia.blockstore.get(cid)) chunks.push(chunk);
      const node = dagPb.decode(Buffer.concat(chunks)); // strict, canonical-form decoder
      expect(node.Links.map((link) => link.Hash.toString())).to.deep.equal([
        rawCid(data.subarray(0, 4096)),
        rawCid(data.subarray(4096, 8192)),
        rawCid(data.subarray(8192)),
      ]);
      expect(node.Links.map((link) => link.Tsize)).to.deep.equal([4096, 4096, 1]);
      // UnixFS Data: Type=File(2), filesize=8193, blocksizes 4096, 4096, 1.
      expect(Buffer.from(node.Data!).toString("hex")).to.equal("0802" + "188140" + "208020" + "208020" + "2001");
      expect(dagPb.encode(dagPb.prepare(node))).to.deep.equal(Buffer.concat(chunks)); // byte-identical re-encoding

      // Helia's pinning walked the DAG through that codec: every leaf is pinned.
      for (const link of node.Links) expect(await store.helia.pins.isPinned(link.Hash)).to.equal(true);
    });

    it("keeps every leaf at the same depth in a DAG wider than 174 links", async function () {
      const data = randomBytes(4096 * 175 + 10); // 176 leaves: two levels
      const address = await store.put(data);
      const dagPb = await import("@ipld/dag-pb");
      const load = async (cid: CID): Promise<Uint8Array> => {
        const parts: Uint8Array[] = [];
        for await (const part of store.helia.blockstore.get(cid)) parts.push(part);
        return Buffer.concat(parts);
      };
      const top = dagPb.decode(await load(CID.parse(address)));
      expect(top.Links).to.have.length(2);
      const [first, second] = await Promise.all(top.Links.map(async (link) => dagPb.decode(await load(link.Hash))));
      expect(first!.Links).to.have.length(174);
      expect(second!.Links).to.have.length(2);
      expect([...first!.Links, ...second!.Links].every((link) => link.Hash.code === 0x55)).to.equal(true);
      expect(Buffer.from(await store.getBytes(address)).equals(data)).to.equal(true);
    });
  });

  describe("pinning", function () {
    let store: IpfsBlobStore;

    beforeEach(async function () {
      store = await ipfs({ chunkSize: 1024 });
    });

    afterEach(async function () {
      await store.close();
    });

    it("pins on put; unpin, pin and isPinned work and are idempotent", async function () {
      const address = await store.put(randomBytes(5000));
      expect(await store.isPinned(address)).to.equal(true);
      expect(await store.unpin(address)).to.equal(true);
      expect(await store.isPinned(address)).to.equal(false);
      expect(await store.unpin(address)).to.equal(false);
      expect(await store.has(address)).to.equal(true); // unpinning keeps the blocks
      await store.pin(address);
      await store.pin(address);
      expect(await store.isPinned(address)).to.equal(true);
      await store.put(randomBytes(10)); // another object does not disturb it
      expect(await store.delete(address)).to.equal(true);
      expect(await store.isPinned(address)).to.equal(false);
    });

    it("pins once under 20 concurrent puts of the same content, so one delete removes it", async function () {
      const data = randomBytes(20_000);
      const addresses = await Promise.all(Array.from({ length: 20 }, () => store.put(data)));
      expect(new Set(addresses).size).to.equal(1);
      const cid = CID.parse(addresses[0]!);
      expect(await store.delete(cid.toString())).to.equal(true);
      expect(await store.helia.pins.isPinned(cid)).to.equal(false);
      expect(await countBlocks(store)).to.equal(0);
    });

    it("deletes a DAG whose chunks repeat completely (each block is unpinned once)", async function () {
      const zeros = new Uint8Array(8 * 1024); // eight identical leaves: root + one distinct leaf block
      const address = await store.put(zeros);
      expect(await countBlocks(store)).to.equal(2);
      expect(await store.delete(address)).to.equal(true);
      expect(await countBlocks(store)).to.equal(0);
      expect(await store.put(zeros)).to.equal(address);
      expect(await store.isPinned(address)).to.equal(true);
      expect(await store.unpin(address)).to.equal(true);
      const leaf = CID.parse(rawCid(zeros.subarray(0, 1024)));
      expect(await store.helia.pins.isPinned(leaf)).to.equal(false);
    });

    it("refuses to pin an incomplete DAG with StorageError", async function () {
      const data = randomBytes(3000);
      const address = await store.put(data);
      await store.unpin(address);
      await store.helia.blockstore.delete(CID.parse(rawCid(data.subarray(0, 1024))));
      await expectRejection(store.pin(address), StorageError);
      expect(await store.isPinned(address)).to.equal(false);
      // The failed pin left no pin record behind, so delete removes everything that is left.
      expect(await store.delete(address)).to.equal(true);
      expect(await countBlocks(store)).to.equal(0);
    });

    it("rejects pin of an unknown object with NotFoundError and validates addresses", async function () {
      await expectRejection(store.pin(rawCid(randomBytes(4))), NotFoundError);
      await expectRejection(store.pin("../../etc/passwd"), InvalidInputError);
      await expectRejection(store.unpin(`sha256:${"ab".repeat(32)}`), InvalidInputError);
      await expectRejection(store.isPinned(""), InvalidInputError);
    });

    it("removes all of an object's blocks on delete, but not blocks another pinned object shares", async function () {
      const shared = randomBytes(1024);
      const a = await store.put(Buffer.concat([shared, randomBytes(3000)]));
      const b = await store.put(Buffer.concat([shared, randomBytes(3000)]));
      const blocksWithBoth = await countBlocks(store);
      expect(await store.delete(a)).to.equal(true);
      expect(await countBlocks(store)).to.equal(blocksWithBoth - 4); // a's root and 3 own leaves
      expect(
        Buffer.from(await store.getBytes(b))
          .subarray(0, 1024)
          .equals(shared),
      ).to.equal(true);
      expect(await store.delete(b)).to.equal(true);
      expect(await countBlocks(store)).to.equal(0);
    });
  });

  describe("persistence and integrity on disk", function () {
    it("finds objects and pins again after closing and reopening the directory", async function () {
      const dir = newDir();
      const small = randomBytes(100);
      const large = randomBytes(3 * 1024 * 1024);
      let store = await ipfs({ dir });
      const a = await store.put(small);
      const b = await store.put(large);
      await store.unpin(a);
      await store.close();

      store = await ipfs({ dir });
      try {
        expect(Buffer.from(await store.getBytes(a)).equals(small)).to.equal(true);
        expect(Buffer.from(await store.getBytes(b)).equals(large)).to.equal(true);
        expect(await store.isPinned(a)).to.equal(false);
        expect(await store.isPinned(b)).to.equal(true);
      } finally {
        await store.close();
      }
    });

    it("detects a flipped byte in a block file: IntegrityError, and no byte of that block is passed on", async function () {
      const dir = newDir();
      const store = await ipfs({ dir, chunkSize: 1024 });
      try {
        const data = randomBytes(3000);
        const address = await store.put(data);
        // Corrupt the last leaf: the first two leaves stream out, the corrupted one does not.
        const leaf = rawCid(data.subarray(2048));
        const file = await findBlockFile(join(dir, "blocks"), CID.parse(leaf));
        await flipByte(file, 100);
        await expectRejection(store.getBytes(address), IntegrityError);
        const received: Uint8Array[] = [];
        const reader = (await store.get(address)).getReader();
        const err = await expectRejection(
          (async () => {
            for (let r = await reader.read(); !r.done; r = await reader.read()) received.push(r.value);
          })(),
          IntegrityError,
        );
        expect(err.details).to.contain(leaf);
        expect(Buffer.concat(received).equals(data.subarray(0, 2048))).to.equal(true);
        await expectRejection(store.getBytes(leaf), IntegrityError);
      } finally {
        await store.close();
      }
    });

    it("reports a DAG with a missing block as StorageError while streaming", async function () {
      const store = await ipfs({ chunkSize: 1024 });
      try {
        const data = randomBytes(2500);
        const address = await store.put(data);
        const leaf = CID.parse(rawCid(data.subarray(1024, 2048)));
        await store.unpin(address);
        await store.helia.blockstore.delete(leaf);
        await expectRejection(readAll(await store.get(address)), StorageError);
        expect(await store.delete(address)).to.equal(true); // deleting what is left still works
        expect(await countBlocks(store)).to.equal(0);
      } finally {
        await store.close();
      }
    });

    it("rejects a CID naming a UnixFS directory with UnsupportedFormatError", async function () {
      const store = await ipfs();
      try {
        const dirNode = encodePbNode({ links: [], data: Uint8Array.of(0x08, 0x01) }); // Type = Directory
        const cid = CID.createV1(0x70, Digest.create(0x12, createHash("sha256").update(dirNode).digest()));
        await store.helia.blockstore.put(cid, dirNode);
        expect(await store.has(cid.toString())).to.equal(true);
        await expectRejection(store.getBytes(cid.toString()), UnsupportedFormatError);
      } finally {
        await store.close();
      }
    });
  });

  describe("the Helia node", function () {
    it("runs offline with no libp2p, and close() stops the node it created", async function () {
      const store = await ipfs();
      const node = store.helia as HeliaLike & { status: string; libp2p?: unknown };
      expect(node.libp2p).to.equal(undefined);
      expect(node.status).to.equal("started");
      await store.close();
      expect(node.status).to.equal("stopped");
    });

    it("uses a node you pass without stopping it on close()", async function () {
      const { createHeliaLight } = await import("helia");
      const helia = createHeliaLight();
      await helia.start();
      const node: HeliaLike = helia; // a real Helia satisfies the SDK's structural type
      const store = await ipfs({ helia: node });
      const address = await store.put(randomBytes(100));
      expect(await helia.pins.isPinned(CID.parse(address))).to.equal(true);
      await store.close();
      expect(helia.status).to.equal("started");
      await helia.stop();
    });

    it("validates its options", async function () {
      await expectRejection(ipfs({ chunkSize: 100 }), InvalidInputError);
      await expectRejection(ipfs({ chunkSize: 2 * 1024 * 1024 }), InvalidInputError);
      await expectRejection(ipfs({ dir: "" }), InvalidInputError);
      await expectRejection(ipfs({ dir: "x", helia: {} as HeliaLike } as never), InvalidInputError);
    });

    it("names every missing optional peer dependency in one DependencyMissingError", async function () {
      // What Node's import() rejects with when the package is absent (the packed-install check in
      // .ci/run sees the real thing: ipfs() in an app without helia).
      const notInstalled = (name: string) => () =>
        Promise.reject(
          Object.assign(new Error(`Cannot find package '${name}' imported from /app/index.js`), {
            code: "ERR_MODULE_NOT_FOUND",
          }),
        );
      const loaders = {
        helia: () => import("helia"),
        "blockstore-fs": notInstalled("blockstore-fs"),
        "interface-datastore": notInstalled("interface-datastore"),
      };
      const err = await expectRejection(
        loadOptionalDependencies(loaders, ["helia", "blockstore-fs", "interface-datastore"]),
        DependencyMissingError,
      );
      expect(err.shortMessage).to.contain('"blockstore-fs", "interface-datastore"');
      expect(err.shortMessage).not.to.contain('"helia"');
      expect(err.details).to.equal("install them next to medledger: npm install blockstore-fs interface-datastore");
      expect(err.cause).to.be.instanceOf(Error);
    });

    it("loads only the peer dependencies it is asked for", async function () {
      const loaded = await loadOptionalDependencies(
        { helia: () => import("helia"), "blockstore-fs": () => Promise.reject(new Error("must not load")) },
        ["helia"],
      );
      expect(loaded.helia.createHeliaLight).to.be.a("function");
      expect(Object.keys(loaded)).to.deep.equal(["helia"]);
    });

    it("reports an installed peer dependency that fails to load, with its error as the cause", async function () {
      const broken = new SyntaxError("Unexpected token in node_modules/helia/dist/index.js");
      const err = await expectRejection(
        loadOptionalDependencies({ helia: () => Promise.reject(broken) }, ["helia"]),
        DependencyMissingError,
      );
      expect(err.shortMessage).to.contain('"helia" is installed but failed to load');
      expect(err.cause).to.equal(broken);
    });
  });
});

async function countBlocks(store: IpfsBlobStore): Promise<number> {
  const blockstore = store.helia.blockstore as unknown as { getAll(): AsyncIterable<unknown> };
  let count = 0;
  for await (const _ of blockstore.getAll()) count++;
  return count;
}

/** blockstore-fs names a block file after the base32 multihash of its CID. */
async function findBlockFile(dir: string, cid: CID): Promise<string> {
  const { base32 } = await import("multiformats/bases/base32");
  const name = `${base32.encode(cid.multihash.bytes).toUpperCase()}.data`;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name);
  }
  throw new Error(`no block file for ${cid.toString()} in ${dir}`);
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
