/**
 * Identity keystore: a participant's secp256k1 signing key (the Ethereum account) and X25519
 * key-slot key, with its registered key version, in one passphrase-encrypted JSON document.
 *
 * ## Format, version 1
 *
 * ```json
 * {
 *   "version": 1,
 *   "kind": "medledger-identity",
 *   "address": "0x…",                  EIP-55 address of the signing key
 *   "x25519PublicKey": "0x…",          32 bytes
 *   "keyVersion": 1,                   uint32, the registered version of the X25519 key
 *   "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "0x…" (32 bytes) },
 *   "check": "0x…",                    32 bytes, passphrase check (see below)
 *   "cipher": { "name": "xchacha20-poly1305", "nonce": "0x…" (24 bytes), "ciphertext": "0x…" (80 bytes) }
 * }
 * ```
 *
 * ```
 * pass      = UTF-8(NFKC(passphrase))
 * master    = scrypt(pass, salt, N, r, p, dkLen = 32)
 * encKey    = HKDF-SHA256(IKM = master, salt = none, info = "medledger/keystore/v1/encrypt", L = 32)
 * check     = HKDF-SHA256(IKM = master, salt = none, info = "medledger/keystore/v1/check",   L = 32)
 * AD        = "medledger/keystore/v1" || N (u32) || r (u32) || p (u32) || salt (32)
 *             || address (20) || x25519PublicKey (32) || keyVersion (u32)        (integers big-endian)
 * ciphertext = XChaCha20-Poly1305(encKey, nonce, AD).seal(signingKey (32) || x25519PrivateKey (32))
 * ```
 *
 * The `check` value tells a wrong passphrase ({@link WrongPassphraseError}) from a file whose
 * ciphertext, address, public key or key version was altered ({@link IntegrityError}). It gives an
 * attacker nothing the ciphertext would not: each guess still costs one scrypt. Altered `N`, `r`,
 * `p` or `salt` change the derived key, so they are reported as a wrong passphrase. scrypt
 * parameters are validated before any work (N a power of two in [2^10, 2^20], r in [1, 32], p in
 * [1, 16], at most 1 GiB of memory), so a hostile file cannot make a reader allocate without bound.
 *
 * scrypt runs in `node:crypto` when available (native, off the main thread) and in
 * `@noble/hashes` otherwise (browsers); both give the same bytes.
 */
import type * as NodeCrypto from "node:crypto";

import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

import { IntegrityError, InvalidInputError, UnsupportedFormatError, WrongPassphraseError } from "../errors.js";
import { ascii, assertBytes, assertInteger, concat, equalBytes, fromHex, toHex, u32BE } from "./bytes.js";
import { MAX_KEY_VERSION, X25519_KEY_LENGTH, generateX25519KeyPair, x25519PublicKey } from "./keyslot.js";
import type { X25519KeyPair } from "./keyslot.js";
import { nodeBuiltin } from "./platform.js";
import { drawRandom } from "./random.js";
import type { RandomSource } from "./random.js";

/** The keystore format version this SDK writes and reads. */
export const KEYSTORE_VERSION = 1;
/** The `kind` of an identity keystore document. */
export const KEYSTORE_KIND = "medledger-identity";
/** Default scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB, about 0.3 s natively). */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/** Smallest scrypt N accepted (for tests; production files use the default). */
export const MIN_SCRYPT_N = 2 ** 10;
/** Largest scrypt N accepted. */
export const MAX_SCRYPT_N = 2 ** 20;

const SIGNING_KEY_LENGTH = 32;
const SALT_LENGTH = 32;
const NONCE_LENGTH = 24;
const PLAINTEXT_LENGTH = SIGNING_KEY_LENGTH + X25519_KEY_LENGTH;
const CIPHERTEXT_LENGTH = PLAINTEXT_LENGTH + 16;
const MAX_SCRYPT_MEMORY = 2 ** 30;
const AD_LABEL = ascii("medledger/keystore/v1");
const ENC_INFO = ascii("medledger/keystore/v1/encrypt");
const CHECK_INFO = ascii("medledger/keystore/v1/check");
const KDF_NAME = "scrypt";
const CIPHER_NAME = "xchacha20-poly1305";

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two in [2^10, 2^20]. */
  N: number;
  /** Block size, 1..32. */
  r: number;
  /** Parallelism, 1..16. */
  p: number;
}

