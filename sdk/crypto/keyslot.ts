/**
 * Key slots: a record's 32-byte data key wrapped for one recipient's registered X25519 key.
 *
 * Re-sharing a record wraps its data key again; the bulk data is never re-encrypted. The
 * on-chain digest covers the envelope, not the key slots, so slots can be added, rotated to a new
 * recipient key version, or destroyed (crypto-shredding) without touching the anchor.
 *
 * ## Format, version 1 (85 bytes, integers big-endian)
 *
 * ```
 * offset  size  field
 *      0     1  version             0x01
 *      1     4  recipientKeyVersion uint32: the version of the recipient's registered X25519 key
 *      5    32  ephemeralPublicKey  X25519 public key of a fresh ephemeral key pair
 *     37    48  sealedKey           ChaCha20-Poly1305 ciphertext of the data key (32) || tag (16)
 * ```
 *
 * Derivation (E = ephemeral key pair, R = recipient key pair, ctx = the 116-byte encoded
 * {@link EnvelopeContext}: recordId || subjectId || chainId (uint256) || registry):
 *
 * ```
 * shared = X25519(E.private, R.public)            all-zero / low-order inputs are rejected
 * kek    = HKDF-SHA256(IKM = shared, salt = E.public || R.public,
 *                      info = "medledger/keyslot/v1" || ctx, L = 32)
 * AD     = slot[0..37] (version || recipientKeyVersion || ephemeralPublicKey) || ctx
 * sealedKey = ChaCha20-Poly1305(kek, nonce = 12 zero bytes, AD).seal(dataKey)
 * ```
 *
 * The all-zero nonce is safe because every kek is used exactly once: it depends on a fresh
 * ephemeral key. The context and key version are bound twice (HKDF info and AD), so a slot moved to
 * another record, chain, registry or key version fails to open with a DecryptionError.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { DecryptionError, InvalidInputError, UnsupportedFormatError } from "../errors.js";
import { ascii, assertBytes, assertInteger, concat, isAllZero, readU32BE, writeU32BE } from "./bytes.js";
import { encodeContext } from "./context.js";
import type { EnvelopeContext } from "./context.js";
import { DATA_KEY_LENGTH } from "./envelope.js";
import type * as NodeCryptoModule from "node:crypto";

import { nodeBuiltin } from "./platform.js";
import { drawRandom } from "./random.js";
import type { RandomSource } from "./random.js";

/** The key slot format version this SDK writes and reads. */
export const KEY_SLOT_VERSION = 1;
/** Length of a serialized version-1 key slot: 1 + 4 + 32 + 48. */
export const KEY_SLOT_LENGTH = 85;
/** Length of X25519 private and public keys. */
export const X25519_KEY_LENGTH = 32;
/** Largest key version (uint32). */
export const MAX_KEY_VERSION = 0xffff_ffff;

const KEYSLOT_INFO = ascii("medledger/keyslot/v1");
const SLOT_PREFIX_LENGTH = 37;
const ZERO_NONCE = new Uint8Array(12);

/** An X25519 key pair. */
export interface X25519KeyPair {
  /** 32 random bytes (clamped when used, per RFC 7748). */
  privateKey: Uint8Array;
  /** 32-byte u-coordinate. */
  publicKey: Uint8Array;
}

/** A parsed key slot (see the module doc for the byte layout). */
export interface KeySlot {
  /** Format version (1). */
  readonly version: number;
  /** Version of the recipient key the slot is wrapped for. */
  readonly recipientKeyVersion: number;
  /** The sender's ephemeral X25519 public key. */
  readonly ephemeralPublicKey: Uint8Array;
  /** Encrypted data key and its tag (48 bytes). */
  readonly sealedKey: Uint8Array;
}

/** Parameters of {@link wrapDataKey}. */
export interface WrapDataKeyParams {
  /** The record version's 32-byte data key. */
  dataKey: Uint8Array;
  /** The recipient's registered X25519 public key (32 bytes). */
  recipientPublicKey: Uint8Array;
  /** The registered version of that key (uint32). */
  recipientKeyVersion: number;
  /** The record the data key belongs to. */
  context: EnvelopeContext;
  /** Randomness for the ephemeral key; default the platform CSPRNG. */
  random?: RandomSource;
}

/** Parameters of {@link unwrapDataKey}. */
export interface UnwrapDataKeyParams {
  /** A serialized key slot (85 bytes). */
  slot: Uint8Array;
  /** The recipient's X25519 private key (32 bytes). */
  recipientPrivateKey: Uint8Array;
  /** The record the slot is expected to belong to. */
  context: EnvelopeContext;
  /** When given, the slot must be wrapped for this key version (DecryptionError otherwise). */
  recipientKeyVersion?: number;
}

type NodeCrypto = typeof NodeCryptoModule;

