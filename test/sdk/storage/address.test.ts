import { createHash, randomBytes } from "node:crypto";

import { expect } from "chai";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { base36 } from "multiformats/bases/base36";

import { InvalidInputError } from "../../../sdk/errors.js";
import { isBlobAddress, parseAddress, sha256Address } from "../../../sdk/storage/index.js";
import { createNobleSha256, createSha256, toHex } from "../../../sdk/storage/internal/hash.js";

const cidOf = (code: number, data: Uint8Array, hash = 0x12): CID =>
  CID.createV1(
    code,
    Digest.create(
      hash,
      createHash(hash === 0x13 ? "sha512" : "sha256")
        .update(data)
        .digest(),
    ),
  );

describe("sdk/storage/address", function () {
  describe("sha256Address", function () {
    it('matches the known SHA-256 of "hello" and of the empty string', function () {
      expect(sha256Address(new TextEncoder().encode("hello"))).to.equal(
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
      );
      expect(sha256Address(new Uint8Array())).to.equal(
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      );
    });

    it("rejects non-bytes", function () {
      expect(() => sha256Address("hello" as never)).to.throw(InvalidInputError);
    });
  });

  describe("parseAddress", function () {
    it("splits a sha256 address into its digest", function () {
      const data = randomBytes(100);
      const parsed = parseAddress(sha256Address(data));
      expect(parsed.scheme).to.equal("sha256");
      expect(Buffer.from(parsed.digest).equals(createHash("sha256").update(data).digest())).to.equal(true);
    });

    it("accepts canonical CIDv1 raw and dag-pb with sha2-256", function () {
      for (const [code, codec] of [
        [0x55, "raw"],
        [0x70, "dag-pb"],
      ] as const) {
        const cid = cidOf(code, randomBytes(10));
        const parsed = parseAddress(cid.toString());
        expect(parsed.scheme === "cid" && parsed.codec === codec && parsed.cid.equals(cid)).to.equal(true);
      }
    });

    it("rejects CIDv0, other codecs, other hashes and non-canonical spellings", function () {
      const raw = cidOf(0x55, randomBytes(10));
      const bad = [
        cidOf(0x70, randomBytes(10)).toV0().toString(), // Qm…
        cidOf(0x71, randomBytes(10)).toString(), // dag-cbor
        cidOf(0x55, randomBytes(10), 0x13).toString(), // sha2-512
        raw.toString(base36), // k…
        raw.toString().toUpperCase(),
        `${raw.toString()}x`,
        raw.toString().slice(0, -1) + "1", // not base32
        `b${"a".repeat(58)}`, // right shape, not a CID
      ];
      for (const address of bad) {
        expect(() => parseAddress(address), address).to.throw(InvalidInputError);
        expect(isBlobAddress(address), address).to.equal(false);
      }
    });

    it("rejects path-like and malformed sha256 addresses", function () {
      for (const address of [
        "../../etc/passwd",
        "sha256:../../../etc/passwd",
        `sha256:${"0".repeat(63)}`,
        `sha256:${"0".repeat(65)}`,
        `sha256:${"0".repeat(64)}\n`,
        `SHA256:${"0".repeat(64)}`,
        `sha512:${"0".repeat(64)}`,
        "",
      ]) {
        expect(() => parseAddress(address), JSON.stringify(address)).to.throw(InvalidInputError);
      }
      expect(() => parseAddress(42)).to.throw(InvalidInputError);
      expect(isBlobAddress(`sha256:${"0".repeat(64)}`)).to.equal(true);
    });

    it("never echoes a huge input into the error message", function () {
      try {
        parseAddress("x".repeat(100_000));
        expect.fail("should throw");
      } catch (err) {
        expect((err as Error).message.length).to.be.below(300);
      }
    });
  });

  describe("hashing", function () {
    it("gives the same digest with node:crypto, @noble/hashes and one-shot hashing, however the input is cut", function () {
      const data = randomBytes(1_000_003);
      const expected = createHash("sha256").update(data).digest("hex");
      for (const make of [createSha256, createNobleSha256]) {
        const hash = make();
        for (let offset = 0, step = 1; offset < data.length; offset += step, step = (step * 7 + 3) % 100_000) {
          hash.update(data.subarray(offset, offset + step));
        }
        expect(toHex(hash.digest())).to.equal(expected);
      }
    });
  });
});
