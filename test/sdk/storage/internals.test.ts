import { randomBytes } from "node:crypto";

import { expect } from "chai";

import { KeyedMutex, ReadWriteLock } from "../../../sdk/storage/internal/lock.js";
import {
  decodePbNode,
  decodeUnixFs,
  encodePbNode,
  encodeUnixFsFile,
  ProtobufError,
  UnixFsType,
} from "../../../sdk/storage/internal/unixfs.js";

const dagPbInstalled = await import("@ipld/dag-pb").then(
  () => true,
  () => false,
);

describe("sdk/storage internals", function () {
  describe("dag-pb / UnixFS codec", function () {
    it("round-trips a file node, including sizes above 2^32", function () {
      const links = [
        { hash: randomBytes(36), name: "", tsize: 1 },
        { hash: randomBytes(36), name: "", tsize: 2 ** 40 },
      ];
      const data = encodeUnixFsFile(2 ** 40 + 1, [1, 2 ** 40]);
      const node = decodePbNode(encodePbNode({ links, data }));
      expect(node.links).to.deep.equal(links);
      expect(decodeUnixFs(node.data!)).to.deep.equal({
        type: UnixFsType.File,
        filesize: 2 ** 40 + 1,
        blocksizes: [1, 2 ** 40],
      });
    });

    it("reads packed blocksizes and skips unknown UnixFS fields", function () {
      // Type=File, blocksizes packed [3, 300], mode (field 7) = 0o644, filesize=303
      const bytes = Uint8Array.of(0x08, 0x02, 0x22, 0x03, 0x03, 0xac, 0x02, 0x38, 0xa4, 0x03, 0x18, 0xaf, 0x02);
      expect(decodeUnixFs(bytes)).to.deep.equal({ type: 2, filesize: 303, blocksizes: [3, 300] });
    });

    it("rejects truncated and malformed protobuf", function () {
      const good = encodePbNode({
        links: [{ hash: randomBytes(36), name: "", tsize: 5 }],
        data: encodeUnixFsFile(5, [5]),
      });
      expect(() => decodePbNode(good.subarray(0, good.length - 3))).to.throw(ProtobufError);
      expect(() => decodePbNode(Uint8Array.of(0x1a, 0x00))).to.throw(ProtobufError); // field 3 is not dag-pb
      expect(() => decodeUnixFs(Uint8Array.of(0x18, 0x01))).to.throw(ProtobufError); // no Type
      expect(() =>
        decodeUnixFs(Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)),
      ).to.throw(ProtobufError);
    });

    (dagPbInstalled ? it : it.skip)("encodes byte for byte like @ipld/dag-pb", async function () {
      const dagPb = await import("@ipld/dag-pb");
      const { CID } = await import("multiformats/cid");
      const Digest = await import("multiformats/hashes/digest");
      const links = [1, 2, 3].map((i) => ({
        Hash: CID.createV1(0x55, Digest.create(0x12, randomBytes(32))),
        Name: "",
        Tsize: i * 1000,
      }));
      const Data = encodeUnixFsFile(6000, [1000, 2000, 3000]);
      const ours = encodePbNode({
        links: links.map((link) => ({ hash: link.Hash.bytes, name: link.Name, tsize: link.Tsize })),
        data: Data,
      });
      expect(ours).to.deep.equal(dagPb.encode({ Links: links, Data }));
    });
  });

  describe("locks", function () {
    it("KeyedMutex runs tasks of one key one at a time, other keys concurrently", async function () {
      const mutex = new KeyedMutex();
      const log: string[] = [];
      const task = (name: string) => async () => {
        log.push(`${name}+`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`${name}-`);
      };
      await Promise.all([mutex.run("a", task("a1")), mutex.run("a", task("a2")), mutex.run("b", task("b1"))]);
      expect(log.indexOf("a1-")).to.be.below(log.indexOf("a2+"));
      expect(log.indexOf("b1+")).to.be.below(log.indexOf("a1-"));
    });

    it("ReadWriteLock excludes writers from readers and each other", async function () {
      const lock = new ReadWriteLock();
      let readers = 0;
      let writers = 0;
      const violations: string[] = [];
      const sleep = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      const read = () =>
        lock.shared(async () => {
          readers++;
          if (writers > 0) violations.push("read during write");
          await sleep();
          readers--;
        });
      const write = () =>
        lock.exclusive(async () => {
          writers++;
          if (writers > 1 || readers > 0) violations.push("write not alone");
          await sleep();
          writers--;
        });
      await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 4 === 0 ? write() : read())));
      expect(violations).to.deep.equal([]);
    });
  });
});