/** X25519 through node:crypto (about 50x faster than pure JS), or undefined off Node. */
interface X25519Impl {
  publicKey(privateKey: Uint8Array): Uint8Array;
  sharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

// DER prefixes of an X25519 PKCS#8 private key and SPKI public key (RFC 8410); the raw 32 bytes follow.
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

const nobleX25519: X25519Impl = {
  publicKey: (privateKey) => x25519.getPublicKey(privateKey),
  sharedSecret: (privateKey, publicKey) => x25519.getSharedSecret(privateKey, publicKey),
};

let x25519Impl: X25519Impl | undefined;

/** node:crypto when present (byte-identical results: X25519 is deterministic), noble otherwise. */
function x25519Backend(): X25519Impl {
  if (x25519Impl !== undefined) return x25519Impl;
  const nodeCrypto = nodeBuiltin<NodeCrypto>("node:crypto");
  if (nodeCrypto?.diffieHellman === undefined) return (x25519Impl = nobleX25519);
  const privateKeyObject = (raw: Uint8Array) =>
    nodeCrypto.createPrivateKey({ key: Buffer.from(concat(PKCS8_PREFIX, raw)), format: "der", type: "pkcs8" });
  x25519Impl = {
    publicKey: (privateKey) =>
      new Uint8Array(
        nodeCrypto
          .createPublicKey(privateKeyObject(privateKey))
          .export({ format: "der", type: "spki" })
          .subarray(SPKI_PREFIX.length),
      ),
    sharedSecret: (privateKey, publicKey) =>
      new Uint8Array(
        nodeCrypto.diffieHellman({
          privateKey: privateKeyObject(privateKey),
          publicKey: nodeCrypto.createPublicKey({
            key: Buffer.from(concat(SPKI_PREFIX, publicKey)),
            format: "der",
            type: "spki",
          }),
        }),
      ),
  };
  return x25519Impl;
}

function sharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
  let shared: Uint8Array;
  try {
    // Low-order u-coordinates (all-zero products) are refused by both implementations.
    shared = x25519Backend().sharedSecret(privateKey, publicKey);
  } catch {
    return undefined;
  }
  return isAllZero(shared) ? undefined : shared;
}

/**
 * Generates an X25519 key pair for receiving key slots.
 *
 * @example
 * ```ts
 * import { generateX25519KeyPair } from "medledger";
 * const { privateKey, publicKey } = generateX25519KeyPair();
 * ```
 */
export function generateX25519KeyPair(random?: RandomSource): X25519KeyPair {
  const privateKey = drawRandom(X25519_KEY_LENGTH, random);
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
}

/**
 * The X25519 public key of `privateKey` (RFC 7748 scalar multiplication of the base point).
 *
 * @example
 * ```ts
 * import { x25519PublicKey } from "medledger";
 * const publicKey = x25519PublicKey(privateKey);
 * ```
 */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, "privateKey", X25519_KEY_LENGTH);
  return x25519Backend().publicKey(privateKey);
}

/**
 * Raw X25519 (RFC 7748): the shared secret of `privateKey` and `publicKey`. Throws
 * InvalidInputError for a low-order public key (its shared secret would be all zeros).
 *
 * @example
 * ```ts
 * import { x25519SharedSecret } from "medledger";
 * const shared = x25519SharedSecret(alice.privateKey, bob.publicKey);
 * ```
 */
export function x25519SharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, "privateKey", X25519_KEY_LENGTH);
  assertBytes(publicKey, "publicKey", X25519_KEY_LENGTH);
  const shared = sharedSecret(privateKey, publicKey);
  if (shared === undefined) {
    throw new InvalidInputError("publicKey is a low-order X25519 point", {
      details: "the shared secret would be all zeros",
    });
  }
  return shared;
}

/**
 * Parses a serialized key slot. Throws InvalidInputError for a wrong length and
 * UnsupportedFormatError for an unknown version.
 *
 * @example
 * ```ts
 * import { parseKeySlot } from "medledger";
 * const { recipientKeyVersion } = parseKeySlot(slot);
 * ```
 */
export function parseKeySlot(bytes: Uint8Array): KeySlot {
  assertBytes(bytes, "slot");
  if (bytes.length > 0 && bytes[0] !== KEY_SLOT_VERSION) {
    throw new UnsupportedFormatError(`Unsupported key slot version ${bytes[0] ?? 0}`, {
      details: `this SDK reads key slot version ${KEY_SLOT_VERSION}`,
    });
  }
  assertBytes(bytes, "slot", KEY_SLOT_LENGTH);
  return {
    version: KEY_SLOT_VERSION,
    recipientKeyVersion: readU32BE(bytes, 1),
    ephemeralPublicKey: bytes.slice(5, 5 + X25519_KEY_LENGTH),
    sealedKey: bytes.slice(SLOT_PREFIX_LENGTH, KEY_SLOT_LENGTH),
  };
}

