import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { expect } from "chai";

import { DecryptionError, InvalidInputError, UnsupportedFormatError } from "../../../sdk/errors.js";
import {
  KEY_SLOT_LENGTH,
  generateDataKey,
  generateX25519KeyPair,
  openBytes,
  parseKeySlot,
  sealBytes,
  unwrapDataKey,
  wrapDataKey,
  x25519PublicKey,
  x25519SharedSecret,
} from "../../../sdk/crypto/index.js";
import type { EnvelopeContext } from "../../../sdk/crypto/index.js";
import { KAT_CONTEXT, KAT_KEY, concatAll, contextWith, fromHex, hex, seededRandom } from "./helpers.js";

/** RFC 7748 §6.1 (Curve25519 Diffie-Hellman). */
const RFC7748 = {
  alicePrivate: fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
  alicePublic: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  bobPrivate: fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
  bobPublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
};

/** Key slot KAT: fixed recipient, data key, key version 7, context and ephemeral randomness. */
const SLOT_KAT = {
  recipientPrivate: "298c7f4782659399cf0d4915e96c2b4859d4f978d29422c24412c06e93b48ac7",
  recipientPublic: "2ff4db107c0fdbab01f04990faee385a91a968365f05d2402bdbb7f9b804a73a",
  slot:
    "0100000007127b37767d56d220f51e6d5b718163d980c52fb91b82c085e57cfb439d3da059b21e3a8476e72e7b724ebdbee999" +
    "04e7b1d4adfb599c5926fb37fee2399fd2f8d459d67b8fe8f11803fd3bd5d49e45bb",
};

const P = 2n ** 255n - 19n;
function uBytes(u: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0, v = u; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}
/** u-coordinates of small order on Curve25519 and its twist, plus non-canonical encodings of 0 and 1. */
const LOW_ORDER_POINTS = [
  0n,
  1n,
  P - 1n,
  P,
  P + 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
].map(uBytes);

/** The documented slot derivation, from raw @noble primitives (independent of keyslot.ts). */
function referenceUnwrap(slot: Uint8Array, recipientPrivate: Uint8Array, ctx: EnvelopeContext): Uint8Array {
  const ephemeral = slot.subarray(5, 37);
  const recipientPublic = x25519.getPublicKey(recipientPrivate);
  const shared = x25519.getSharedSecret(recipientPrivate, ephemeral);
  const chainId = fromHex(ctx.chainId.toString(16).padStart(64, "0"));
  const ctxBytes = concatAll([ctx.recordId, ctx.subjectId, chainId, fromHex(ctx.registry.toLowerCase())]);
  const info = concatAll([new TextEncoder().encode("medledger/keyslot/v1"), ctxBytes]);
  const kek = hkdf(sha256, shared, concatAll([ephemeral, recipientPublic]), info, 32);
  const ad = concatAll([slot.subarray(0, 37), ctxBytes]);
  return chacha20poly1305(kek, new Uint8Array(12), ad).decrypt(slot.subarray(37));
}

function flip(bytes: Uint8Array, index: number, mask: number): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] ?? 0) ^ mask;
  return out;
}

