/**
 * X25519 for the keyholder's hot path: the same function as `sdk/crypto/keyslot.ts` (RFC 7748,
 * low-order points refused), but with node:crypto KeyObjects cached — the keyholder's own private
 * key and readers' registered public keys recur on every request, and an ephemeral pair is one
 * `generateKeyPairSync` call — so a release does three native key operations instead of about ten.
 * Falls back to @noble/curves where node:crypto is absent (browsers). A test checks both agree.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type * as NodeCrypto from "node:crypto";

import { concat, isAllZero } from "../crypto/bytes.js";
import { nodeBuiltin } from "../crypto/platform.js";
import { DecryptionError, InvalidInputError } from "../errors.js";

const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);
const CACHE_LIMIT = 4096;
const ZERO_NONCE = new Uint8Array(12);

const nodeCrypto = nodeBuiltin<typeof NodeCrypto>("node:crypto");
// Private keys are cached by array identity (a WeakMap: no copy of the key as a string).
const privateObjects = new WeakMap<Uint8Array, NodeCrypto.KeyObject>();
const publicOfPrivate = new WeakMap<Uint8Array, Uint8Array>();
const publicObjects = new Map<string, NodeCrypto.KeyObject>();

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function remember<V>(map: Map<string, V>, key: string, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value as string);
    map.set(key, (v = make()));
  }
  return v;
}

function lowOrder(): never {
  throw new InvalidInputError("X25519 public key is a low-order point", {
    details: "the shared secret would be all zeros",
  });
}

/** The public key of a 32-byte X25519 private key. */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  if (nodeCrypto === undefined) return x25519.getPublicKey(privateKey);
  let pub = publicOfPrivate.get(privateKey);
  if (pub === undefined) {
    const obj = nodeCrypto.createPublicKey(privateObject(privateKey));
    pub = new Uint8Array(obj.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length));
    publicOfPrivate.set(privateKey, pub);
  }
  return pub;
}

function privateObject(privateKey: Uint8Array): NodeCrypto.KeyObject {
  let obj = privateObjects.get(privateKey);
  if (obj === undefined) {
    const der = concat(PKCS8_PREFIX, privateKey);
    obj = nodeCrypto!.createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
    der.fill(0);
    privateObjects.set(privateKey, obj);
  }
  return obj;
}

function publicObject(publicKey: Uint8Array, cache: boolean): NodeCrypto.KeyObject {
  const make = () =>
    nodeCrypto!.createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, publicKey)), format: "der", type: "spki" });
  return cache ? remember(publicObjects, hex(publicKey), make) : make();
}

/**
 * The shared secret of a long-lived private key (cached) and a public key (cached when
 * `cachePublic`, e.g. a reader's registered key; not for one-off ephemeral keys).
 */
export function sharedSecret(privateKey: Uint8Array, publicKey: Uint8Array, cachePublic = false): Uint8Array {
  let shared: Uint8Array;
  try {
    shared =
      nodeCrypto === undefined
        ? x25519.getSharedSecret(privateKey, publicKey)
        : new Uint8Array(
            nodeCrypto.diffieHellman({
              privateKey: privateObject(privateKey),
              publicKey: publicObject(publicKey, cachePublic),
            }),
          );
  } catch {
    return lowOrder();
  }
  if (isAllZero(shared)) lowOrder();
  return shared;
}

/** A fresh ephemeral key pair's public key and its shared secret with `recipient` (cached object). */
export function ephemeralAgreement(recipient: Uint8Array): { ephemeralPublicKey: Uint8Array; shared: Uint8Array } {
  if (nodeCrypto === undefined) {
    const e = x25519.utils.randomSecretKey();
    const out = { ephemeralPublicKey: x25519.getPublicKey(e), shared: sharedSecretNoble(e, recipient) };
    e.fill(0);
    return out;
  }
  const pair = nodeCrypto.generateKeyPairSync("x25519");
  let shared: Uint8Array;
  try {
    shared = new Uint8Array(
      nodeCrypto.diffieHellman({ privateKey: pair.privateKey, publicKey: publicObject(recipient, true) }),
    );
  } catch {
    return lowOrder();
  }
  if (isAllZero(shared)) lowOrder();
  const ephemeralPublicKey = new Uint8Array(
    pair.publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length),
  );
  return { ephemeralPublicKey, shared };
}

function sharedSecretNoble(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    const s = x25519.getSharedSecret(privateKey, publicKey);
    if (isAllZero(s)) lowOrder();
    return s;
  } catch {
    return lowOrder();
  }
}

/**
 * The key-slot construction (`sdk/crypto/keyslot.ts`) for any header, payload and binding: shares
 * (shares.ts) and openings (sdk/sealed/openings.ts) both use it.
 *
 * ```
 * box  = header ‖ E (32) ‖ ChaCha20-Poly1305(kek, nonce = 0¹², AD = header ‖ E ‖ binding)(payload)
 * kek  = HKDF-SHA256(X25519(e, R), salt = E ‖ R, info = info)
 * ```
 *
 * A fresh ephemeral key per box, so the all-zero nonce is used once per kek.
 */
export function sealBox(p: {
  header: Uint8Array;
  recipientPublicKey: Uint8Array;
  info: Uint8Array;
  binding: Uint8Array;
  payload: Uint8Array;
}): Uint8Array {
  const { ephemeralPublicKey, shared } = ephemeralAgreement(p.recipientPublicKey);
  const prefix = concat(p.header, ephemeralPublicKey);
  const kek = hkdf(sha256, shared, concat(ephemeralPublicKey, p.recipientPublicKey), p.info, 32);
  shared.fill(0);
  const sealed = chacha20poly1305(kek, ZERO_NONCE, concat(prefix, p.binding)).encrypt(p.payload);
  kek.fill(0);
  return concat(prefix, sealed);
}

/** Opens a {@link sealBox} box; DecryptionError (`what` names it) for a wrong key, binding or any flipped bit. */
export function openBox(p: {
  box: Uint8Array;
  headerLength: number;
  recipientPrivateKey: Uint8Array;
  info: Uint8Array;
  binding: Uint8Array;
  what: string;
}): Uint8Array {
  const prefixLength = p.headerLength + 32;
  const ephemeral = p.box.subarray(p.headerLength, prefixLength);
  let shared: Uint8Array;
  try {
    shared = sharedSecret(p.recipientPrivateKey, ephemeral);
  } catch (cause) {
    throw new DecryptionError(`${p.what} has an invalid ephemeral key`, { cause });
  }
  const kek = hkdf(sha256, shared, concat(ephemeral, publicKeyOf(p.recipientPrivateKey)), p.info, 32);
  shared.fill(0);
  try {
    return chacha20poly1305(kek, ZERO_NONCE, concat(p.box.subarray(0, prefixLength), p.binding)).decrypt(
      p.box.subarray(prefixLength),
    );
  } catch (cause) {
    throw new DecryptionError(`${p.what} failed authentication: wrong key, wrong context or tampered`, { cause });
  } finally {
    kek.fill(0);
  }
}
