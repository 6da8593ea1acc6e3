import { expect } from "chai";

import { DecryptionError, InvalidInputError } from "../../../sdk/errors.js";
import { defaultBackend, hasNodeCrypto, nobleBackend, nodeCryptoBackend } from "../../../sdk/crypto/index.js";
import type * as BackendModule from "../../../sdk/crypto/backend.js";
import type { CipherBackend } from "../../../sdk/crypto/index.js";
import { concatAll, fromHex, hex, pattern } from "./helpers.js";

/** RFC 8439 §2.8.2: the AEAD_CHACHA20_POLY1305 test vector. */
const RFC8439 = {
  key: fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
  nonce: fromHex("070000004041424344454647"),
  ad: fromHex("50515253c0c1c2c3c4c5c6c7"),
  plaintext: new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  ),
  ciphertext: fromHex(
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b6116",
  ),
  tag: fromHex("1ae10b594f09e26a7e902ecbd0600691"),
};

const BACKENDS: readonly CipherBackend[] = [nodeCryptoBackend, nobleBackend];

describe("sdk/crypto/backend", () => {
  it("node:crypto is available here and is the default", () => {
    expect(hasNodeCrypto()).to.equal(true);
    expect(defaultBackend()).to.equal(nodeCryptoBackend);
  });

  for (const backend of BACKENDS) {
    describe(backend.name, () => {
      it("matches the RFC 8439 §2.8.2 AEAD vector (seal)", () => {
        const sealed = backend.seal(RFC8439.key, RFC8439.nonce, RFC8439.plaintext, RFC8439.ad);
        expect(hex(sealed)).to.equal(hex(RFC8439.ciphertext) + hex(RFC8439.tag));
        expect(Object.getPrototypeOf(sealed)).to.equal(Uint8Array.prototype);
      });

      it("matches the RFC 8439 §2.8.2 AEAD vector (bound seal pieces and open)", () => {
        const bound = backend.bind(RFC8439.key);
        const pieces = bound.seal(RFC8439.nonce, RFC8439.plaintext, RFC8439.ad);
        expect(hex(concatAll(pieces))).to.equal(hex(RFC8439.ciphertext) + hex(RFC8439.tag));
        const opened = bound.open(RFC8439.nonce, concatAll([RFC8439.ciphertext, RFC8439.tag]), RFC8439.ad);
        expect(hex(opened)).to.equal(hex(RFC8439.plaintext));
        expect(Object.getPrototypeOf(opened)).to.equal(Uint8Array.prototype);
      });

      it("rejects a flipped bit in ciphertext, tag, AD or nonce with DecryptionError", () => {
        const sealed = concatAll([RFC8439.ciphertext, RFC8439.tag]);
        for (const index of [0, RFC8439.ciphertext.length - 1, RFC8439.ciphertext.length, sealed.length - 1]) {
          const bad = sealed.slice();
          bad[index] = (bad[index] ?? 0) ^ 0x01;
          expect(() => backend.open(RFC8439.key, RFC8439.nonce, bad, RFC8439.ad)).to.throw(DecryptionError);
        }
        const badAd = RFC8439.ad.slice();
        badAd[0] = (badAd[0] ?? 0) ^ 0x80;
        expect(() => backend.open(RFC8439.key, RFC8439.nonce, sealed, badAd)).to.throw(DecryptionError);
        const badNonce = RFC8439.nonce.slice();
        badNonce[11] = (badNonce[11] ?? 0) ^ 0x01;
        expect(() => backend.open(RFC8439.key, badNonce, sealed, RFC8439.ad)).to.throw(DecryptionError);
      });

      it("seals and opens the empty plaintext (tag only)", () => {
        const sealed = backend.seal(RFC8439.key, RFC8439.nonce, new Uint8Array(0), RFC8439.ad);
        expect(sealed.length).to.equal(16);
        expect(backend.open(RFC8439.key, RFC8439.nonce, sealed, RFC8439.ad).length).to.equal(0);
      });

      it("checks key, nonce and sealed lengths exactly", () => {
        expect(() => backend.seal(new Uint8Array(31), RFC8439.nonce, RFC8439.plaintext, RFC8439.ad))
          .to.throw(InvalidInputError)
          .with.property("shortMessage", "key must be 32 bytes");
        expect(() => backend.seal(RFC8439.key, new Uint8Array(24), RFC8439.plaintext, RFC8439.ad))
          .to.throw(InvalidInputError)
          .with.property("shortMessage", "nonce must be 12 bytes");
        expect(() => backend.open(RFC8439.key, RFC8439.nonce, new Uint8Array(15), RFC8439.ad)).to.throw(
          InvalidInputError,
        );
        expect(() => backend.bind(new Uint8Array(33))).to.throw(InvalidInputError);
      });
    });
  }

  it("both backends agree on random-looking inputs of many lengths", () => {
    for (const length of [0, 1, 15, 16, 17, 63, 64, 65, 1000, 4096, 65_537]) {
      const key = pattern(32, 13, length);
      const nonce = pattern(12, 5, length);
      const ad = pattern(length % 200, 3, 1);
      const plaintext = pattern(length, 11, 7);
      const a = nodeCryptoBackend.seal(key, nonce, plaintext, ad);
      const b = nobleBackend.seal(key, nonce, plaintext, ad);
      expect(hex(a)).to.equal(hex(b));
      expect(hex(nobleBackend.open(key, nonce, a, ad))).to.equal(hex(plaintext));
      expect(hex(nodeCryptoBackend.open(key, nonce, b, ad))).to.equal(hex(plaintext));
    }
  });

  describe("without node:crypto (browser-like platform)", () => {
    const proc = process as { getBuiltinModule?: unknown };
    let saved: unknown;
    before(() => {
      saved = proc.getBuiltinModule;
      proc.getBuiltinModule = () => undefined;
    });
    after(() => {
      proc.getBuiltinModule = saved;
    });

    it("defaults to noble, and nodeCryptoBackend throws DependencyMissingError", async () => {
      // A fresh module instance, so its node:crypto lookup runs under the stub.
      const fresh = (await import(`../../../sdk/crypto/backend.js?no-node=${Date.now()}`)) as typeof BackendModule;
      expect(fresh.hasNodeCrypto()).to.equal(false);
      expect(fresh.defaultBackend().name).to.equal("noble");
      expect(() => fresh.nodeCryptoBackend.seal(RFC8439.key, RFC8439.nonce, RFC8439.plaintext, RFC8439.ad))
        .to.throw(Error)
        .with.property("name", "DependencyMissingError");
      const sealed = fresh.defaultBackend().seal(RFC8439.key, RFC8439.nonce, RFC8439.plaintext, RFC8439.ad);
      expect(hex(sealed)).to.equal(hex(RFC8439.ciphertext) + hex(RFC8439.tag));
    });
  });

  it("no crypto module imports a Node built-in at run time (browser bundles load)", async () => {
    const { readdir, readFile } = await import("node:fs/promises");
    const dir = new URL("../../../sdk/crypto/", import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith(".ts"));
    expect(files.length).to.be.greaterThan(5);
    for (const file of files) {
      const source = await readFile(new URL(file, dir), "utf8");
      const runtimeNodeImports = source.match(/^import (?!type )[^;]*from "node:[^"]+";/gm) ?? [];
      expect(runtimeNodeImports, file).to.deep.equal([]);
      expect(source, file).not.to.match(/\brequire\(/);
    }
  });
});