describe("sdk/crypto/keyslot", () => {
  const recipient = generateX25519KeyPair(seededRandom("keyslot recipient"));
  const wrapKat = () =>
    wrapDataKey({
      dataKey: KAT_KEY,
      recipientPublicKey: recipient.publicKey,
      recipientKeyVersion: 7,
      context: KAT_CONTEXT,
      random: seededRandom("keyslot KAT"),
    });

  describe("X25519", () => {
    it("matches RFC 7748 §6.1", () => {
      expect(hex(x25519PublicKey(RFC7748.alicePrivate))).to.equal(RFC7748.alicePublic);
      expect(hex(x25519PublicKey(RFC7748.bobPrivate))).to.equal(RFC7748.bobPublic);
      expect(hex(x25519SharedSecret(RFC7748.alicePrivate, fromHex(RFC7748.bobPublic)))).to.equal(RFC7748.shared);
      expect(hex(x25519SharedSecret(RFC7748.bobPrivate, fromHex(RFC7748.alicePublic)))).to.equal(RFC7748.shared);
    });

    it("generates key pairs from the injected randomness", () => {
      const pair = generateX25519KeyPair(seededRandom("keyslot recipient"));
      expect(hex(pair.privateKey)).to.equal(SLOT_KAT.recipientPrivate);
      expect(hex(pair.publicKey)).to.equal(SLOT_KAT.recipientPublic);
      expect(hex(generateX25519KeyPair().publicKey)).not.to.equal(hex(generateX25519KeyPair().publicKey));
    });

    it("rejects low-order public keys and wrong lengths", () => {
      for (const point of LOW_ORDER_POINTS) {
        expect(() => x25519SharedSecret(RFC7748.alicePrivate, point), hex(point)).to.throw(
          InvalidInputError,
          /low-order/,
        );
      }
      expect(() => x25519PublicKey(new Uint8Array(31)))
        .to.throw(InvalidInputError)
        .with.property("shortMessage", "privateKey must be 32 bytes");
      expect(() => x25519SharedSecret(RFC7748.alicePrivate, new Uint8Array(33))).to.throw(
        InvalidInputError,
        /32 bytes/,
      );
    });
  });

  describe("format", () => {
    it("wraps to the pinned slot bytes (KAT) and the documented layout", () => {
      const slot = wrapKat();
      expect(slot.length).to.equal(KEY_SLOT_LENGTH);
      expect(hex(slot)).to.equal(SLOT_KAT.slot);
      const parsed = parseKeySlot(slot);
      expect(parsed.version).to.equal(1);
      expect(parsed.recipientKeyVersion).to.equal(7);
      const ephemeralPrivate = seededRandom("keyslot KAT")(32);
      expect(hex(parsed.ephemeralPublicKey)).to.equal(hex(x25519.getPublicKey(ephemeralPrivate)));
      expect(parsed.sealedKey.length).to.equal(48);
    });

    it("an independent implementation of the documented derivation unwraps it", () => {
      expect(hex(referenceUnwrap(wrapKat(), recipient.privateKey, KAT_CONTEXT))).to.equal(hex(KAT_KEY));
    });

    it("parseKeySlot rejects wrong lengths and unknown versions", () => {
      const slot = wrapKat();
      expect(() => parseKeySlot(slot.subarray(0, 84)))
        .to.throw(InvalidInputError)
        .with.property("shortMessage", "slot must be 85 bytes");
      expect(() => parseKeySlot(concatAll([slot, new Uint8Array(1)]))).to.throw(InvalidInputError);
      expect(() => parseKeySlot(flip(slot, 0, 0x03))).to.throw(UnsupportedFormatError, /version 2/);
    });
  });

  describe("wrap and unwrap", () => {
    it("round-trips a data key, which then opens the envelope", async () => {
      const dataKey = generateDataKey();
      const bob = generateX25519KeyPair();
      const envelope = await sealBytes(new TextEncoder().encode("lab result"), { key: dataKey, context: KAT_CONTEXT });
      const slot = wrapDataKey({
        dataKey,
        recipientPublicKey: bob.publicKey,
        recipientKeyVersion: 1,
        context: KAT_CONTEXT,
      });
      const unwrapped = unwrapDataKey({ slot, recipientPrivateKey: bob.privateKey, context: KAT_CONTEXT });
      expect(hex(unwrapped)).to.equal(hex(dataKey));
      expect(
        unwrapDataKey({ slot, recipientPrivateKey: bob.privateKey, context: KAT_CONTEXT, recipientKeyVersion: 1 }),
      ).to.deep.equal(unwrapped);
      const opened = await openBytes(envelope, { key: unwrapped, context: KAT_CONTEXT });
      expect(new TextDecoder().decode(opened)).to.equal("lab result");
    });

    it("uses a fresh ephemeral key per slot", () => {
      const params = {
        dataKey: KAT_KEY,
        recipientPublicKey: recipient.publicKey,
        recipientKeyVersion: 7,
        context: KAT_CONTEXT,
      };
      expect(hex(wrapDataKey(params))).not.to.equal(hex(wrapDataKey(params)));
    });

    it("every single-bit flip of the slot fails (DecryptionError, or UnsupportedFormatError for the version byte)", () => {
      const slot = wrapKat();
      for (let index = 0; index < slot.length; index++) {
        for (let bit = 0; bit < 8; bit++) {
          const tampered = flip(slot, index, 1 << bit);
          const expected = index === 0 ? UnsupportedFormatError : DecryptionError;
          expect(
            () => unwrapDataKey({ slot: tampered, recipientPrivateKey: recipient.privateKey, context: KAT_CONTEXT }),
            `byte ${index} bit ${bit}`,
          ).to.throw(expected);
        }
      }
    });

    it("a wrong private key is a DecryptionError", () => {
      const other = generateX25519KeyPair(seededRandom("someone else"));
      expect(() =>
        unwrapDataKey({ slot: wrapKat(), recipientPrivateKey: other.privateKey, context: KAT_CONTEXT }),
      ).to.throw(DecryptionError);
    });

    it("a wrong context field is a DecryptionError", () => {
      const wrong: EnvelopeContext[] = [
        contextWith({ recordId: flip(KAT_CONTEXT.recordId, 0, 1) }),
        contextWith({ subjectId: flip(KAT_CONTEXT.subjectId, 31, 0x80) }),
        contextWith({ chainId: 1n }),
        contextWith({ registry: "0x0000000000000000000000000000000000000001" }),
      ];
      for (const context of wrong) {
        expect(() => unwrapDataKey({ slot: wrapKat(), recipientPrivateKey: recipient.privateKey, context })).to.throw(
          DecryptionError,
        );
      }
    });

    it("a wrong recipient key version fails: tampered in the slot, or not the expected one", () => {
      const slot = wrapKat();
      const relabelled = slot.slice();
      new DataView(relabelled.buffer).setUint32(1, 8, false);
      expect(() =>
        unwrapDataKey({ slot: relabelled, recipientPrivateKey: recipient.privateKey, context: KAT_CONTEXT }),
      ).to.throw(DecryptionError);
      expect(() =>
        unwrapDataKey({
          slot,
          recipientPrivateKey: recipient.privateKey,
          context: KAT_CONTEXT,
          recipientKeyVersion: 8,
        }),
      ).to.throw(DecryptionError, /key version/);
    });

    it("rejects low-order recipient keys when wrapping and low-order ephemeral keys when unwrapping", () => {
      for (const point of LOW_ORDER_POINTS) {
        expect(() =>
          wrapDataKey({ dataKey: KAT_KEY, recipientPublicKey: point, recipientKeyVersion: 1, context: KAT_CONTEXT }),
        ).to.throw(InvalidInputError, /low-order/);
        const slot = wrapKat();
        slot.set(point, 5);
        expect(() => unwrapDataKey({ slot, recipientPrivateKey: recipient.privateKey, context: KAT_CONTEXT })).to.throw(
          DecryptionError,
          /low-order/,
        );
      }
    });

    it("validates lengths and the key version range", () => {
      const base = {
        dataKey: KAT_KEY,
        recipientPublicKey: recipient.publicKey,
        recipientKeyVersion: 1,
        context: KAT_CONTEXT,
      };
      expect(() => wrapDataKey({ ...base, dataKey: new Uint8Array(16) }))
        .to.throw(InvalidInputError)
        .with.property("shortMessage", "dataKey must be 32 bytes");
      expect(() => wrapDataKey({ ...base, recipientPublicKey: new Uint8Array(33) }))
        .to.throw(InvalidInputError)
        .with.property("shortMessage", "recipientPublicKey must be 32 bytes");
      for (const version of [-1, 2 ** 32, 1.5, Number.NaN]) {
        expect(() => wrapDataKey({ ...base, recipientKeyVersion: version })).to.throw(
          InvalidInputError,
          /recipientKeyVersion/,
        );
      }
      expect(wrapDataKey({ ...base, recipientKeyVersion: 2 ** 32 - 1 }).length).to.equal(85);
      expect(() => wrapDataKey({ ...base, random: () => new Uint8Array(8) })).to.throw(InvalidInputError, /32-byte/);
      expect(() => unwrapDataKey({ slot: wrapKat(), recipientPrivateKey: new Uint8Array(31), context: KAT_CONTEXT }))
        .to.throw(InvalidInputError)
        .with.property("shortMessage", "recipientPrivateKey must be 32 bytes");
    });
  });

  describe("node:crypto fast path", () => {
    it("public keys and shared secrets are byte-identical to noble's for random keys", () => {
      const random = seededRandom("x25519 cross-check");
      for (let i = 0; i < 64; i++) {
        const a = random(32);
        const b = random(32);
        const pubA = x25519PublicKey(a);
        expect(hex(pubA)).to.equal(hex(x25519.getPublicKey(a)));
        const pubB = x25519.getPublicKey(b);
        expect(hex(x25519SharedSecret(a, pubB))).to.equal(hex(x25519.getSharedSecret(a, pubB)));
      }
    });
  });
});
