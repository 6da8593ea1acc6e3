/**
 * MedLedger crypto: sealed envelopes (chunked ChaCha20-Poly1305 STREAM), key slots (X25519 +
 * HKDF-SHA256 + ChaCha20-Poly1305) and the passphrase-encrypted identity keystore.
 *
 * Everything here loads in a browser bundle: Node built-ins (`node:crypto`, `node:fs`) are reached
 * lazily through `process.getBuiltinModule`, never imported statically.
 *
 * @example
 * ```ts
 * import { generateDataKey, sealBytes, wrapDataKey, unwrapDataKey, openBytes } from "medledger";
 * const key = generateDataKey();
 * const envelope = await sealBytes(content, { key, context });
 * const slot = wrapDataKey({ dataKey: key, recipientPublicKey, recipientKeyVersion: 1, context });
 * const reopened = await openBytes(envelope, { key: unwrapDataKey({ slot, recipientPrivateKey, context }), context });
 * ```
 */
export {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  defaultBackend,
  hasNodeCrypto,
  nobleBackend,
  nodeCryptoBackend,
} from "./backend.js";
export type { BoundAead, CipherBackend } from "./backend.js";
export { CONTEXT_ENCODED_LENGTH, encodeContext } from "./context.js";
export type { EnvelopeContext } from "./context.js";
export {
  DATA_KEY_LENGTH,
  DEFAULT_CHUNK_SIZE,
  ENVELOPE_ALGORITHM_CHACHA20_POLY1305,
  ENVELOPE_HEADER_LENGTH,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  envelopeSize,
  generateDataKey,
  openBytes,
  openStream,
  parseEnvelopeHeader,
  sealBytes,
  sealStream,
} from "./envelope.js";
export type { EnvelopeHeader, OpenOptions, SealOptions } from "./envelope.js";
export {
  KEY_SLOT_LENGTH,
  KEY_SLOT_VERSION,
  MAX_KEY_VERSION,
  X25519_KEY_LENGTH,
  generateX25519KeyPair,
  parseKeySlot,
  unwrapDataKey,
  wrapDataKey,
  x25519PublicKey,
  x25519SharedSecret,
} from "./keyslot.js";
export type { KeySlot, UnwrapDataKeyParams, WrapDataKeyParams, X25519KeyPair } from "./keyslot.js";
export {
  DEFAULT_SCRYPT_PARAMS,
  KEYSTORE_KIND,
  KEYSTORE_VERSION,
  MAX_SCRYPT_N,
  MIN_SCRYPT_N,
  createIdentity,
  decryptKeystore,
  encryptKeystore,
  ethereumAddress,
  identityFromKeys,
} from "./keystore.js";
export type { Identity, KeystoreOptions, ScryptParams } from "./keystore.js";
export { loadKeystore, saveKeystore } from "./keystore-file.js";
export type { SaveKeystoreOptions } from "./keystore-file.js";
export { secureRandom } from "./random.js";
export type { RandomSource } from "./random.js";