/** A participant's keys. Keep it in memory only as long as needed. */
export interface Identity {
  /** secp256k1 private key (32 bytes): the Ethereum account that signs transactions and consents. */
  signingKey: Uint8Array;
  /** EIP-55 checksummed address of {@link Identity.signingKey}. */
  address: string;
  /** X25519 key pair that receives key slots; its public key is registered on chain. */
  x25519: X25519KeyPair;
  /** The registered version of the X25519 key (uint32). */
  keyVersion: number;
}

/** Options of {@link encryptKeystore}. */
export interface KeystoreOptions {
  /** scrypt cost; default {@link DEFAULT_SCRYPT_PARAMS}. Lower N (≥ 2^10) only in tests. */
  scrypt?: Partial<ScryptParams>;
  /** Randomness for salt and nonce; default the platform CSPRNG. */
  random?: RandomSource;
}

/** The JSON document (see the module doc). */
interface KeystoreJson {
  version: number;
  kind: string;
  address: string;
  x25519PublicKey: string;
  keyVersion: number;
  kdf: { name: string; N: number; r: number; p: number; salt: string };
  check: string;
  cipher: { name: string; nonce: string; ciphertext: string };
}

/** EIP-55 mixed-case checksum encoding of a 20-byte address. */
function checksumAddress(address: Uint8Array): string {
  const hex = toHex(address).slice(2);
  const hash = keccak_256(ascii(hex));
  let out = "0x";
  for (let i = 0; i < hex.length; i++) {
    const nibble = ((hash[i >> 1] ?? 0) >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    const char = hex[i] ?? "";
    out += nibble >= 8 ? char.toUpperCase() : char;
  }
  return out;
}

function addressBytesOf(signingKey: Uint8Array): Uint8Array {
  const uncompressed = secp256k1.getPublicKey(signingKey, false);
  return keccak_256(uncompressed.subarray(1)).slice(12);
}

/**
 * The EIP-55 Ethereum address of a secp256k1 private key: the last 20 bytes of keccak256 of the
 * uncompressed public key (without its 0x04 prefix).
 *
 * @example
 * ```ts
 * import { ethereumAddress } from "medledger";
 * ethereumAddress(identity.signingKey) === identity.address; // true
 * ```
 */
export function ethereumAddress(signingKey: Uint8Array): string {
  assertSigningKey(signingKey);
  return checksumAddress(addressBytesOf(signingKey));
}

function assertSigningKey(signingKey: unknown): asserts signingKey is Uint8Array {
  assertBytes(signingKey, "signingKey", SIGNING_KEY_LENGTH);
  if (!secp256k1.utils.isValidSecretKey(signingKey)) {
    throw new InvalidInputError("signingKey is not a valid secp256k1 private key", {
      details: "it must be in [1, n - 1]",
    });
  }
}

/**
 * Creates a new identity: a random secp256k1 signing key, a random X25519 key pair, key version 1.
 *
 * @example
 * ```ts
 * import { createIdentity, encryptKeystore } from "medledger";
 * const identity = createIdentity();
 * const json = await encryptKeystore(identity, passphrase);
 * ```
 */
export function createIdentity(random?: RandomSource): Identity {
  let signingKey = drawRandom(SIGNING_KEY_LENGTH, random);
  // Out of range (zero or ≥ n) with probability ~2^-128; draw again rather than reduce (no bias).
  for (let attempt = 0; !secp256k1.utils.isValidSecretKey(signingKey); attempt++) {
    if (attempt >= 16) throw new InvalidInputError("random source keeps returning invalid secp256k1 keys");
    signingKey = drawRandom(SIGNING_KEY_LENGTH, random);
  }
  const x25519 = generateX25519KeyPair(random);
  return { signingKey, address: checksumAddress(addressBytesOf(signingKey)), x25519, keyVersion: 1 };
}

/**
 * Builds an identity from existing keys (for example an imported Ethereum account and a rotated
 * X25519 key), deriving the address and the X25519 public key.
 *
 * @example
 * ```ts
 * import { generateX25519KeyPair, identityFromKeys } from "medledger";
 * const rotated = identityFromKeys({
 *   signingKey: identity.signingKey,
 *   x25519PrivateKey: generateX25519KeyPair().privateKey,
 *   keyVersion: identity.keyVersion + 1,
 * });
 * ```
 */
export function identityFromKeys(keys: {
  signingKey: Uint8Array;
  x25519PrivateKey: Uint8Array;
  keyVersion: number;
}): Identity {
  if (typeof keys !== "object" || keys === null)
    throw new InvalidInputError("identityFromKeys expects a parameter object");
  assertSigningKey(keys.signingKey);
  assertBytes(keys.x25519PrivateKey, "x25519PrivateKey", X25519_KEY_LENGTH);
  assertInteger(keys.keyVersion, "keyVersion", 0, MAX_KEY_VERSION);
  const privateKey = keys.x25519PrivateKey.slice();
  return {
    signingKey: keys.signingKey.slice(),
    address: checksumAddress(addressBytesOf(keys.signingKey)),
    x25519: { privateKey, publicKey: x25519PublicKey(privateKey) },
    keyVersion: keys.keyVersion,
  };
}

/** Checks that the identity's public parts match its private keys. */
function assertIdentity(identity: Identity): { address: Uint8Array } {
  if (
    typeof identity !== "object" ||
    identity === null ||
    typeof identity.x25519 !== "object" ||
    identity.x25519 === null
  ) {
    throw new InvalidInputError(
      "identity must be { signingKey, address, x25519: { privateKey, publicKey }, keyVersion }",
    );
  }
  assertSigningKey(identity.signingKey);
  assertBytes(identity.x25519.privateKey, "identity.x25519.privateKey", X25519_KEY_LENGTH);
  assertBytes(identity.x25519.publicKey, "identity.x25519.publicKey", X25519_KEY_LENGTH);
  assertInteger(identity.keyVersion, "identity.keyVersion", 0, MAX_KEY_VERSION);
  const address = addressBytesOf(identity.signingKey);
  if (!equalBytes(fromHex(identity.address, "identity.address", 20), address)) {
    throw new InvalidInputError("identity.address does not match identity.signingKey");
  }
  if (!equalBytes(x25519PublicKey(identity.x25519.privateKey), identity.x25519.publicKey)) {
    throw new InvalidInputError("identity.x25519.publicKey does not match identity.x25519.privateKey");
  }
  return { address };
}

function resolveScrypt(params: Partial<ScryptParams> | undefined): ScryptParams {
  const resolved = { ...DEFAULT_SCRYPT_PARAMS, ...params };
  assertScrypt(resolved);
  return resolved;
}

/** Bounds scrypt's cost before any work, so a hostile file cannot exhaust memory or CPU. */
function assertScrypt(params: { N: unknown; r: unknown; p: unknown }): asserts params is ScryptParams {
  const { N, r, p } = params;
  const fail = (what: string, got: unknown): never => {
    throw new InvalidInputError(`scrypt ${what}`, { details: `got ${String(got)}` });
  };
  if (
    typeof N !== "number" ||
    !Number.isSafeInteger(N) ||
    N < MIN_SCRYPT_N ||
    N > MAX_SCRYPT_N ||
    (N & (N - 1)) !== 0
  ) {
    fail(`N must be a power of two in [2^10, 2^20]`, N);
  }
  if (typeof r !== "number" || !Number.isSafeInteger(r) || r < 1 || r > 32) fail("r must be an integer in [1, 32]", r);
  if (typeof p !== "number" || !Number.isSafeInteger(p) || p < 1 || p > 16) fail("p must be an integer in [1, 16]", p);
  if (128 * (N as number) * (r as number) > MAX_SCRYPT_MEMORY)
    fail("N * r needs more than 1 GiB of memory", `N=${String(N)} r=${String(r)}`);
}

function passphraseBytes(passphrase: unknown): Uint8Array {
  if (typeof passphrase !== "string" || passphrase.length === 0) {
    throw new InvalidInputError("passphrase must be a non-empty string");
  }
  // NFKC: the same passphrase typed on different keyboards/platforms gives the same bytes.
  return new TextEncoder().encode(passphrase.normalize("NFKC"));
}

async function scryptKey(password: Uint8Array, salt: Uint8Array, { N, r, p }: ScryptParams): Promise<Uint8Array> {
  const nodeCrypto = nodeBuiltin<typeof NodeCrypto>("node:crypto");
  if (nodeCrypto !== undefined && typeof nodeCrypto.scrypt === "function") {
    return await new Promise<Uint8Array>((resolve, reject) => {
      nodeCrypto.scrypt(
        password,
        salt,
        32,
        { N, r, p, maxmem: 2 * 128 * N * r + 128 * r * p + 1024 * 1024 },
        (err, key) => {
          if (err === null) resolve(new Uint8Array(key));
          else reject(err);
        },
      );
    });
  }
  return await scryptAsync(password, salt, { N, r, p, dkLen: 32, maxmem: 2 * 128 * N * r + 128 * r * p + 1024 * 1024 });
}

function associatedData(
  params: ScryptParams,
  salt: Uint8Array,
  address: Uint8Array,
  x25519Public: Uint8Array,
  keyVersion: number,
): Uint8Array {
  return concat(
    AD_LABEL,
    u32BE(params.N),
    u32BE(params.r),
    u32BE(params.p),
    salt,
    address,
    x25519Public,
    u32BE(keyVersion),
  );
}

/**
 * Encrypts an identity under a passphrase; returns the keystore JSON text (see the module doc).
 * Throws InvalidInputError when the identity's parts do not match or the scrypt parameters are
 * out of bounds.
 *
 * @example
 * ```ts
 * import { createIdentity, encryptKeystore } from "medledger";
 * const json = await encryptKeystore(createIdentity(), "correct horse battery staple");
 * ```
 */
export async function encryptKeystore(
  identity: Identity,
  passphrase: string,
  opts: KeystoreOptions = {},
): Promise<string> {
  const { address } = assertIdentity(identity);
  const password = passphraseBytes(passphrase);
  const params = resolveScrypt(opts.scrypt);
  const salt = drawRandom(SALT_LENGTH, opts.random);
  const nonce = drawRandom(NONCE_LENGTH, opts.random);

  const master = await scryptKey(password, salt, params);
  const encKey = hkdf(sha256, master, undefined, ENC_INFO, 32);
  const check = hkdf(sha256, master, undefined, CHECK_INFO, 32);
  master.fill(0);
  const ad = associatedData(params, salt, address, identity.x25519.publicKey, identity.keyVersion);
  const plaintext = concat(identity.signingKey, identity.x25519.privateKey);
  const ciphertext = xchacha20poly1305(encKey, nonce, ad).encrypt(plaintext);
  plaintext.fill(0);
  encKey.fill(0);

  const doc: KeystoreJson = {
    version: KEYSTORE_VERSION,
    kind: KEYSTORE_KIND,
    address: checksumAddress(address),
    x25519PublicKey: toHex(identity.x25519.publicKey),
    keyVersion: identity.keyVersion,
    kdf: { name: KDF_NAME, N: params.N, r: params.r, p: params.p, salt: toHex(salt) },
    check: toHex(check),
    cipher: { name: CIPHER_NAME, nonce: toHex(nonce), ciphertext: toHex(ciphertext) },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function asObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidInputError(`Keystore ${name} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Parses and validates the document's structure; no cryptography yet. */
function parseKeystore(json: string) {
  if (typeof json !== "string") throw new InvalidInputError("keystore must be a JSON string");
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new InvalidInputError("Keystore is not valid JSON", { cause: err });
  }
  const doc = asObject(raw, "document");
  if (doc.kind !== KEYSTORE_KIND) {
    throw new UnsupportedFormatError("Not a MedLedger identity keystore", {
      details: `kind is ${JSON.stringify(doc.kind) ?? "missing"}, expected "${KEYSTORE_KIND}"`,
    });
  }
  if (doc.version !== KEYSTORE_VERSION) {
    throw new UnsupportedFormatError(`Unsupported keystore version ${JSON.stringify(doc.version) ?? "(missing)"}`, {
      details: `this SDK reads version ${KEYSTORE_VERSION}`,
    });
  }
  const kdf = asObject(doc.kdf, "kdf");
  if (kdf.name !== KDF_NAME) {
    throw new UnsupportedFormatError(`Unsupported keystore KDF ${JSON.stringify(kdf.name) ?? "(missing)"}`, {
      details: `this SDK implements "${KDF_NAME}"`,
    });
  }
  const cipher = asObject(doc.cipher, "cipher");
  if (cipher.name !== CIPHER_NAME) {
    throw new UnsupportedFormatError(`Unsupported keystore cipher ${JSON.stringify(cipher.name) ?? "(missing)"}`, {
      details: `this SDK implements "${CIPHER_NAME}"`,
    });
  }
  const params = { N: kdf.N, r: kdf.r, p: kdf.p };
  assertScrypt(params);
  const keyVersion = doc.keyVersion;
  assertInteger(keyVersion, "keystore keyVersion", 0, MAX_KEY_VERSION);
  return {
    params,
    keyVersion,
    address: fromHex(doc.address, "keystore address", 20),
    x25519PublicKey: fromHex(doc.x25519PublicKey, "keystore x25519PublicKey", X25519_KEY_LENGTH),
    salt: fromHex(kdf.salt, "keystore kdf.salt", SALT_LENGTH),
    check: fromHex(doc.check, "keystore check", 32),
    nonce: fromHex(cipher.nonce, "keystore cipher.nonce", NONCE_LENGTH),
    ciphertext: fromHex(cipher.ciphertext, "keystore cipher.ciphertext", CIPHERTEXT_LENGTH),
  };
}

/**
 * Decrypts a keystore produced by {@link encryptKeystore}. Throws WrongPassphraseError for a wrong
 * passphrase, IntegrityError when the file was altered (ciphertext, address, public key, key
 * version) or its keys do not match its address, UnsupportedFormatError for an unknown
 * version/kind/algorithm, InvalidInputError for malformed JSON or out-of-bounds parameters.
 *
 * @example
 * ```ts
 * import { decryptKeystore, WrongPassphraseError } from "medledger";
 * try {
 *   const identity = await decryptKeystore(json, passphrase);
 * } catch (err) {
 *   if (err instanceof WrongPassphraseError) askAgain();
 * }
 * ```
 */
export async function decryptKeystore(json: string, passphrase: string): Promise<Identity> {
  const doc = parseKeystore(json);
  const password = passphraseBytes(passphrase);

  const master = await scryptKey(password, doc.salt, doc.params);
  const encKey = hkdf(sha256, master, undefined, ENC_INFO, 32);
  const check = hkdf(sha256, master, undefined, CHECK_INFO, 32);
  master.fill(0);
  if (!equalBytes(check, doc.check)) {
    encKey.fill(0);
    throw new WrongPassphraseError();
  }
  const ad = associatedData(doc.params, doc.salt, doc.address, doc.x25519PublicKey, doc.keyVersion);
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(encKey, doc.nonce, ad).decrypt(doc.ciphertext);
  } catch (err) {
    throw new IntegrityError("Keystore was altered: its ciphertext or metadata fails authentication", {
      details: "the passphrase is right; address, x25519PublicKey, keyVersion, nonce or ciphertext changed",
      cause: err,
    });
  } finally {
    encKey.fill(0);
  }

  const signingKey = plaintext.slice(0, SIGNING_KEY_LENGTH);
  const privateKey = plaintext.slice(SIGNING_KEY_LENGTH);
  plaintext.fill(0);
  if (!secp256k1.utils.isValidSecretKey(signingKey) || !equalBytes(addressBytesOf(signingKey), doc.address)) {
    throw new IntegrityError("Keystore signing key does not match its address");
  }
  const publicKey = x25519PublicKey(privateKey);
  if (!equalBytes(publicKey, doc.x25519PublicKey)) {
    throw new IntegrityError("Keystore X25519 private key does not match its public key");
  }
  return {
    signingKey,
    address: checksumAddress(doc.address),
    x25519: { privateKey, publicKey },
    keyVersion: doc.keyVersion,
  };
}
