import { mkdtemp, readFile, rm, stat, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { scrypt } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { expect } from "chai";
import { Wallet } from "ethers";

import {
  DependencyMissingError,
  IntegrityError,
  InvalidInputError,
  NotFoundError,
  UnsupportedFormatError,
  WrongPassphraseError,
} from "../../../sdk/errors.js";
import {
  DEFAULT_SCRYPT_PARAMS,
  createIdentity,
  decryptKeystore,
  encryptKeystore,
  ethereumAddress,
  identityFromKeys,
  loadKeystore,
  saveKeystore,
  x25519PublicKey,
} from "../../../sdk/crypto/index.js";
import type { Identity, KeystoreOptions } from "../../../sdk/crypto/index.js";
import { concatAll, fromHex, hex, seededRandom } from "./helpers.js";

const PASSPHRASE = "correct horse battery staple";
/** Test-only cost: 2^10 keeps the suite fast; production files use N = 2^17. */
const FAST: KeystoreOptions = { scrypt: { N: 2 ** 10 } };

interface KeystoreDoc {
  version: number;
  kind: string;
  address: string;
  x25519PublicKey: string;
  keyVersion: number;
  kdf: { name: string; N: number; r: number; p: number; salt: string };
  check: string;
  cipher: { name: string; nonce: string; ciphertext: string };
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/** The documented derivation, from raw @noble primitives (independent of keystore.ts). */
function referenceKeys(doc: KeystoreDoc, passphrase: string) {
  const master = scrypt(new TextEncoder().encode(passphrase.normalize("NFKC")), fromHex(doc.kdf.salt), {
    N: doc.kdf.N,
    r: doc.kdf.r,
    p: doc.kdf.p,
    dkLen: 32,
  });
  const encKey = hkdf(sha256, master, undefined, new TextEncoder().encode("medledger/keystore/v1/encrypt"), 32);
  const check = hkdf(sha256, master, undefined, new TextEncoder().encode("medledger/keystore/v1/check"), 32);
  const ad = concatAll([
    new TextEncoder().encode("medledger/keystore/v1"),
    u32(doc.kdf.N),
    u32(doc.kdf.r),
    u32(doc.kdf.p),
    fromHex(doc.kdf.salt),
    fromHex(doc.address.toLowerCase()),
    fromHex(doc.x25519PublicKey),
    u32(doc.keyVersion),
  ]);
  return { encKey, check, ad };
}

function parse(json: string): KeystoreDoc {
  return JSON.parse(json) as KeystoreDoc;
}

async function decryptError(json: string, passphrase = PASSPHRASE): Promise<unknown> {
  try {
    await decryptKeystore(json, passphrase);
    return new Error("decrypted a bad keystore");
  } catch (err) {
    return err;
  }
}

function sameIdentity(a: Identity, b: Identity): void {
  expect(hex(a.signingKey)).to.equal(hex(b.signingKey));
  expect(a.address).to.equal(b.address);
  expect(hex(a.x25519.privateKey)).to.equal(hex(b.x25519.privateKey));
  expect(hex(a.x25519.publicKey)).to.equal(hex(b.x25519.publicKey));
  expect(a.keyVersion).to.equal(b.keyVersion);
}

describe("sdk/crypto/keystore", () => {
  const identity = createIdentity(seededRandom("keystore identity"));
  let json: string;

  before(async () => {
    json = await encryptKeystore(identity, PASSPHRASE, { ...FAST, random: seededRandom("keystore KAT") });
  });

  describe("identity", () => {
    it("derives the Ethereum address as ethers does (EIP-55)", () => {
      const wallet = new Wallet(hex(identity.signingKey));
      expect(identity.address).to.equal(wallet.address);
      expect(ethereumAddress(identity.signingKey)).to.equal(wallet.address);
      expect(identity.keyVersion).to.equal(1);
      expect(hex(identity.x25519.publicKey)).to.equal(hex(x25519PublicKey(identity.x25519.privateKey)));
    });

    it("is random by default and reproducible with injected randomness", () => {
      expect(createIdentity().address).not.to.equal(createIdentity().address);
      expect(createIdentity(seededRandom("keystore identity")).address).to.equal(identity.address);
    });

    it("identityFromKeys imports existing keys and validates them", () => {
      const imported = identityFromKeys({
        signingKey: identity.signingKey,
        x25519PrivateKey: identity.x25519.privateKey,
        keyVersion: 3,
      });
      expect(imported.address).to.equal(identity.address);
      expect(imported.keyVersion).to.equal(3);
      expect(() =>
        identityFromKeys({
          signingKey: new Uint8Array(32),
          x25519PrivateKey: identity.x25519.privateKey,
          keyVersion: 1,
        }),
      ).to.throw(InvalidInputError, /secp256k1/);
      const n = fromHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
      expect(() => ethereumAddress(n)).to.throw(InvalidInputError);
    });
  });

  describe("format", () => {
    it("writes the documented JSON", () => {
      const doc = parse(json);
      expect(Object.keys(doc)).to.have.members([
        "version",
        "kind",
        "address",
        "x25519PublicKey",
        "keyVersion",
        "kdf",
        "check",
        "cipher",
      ]);
      expect(doc.version).to.equal(1);
      expect(doc.kind).to.equal("medledger-identity");
      expect(doc.address).to.equal(identity.address);
      expect(doc.x25519PublicKey).to.equal(`0x${hex(identity.x25519.publicKey)}`);
      expect(doc.keyVersion).to.equal(1);
      expect(doc.kdf).to.deep.include({ name: "scrypt", N: 1024, r: 8, p: 1 });
      expect(doc.kdf.salt).to.match(/^0x[0-9a-f]{64}$/);
      expect(doc.cipher.name).to.equal("xchacha20-poly1305");
      expect(doc.cipher.nonce).to.match(/^0x[0-9a-f]{48}$/);
      expect(doc.cipher.ciphertext).to.match(/^0x[0-9a-f]{160}$/);
      expect(json).not.to.contain(hex(identity.signingKey));
      expect(json).not.to.contain(hex(identity.x25519.privateKey));
    });

    it("an independent implementation of the documented derivation decrypts it", () => {
      const doc = parse(json);
      const { encKey, check, ad } = referenceKeys(doc, PASSPHRASE);
      expect(`0x${hex(check)}`).to.equal(doc.check);
      const plaintext = xchacha20poly1305(encKey, fromHex(doc.cipher.nonce), ad).decrypt(
        fromHex(doc.cipher.ciphertext),
      );
      expect(hex(plaintext)).to.equal(hex(identity.signingKey) + hex(identity.x25519.privateKey));
    });

    it("uses N = 2^17, r = 8, p = 1 by default", async () => {
      expect(DEFAULT_SCRYPT_PARAMS).to.deep.equal({ N: 131072, r: 8, p: 1 });
      const strong = await encryptKeystore(identity, PASSPHRASE);
      expect(parse(strong).kdf).to.deep.include({ N: 131072, r: 8, p: 1 });
      sameIdentity(await decryptKeystore(strong, PASSPHRASE), identity);
    });
  });

  describe("decrypt", () => {
    it("round-trips the identity", async () => {
      sameIdentity(await decryptKeystore(json, PASSPHRASE), identity);
    });

    it("normalizes the passphrase (NFKC)", async () => {
      const composed = await encryptKeystore(identity, "caf\u00e9 secret", FAST);
      sameIdentity(await decryptKeystore(composed, "cafe\u0301 secret"), identity);
    });

    it("a wrong passphrase is a WrongPassphraseError", async () => {
      for (const wrong of ["correct horse battery stapler", "Correct horse battery staple", " "]) {
        expect(await decryptError(json, wrong)).to.be.instanceOf(WrongPassphraseError);
      }
    });

    it("altered ciphertext, nonce, address, public key or key version is an IntegrityError", async () => {
      const doc = parse(json);
      const other = createIdentity(seededRandom("someone else"));
      const ciphertextBytes = fromHex(doc.cipher.ciphertext);
      const alterations: [string, (d: KeystoreDoc) => void][] = [
        [
          "ciphertext first byte",
          (d) => (d.cipher.ciphertext = `0x${hex(ciphertextBytes.map((b, i) => (i === 0 ? b ^ 1 : b)))}`),
        ],
        [
          "ciphertext tag",
          (d) => (d.cipher.ciphertext = `0x${hex(ciphertextBytes.map((b, i) => (i === 79 ? b ^ 0x80 : b)))}`),
        ],
        ["nonce", (d) => (d.cipher.nonce = `0x${"00".repeat(24)}`)],
        ["address", (d) => (d.address = other.address)],
        ["x25519PublicKey", (d) => (d.x25519PublicKey = `0x${hex(other.x25519.publicKey)}`)],
        ["keyVersion", (d) => (d.keyVersion = 2)],
      ];
      for (const [what, alter] of alterations) {
        const altered = parse(json);
        alter(altered);
        expect(await decryptError(JSON.stringify(altered)), what).to.be.instanceOf(IntegrityError);
      }
    });

    it("altered scrypt parameters or salt cannot be told from a wrong passphrase", async () => {
      for (const alter of [
        (d: KeystoreDoc) => (d.kdf.N = 2048),
        (d: KeystoreDoc) => (d.kdf.r = 7),
        (d: KeystoreDoc) => (d.kdf.p = 2),
        (d: KeystoreDoc) => (d.kdf.salt = `0x${"11".repeat(32)}`),
        (d: KeystoreDoc) => (d.check = `0x${"00".repeat(32)}`),
      ]) {
        const altered = parse(json);
        alter(altered);
        expect(await decryptError(JSON.stringify(altered))).to.be.instanceOf(WrongPassphraseError);
      }
    });

    it("keys that do not match the stored address or public key are an IntegrityError", async () => {
      // A file written with the right passphrase but inconsistent contents (a buggy or hostile writer).
      const other = createIdentity(seededRandom("someone else"));
      for (const mismatch of ["address", "x25519"] as const) {
        const doc = parse(json);
        const plaintext =
          mismatch === "address"
            ? concatAll([other.signingKey, identity.x25519.privateKey])
            : concatAll([identity.signingKey, other.x25519.privateKey]);
        const { encKey, ad } = referenceKeys(doc, PASSPHRASE);
        doc.cipher.ciphertext = `0x${hex(xchacha20poly1305(encKey, fromHex(doc.cipher.nonce), ad).encrypt(plaintext))}`;
        expect(await decryptError(JSON.stringify(doc)), mismatch)
          .to.be.instanceOf(IntegrityError)
          .with.property("shortMessage")
          .match(/match/);
      }
    });

    it("unknown version, kind, KDF or cipher is an UnsupportedFormatError", async () => {
      for (const alter of [
        (d: KeystoreDoc) => (d.version = 2),
        (d: KeystoreDoc) => (d.kind = "ethereum-keystore"),
        (d: KeystoreDoc) => (d.kdf.name = "pbkdf2"),
        (d: KeystoreDoc) => (d.cipher.name = "aes-128-ctr"),
      ]) {
        const altered = parse(json);
        alter(altered);
        expect(await decryptError(JSON.stringify(altered))).to.be.instanceOf(UnsupportedFormatError);
      }
    });

    it("malformed JSON or fields and out-of-bounds scrypt parameters are an InvalidInputError", async () => {
      const cases: string[] = ["not json", "[]", "null", JSON.stringify({ ...parse(json), kdf: "scrypt" })];
      for (const alter of [
        (d: KeystoreDoc) => (d.kdf.N = 1000),
        (d: KeystoreDoc) => (d.kdf.N = 512),
        (d: KeystoreDoc) => (d.kdf.N = 2 ** 21),
        (d: KeystoreDoc) => {
          d.kdf.N = 2 ** 20; // with r = 16: 2 GiB of memory
          d.kdf.r = 16;
        },
        (d: KeystoreDoc) => (d.kdf.r = 0),
        (d: KeystoreDoc) => (d.kdf.p = 17),
        (d: KeystoreDoc) => (d.kdf.salt = "0x1234"),
        (d: KeystoreDoc) => (d.cipher.ciphertext = d.cipher.ciphertext.slice(0, -2)),
        (d: KeystoreDoc) => (d.cipher.nonce = "zz"),
        (d: KeystoreDoc) => (d.address = "0x1234"),
        (d: KeystoreDoc) => (d.keyVersion = -1),
      ]) {
        const altered = parse(json);
        alter(altered);
        cases.push(JSON.stringify(altered));
      }
      for (const text of cases) {
        expect(await decryptError(text), text.slice(0, 80)).to.be.instanceOf(InvalidInputError);
      }
      expect(await decryptError(json, "")).to.be.instanceOf(InvalidInputError);
    });
  });

  describe("encrypt", () => {
    it("rejects inconsistent identities and out-of-bounds parameters", async () => {
      const other = createIdentity(seededRandom("someone else"));
      const bad: Identity[] = [
        { ...identity, address: other.address },
        { ...identity, x25519: { privateKey: identity.x25519.privateKey, publicKey: other.x25519.publicKey } },
        { ...identity, signingKey: new Uint8Array(31) },
        { ...identity, keyVersion: -1 },
      ];
      for (const candidate of bad) {
        const err = await encryptKeystore(candidate, PASSPHRASE, FAST).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(InvalidInputError);
      }
      for (const scrypt of [{ N: 2 ** 9 }, { N: 3000 }, { N: 2 ** 21 }, { r: 0 }, { p: 0 }, { p: 17 }]) {
        const err = await encryptKeystore(identity, PASSPHRASE, { scrypt }).catch((e: unknown) => e);
        expect(err, JSON.stringify(scrypt)).to.be.instanceOf(InvalidInputError);
      }
      expect(await encryptKeystore(identity, "", FAST).catch((e: unknown) => e)).to.be.instanceOf(InvalidInputError);
    });

    it("draws a fresh salt and nonce each time", async () => {
      const a = parse(await encryptKeystore(identity, PASSPHRASE, FAST));
      const b = parse(await encryptKeystore(identity, PASSPHRASE, FAST));
      expect(a.kdf.salt).not.to.equal(b.kdf.salt);
      expect(a.cipher.nonce).not.to.equal(b.cipher.nonce);
      expect(a.cipher.ciphertext).not.to.equal(b.cipher.ciphertext);
    });
  });

  describe("without Node built-ins (browser-like platform)", () => {
    const proc = process as { getBuiltinModule?: unknown };
    let saved: unknown;
    beforeEach(() => {
      saved = proc.getBuiltinModule;
      proc.getBuiltinModule = () => undefined;
    });
    afterEach(() => {
      proc.getBuiltinModule = saved;
    });

    it("runs scrypt in @noble/hashes with the same result as node:crypto", async () => {
      sameIdentity(await decryptKeystore(json, PASSPHRASE), identity);
      const again = await encryptKeystore(identity, PASSPHRASE, { ...FAST, random: seededRandom("keystore KAT") });
      expect(again).to.equal(json);
    });

    it("keystore files throw DependencyMissingError", async () => {
      const err = await saveKeystore(join(tmpdir(), "never-written.json"), identity, PASSPHRASE, FAST).catch(
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DependencyMissingError);
      expect(await loadKeystore("identity.json", PASSPHRASE).catch((e: unknown) => e)).to.be.instanceOf(
        DependencyMissingError,
      );
    });
  });

  describe("files", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "medledger-keystore-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("saves with mode 0600 and loads the identity back, leaving no temporary file", async () => {
      const path = join(dir, "identity.json");
      await saveKeystore(path, identity, PASSPHRASE, FAST);
      const mode = (await stat(path)).mode & 0o777;
      if (process.platform !== "win32") expect(mode.toString(8)).to.equal("600");
      expect(await readdir(dir)).to.deep.equal(["identity.json"]);
      expect(parse(await readFile(path, "utf8")).address).to.equal(identity.address);
      sameIdentity(await loadKeystore(path, PASSPHRASE), identity);
      expect(await loadKeystore(path, "wrong").catch((e: unknown) => e)).to.be.instanceOf(WrongPassphraseError);
    });

    it("refuses to overwrite unless asked to", async () => {
      const path = join(dir, "identity.json");
      await saveKeystore(path, identity, PASSPHRASE, FAST);
      const rotated = identityFromKeys({
        signingKey: identity.signingKey,
        x25519PrivateKey: new Uint8Array(32).fill(7),
        keyVersion: 2,
      });
      const err = await saveKeystore(path, rotated, PASSPHRASE, FAST).catch((e: unknown) => e);
      expect(err)
        .to.be.instanceOf(InvalidInputError)
        .with.property("shortMessage")
        .match(/already exists/);
      expect((await loadKeystore(path, PASSPHRASE)).keyVersion).to.equal(1);
      await saveKeystore(path, rotated, PASSPHRASE, { ...FAST, overwrite: true });
      expect((await loadKeystore(path, PASSPHRASE)).keyVersion).to.equal(2);
      if (process.platform !== "win32") expect(((await stat(path)).mode & 0o777).toString(8)).to.equal("600");
      expect(await readdir(dir)).to.deep.equal(["identity.json"]);
    });

    it("a missing file is a NotFoundError; a huge file is rejected unread", async () => {
      expect(await loadKeystore(join(dir, "missing.json"), PASSPHRASE).catch((e: unknown) => e)).to.be.instanceOf(
        NotFoundError,
      );
      const huge = join(dir, "huge.json");
      await writeFile(huge, " ".repeat(100_000));
      expect(await loadKeystore(huge, PASSPHRASE).catch((e: unknown) => e)).to.be.instanceOf(InvalidInputError);
    });
  });
});