function keyEncryptionKey(
  shared: Uint8Array,
  ephemeralPublicKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  contextBytes: Uint8Array,
): Uint8Array {
  return hkdf(sha256, shared, concat(ephemeralPublicKey, recipientPublicKey), concat(KEYSLOT_INFO, contextBytes), 32);
}

/**
 * Wraps a data key for one recipient's registered X25519 key; returns the 85-byte key slot.
 * Throws InvalidInputError for wrong lengths, a key version outside uint32, or a low-order
 * recipient key.
 *
 * @example
 * ```ts
 * import { generateDataKey, wrapDataKey } from "medledger";
 * const dataKey = generateDataKey();
 * const slot = wrapDataKey({ dataKey, recipientPublicKey, recipientKeyVersion: 1, context });
 * ```
 */
export function wrapDataKey(params: WrapDataKeyParams): Uint8Array {
  if (typeof params !== "object" || params === null)
    throw new InvalidInputError("wrapDataKey expects a parameter object");
  const { dataKey, recipientPublicKey, recipientKeyVersion, context, random } = params;
  assertBytes(dataKey, "dataKey", DATA_KEY_LENGTH);
  assertBytes(recipientPublicKey, "recipientPublicKey", X25519_KEY_LENGTH);
  assertInteger(recipientKeyVersion, "recipientKeyVersion", 0, MAX_KEY_VERSION);
  const contextBytes = encodeContext(context);

  const ephemeral = generateX25519KeyPair(random);
  const shared = sharedSecret(ephemeral.privateKey, recipientPublicKey);
  ephemeral.privateKey.fill(0);
  if (shared === undefined) {
    throw new InvalidInputError("recipientPublicKey is a low-order X25519 point", {
      details: "the shared secret would be all zeros",
    });
  }

  const slot = new Uint8Array(KEY_SLOT_LENGTH);
  slot[0] = KEY_SLOT_VERSION;
  writeU32BE(slot, 1, recipientKeyVersion);
  slot.set(ephemeral.publicKey, 5);
  const kek = keyEncryptionKey(shared, ephemeral.publicKey, recipientPublicKey, contextBytes);
  shared.fill(0);
  const ad = concat(slot.subarray(0, SLOT_PREFIX_LENGTH), contextBytes);
  slot.set(chacha20poly1305(kek, ZERO_NONCE, ad).encrypt(dataKey), SLOT_PREFIX_LENGTH);
  kek.fill(0);
  return slot;
}

/**
 * Recovers the data key from a key slot with the recipient's private key. Throws
 * DecryptionError when the slot was tampered with, is for another key or key version, or is bound
 * to another context; InvalidInputError for wrong lengths; UnsupportedFormatError for an unknown
 * slot version.
 *
 * @example
 * ```ts
 * import { openBytes, unwrapDataKey } from "medledger";
 * const key = unwrapDataKey({ slot, recipientPrivateKey: me.x25519.privateKey, context });
 * const plaintext = await openBytes(envelope, { key, context });
 * ```
 */
export function unwrapDataKey(params: UnwrapDataKeyParams): Uint8Array {
  if (typeof params !== "object" || params === null)
    throw new InvalidInputError("unwrapDataKey expects a parameter object");
  const { slot, recipientPrivateKey, context, recipientKeyVersion } = params;
  const parsed = parseKeySlot(slot);
  assertBytes(recipientPrivateKey, "recipientPrivateKey", X25519_KEY_LENGTH);
  const contextBytes = encodeContext(context);
  if (recipientKeyVersion !== undefined) {
    assertInteger(recipientKeyVersion, "recipientKeyVersion", 0, MAX_KEY_VERSION);
    if (parsed.recipientKeyVersion !== recipientKeyVersion) {
      throw new DecryptionError("Key slot is wrapped for another key version", {
        details: `slot key version ${parsed.recipientKeyVersion}, expected ${recipientKeyVersion}`,
      });
    }
  }

  const recipientPublicKey = x25519Backend().publicKey(recipientPrivateKey);
  const shared = sharedSecret(recipientPrivateKey, parsed.ephemeralPublicKey);
  if (shared === undefined) {
    throw new DecryptionError("Key slot has an invalid (low-order) ephemeral public key");
  }
  const kek = keyEncryptionKey(shared, parsed.ephemeralPublicKey, recipientPublicKey, contextBytes);
  shared.fill(0);
  const ad = concat(slot.subarray(0, SLOT_PREFIX_LENGTH), contextBytes);
  try {
    return chacha20poly1305(kek, ZERO_NONCE, ad).decrypt(parsed.sealedKey);
  } catch (err) {
    throw new DecryptionError("Key slot failed authentication: wrong private key, wrong context or tampered slot", {
      cause: err,
    });
  } finally {
    kek.fill(0);
  }
}
