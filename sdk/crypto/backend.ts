/**
 * ChaCha20-Poly1305 (RFC 8439) backends for the envelope.
 *
 * Two implementations produce byte-identical output (a test proves it):
 * - {@link nodeCryptoBackend}: OpenSSL through `node:crypto`, the fast path on Node, Deno and Bun.
 * - {@link nobleBackend}: `@noble/ciphers`, pure JavaScript, for browsers.
 *
 * Browser safety: this module never imports `node:crypto` statically (only its types, which are
 * erased). The Node backend reaches the module through `process.getBuiltinModule("node:crypto")`
 * (see platform.ts; Node ≥ 22.3, Deno, Bun), which is synchronous, needs no top-level await and
 * no separate entry point, and is simply absent in a browser, where {@link defaultBackend} then
 * returns {@link nobleBackend}.
 */
import type * as NodeCrypto from "node:crypto";

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

import { DecryptionError, DependencyMissingError, InvalidInputError } from "../errors.js";
import { assertBytes } from "./bytes.js";
import { nodeBuiltin } from "./platform.js";

/** Key length of ChaCha20-Poly1305, in bytes. */
export const AEAD_KEY_LENGTH = 32;
/** Nonce length of ChaCha20-Poly1305 (RFC 8439), in bytes. */
export const AEAD_NONCE_LENGTH = 12;
/** Poly1305 tag length, in bytes. */
export const AEAD_TAG_LENGTH = 16;

/**
 * ChaCha20-Poly1305 under one key, prepared once and then used for many chunks.
 *
 * Implementations check nothing: the envelope has validated lengths before it calls them.
 */
export interface BoundAead {
  /**
   * Encrypts `plaintext` and returns `ciphertext || tag` as one or more pieces that are meant to
   * be written back to back (node:crypto returns the 16-byte tag separately; handing it on
   * without concatenating saves a copy of every chunk).
   */
  seal(nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): readonly Uint8Array[];
  /**
   * Verifies the tag (the last 16 bytes of `sealed`) and only then returns the plaintext.
   * Throws {@link DecryptionError} when authentication fails; never returns unauthenticated bytes.
   */
  open(nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array;
}

/** A ChaCha20-Poly1305 implementation. */
export interface CipherBackend {
  /** "node:crypto" or "noble". */
  readonly name: string;
  /** Prepares `key` (32 bytes) for many seal/open calls. */
  bind(key: Uint8Array): BoundAead;
  /** One-shot AEAD encryption: returns `ciphertext || tag` (plaintext.length + 16 bytes). */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array;
  /** One-shot AEAD decryption of `ciphertext || tag`; throws DecryptionError when it does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array;
}

function checkArgs(key: Uint8Array, nonce: Uint8Array, data: Uint8Array, ad: Uint8Array, minData: number): void {
  assertBytes(key, "key", AEAD_KEY_LENGTH);
  assertBytes(nonce, "nonce", AEAD_NONCE_LENGTH);
  assertBytes(data, "data");
  assertBytes(ad, "ad");
  if (data.length < minData) {
    throw new InvalidInputError(`sealed data must be at least ${minData} bytes (ciphertext || 16-byte tag)`, {
      details: `got ${data.length} bytes`,
    });
  }
}

function joinPieces(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1 && pieces[0] !== undefined) return pieces[0];
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

function authFailed(cause?: unknown): DecryptionError {
  return new DecryptionError("Authentication failed: wrong key, wrong context or tampered data", { cause });
}

/** Completes a backend from its `bind`, adding checked one-shot `seal` and `open`. */
function makeBackend(name: string, bind: (key: Uint8Array) => BoundAead): CipherBackend {
  return {
    name,
    bind(key) {
      assertBytes(key, "key", AEAD_KEY_LENGTH);
      return bind(key);
    },
    seal(key, nonce, plaintext, ad) {
      checkArgs(key, nonce, plaintext, ad, 0);
      return joinPieces(bind(key).seal(nonce, plaintext, ad));
    },
    open(key, nonce, sealed, ad) {
      checkArgs(key, nonce, sealed, ad, AEAD_TAG_LENGTH);
      return bind(key).open(nonce, sealed, ad);
    },
  };
}

/**
 * ChaCha20-Poly1305 from `@noble/ciphers` (pure JavaScript; runs everywhere).
 *
 * @example
 * ```ts
 * import { nobleBackend, sealBytes } from "medledger";
 * const envelope = await sealBytes(plaintext, { key, context, backend: nobleBackend });
 * ```
 */
export const nobleBackend: CipherBackend = makeBackend("noble", (key) => {
  // noble borrows key/nonce/AD by reference until encrypt/decrypt returns; keep our own key copy.
  const k = key.slice();
  return {
    seal(nonce, plaintext, ad) {
      return [chacha20poly1305(k, nonce, ad).encrypt(plaintext)];
    },
    open(nonce, sealed, ad) {
      try {
        // noble computes and compares the tag before it decrypts anything.
        return chacha20poly1305(k, nonce, ad).decrypt(sealed);
      } catch (err) {
        throw authFailed(err);
      }
    },
  };
});

type NodeCryptoModule = typeof NodeCrypto;

let nodeCryptoCache: NodeCryptoModule | null | undefined;

/** `node:crypto` when the platform has it and it implements chacha20-poly1305; null otherwise. */
function loadNodeCrypto(): NodeCryptoModule | null {
  if (nodeCryptoCache !== undefined) return nodeCryptoCache;
  const candidate = nodeBuiltin<NodeCryptoModule>("node:crypto");
  nodeCryptoCache = candidate !== undefined && candidate.getCiphers().includes("chacha20-poly1305") ? candidate : null;
  return nodeCryptoCache;
}

function requireNodeCrypto(): NodeCryptoModule {
  const mod = loadNodeCrypto();
  if (mod === null) {
    throw new DependencyMissingError("node:crypto with chacha20-poly1305 is not available on this platform", {
      details: "use nobleBackend (the default picks it automatically)",
    });
  }
  return mod;
}

/** A plain Uint8Array over a Buffer's bytes, without copying when the Buffer owns its memory. */
function plainView(buf: Buffer): Uint8Array {
  // node:crypto allocates output exactly; a pooled Buffer would share its ArrayBuffer with other
  // data, so copy in that (unexpected) case rather than expose the pool through `.buffer`.
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) {
    return new Uint8Array(buf.buffer, 0, buf.length);
  }
  return new Uint8Array(buf);
}

/**
 * ChaCha20-Poly1305 from `node:crypto` (OpenSSL): several times faster than pure JavaScript.
 * Throws DependencyMissingError when used on a platform without `node:crypto`.
 *
 * @example
 * ```ts
 * import { nodeCryptoBackend, sealBytes } from "medledger";
 * const envelope = await sealBytes(plaintext, { key, context, backend: nodeCryptoBackend });
 * ```
 */
export const nodeCryptoBackend: CipherBackend = makeBackend("node:crypto", (key) => {
  const nodeCrypto = requireNodeCrypto();
  // A KeyObject is set up once per key; passing raw bytes to createCipheriv costs ~30 % per chunk.
  const keyObject = nodeCrypto.createSecretKey(key);
  const options = { authTagLength: AEAD_TAG_LENGTH } as const;
  return {
    seal(nonce, plaintext, ad) {
      const cipher = nodeCrypto.createCipheriv("chacha20-poly1305", keyObject, nonce, options);
      cipher.setAAD(ad, { plaintextLength: plaintext.length });
      const ciphertext = cipher.update(plaintext);
      cipher.final();
      const tag = cipher.getAuthTag();
      return ciphertext.length === 0 ? [plainView(tag)] : [plainView(ciphertext), plainView(tag)];
    },
    open(nonce, sealed, ad) {
      const split = sealed.length - AEAD_TAG_LENGTH;
      const decipher = nodeCrypto.createDecipheriv("chacha20-poly1305", keyObject, nonce, options);
      decipher.setAAD(ad, { plaintextLength: split });
      decipher.setAuthTag(sealed.subarray(split));
      // update() decrypts before the tag is checked: its output is released only after final()
      // has verified the tag, and dropped (zeroed) otherwise.
      const plaintext = decipher.update(sealed.subarray(0, split));
      try {
        decipher.final();
      } catch (err) {
        plaintext.fill(0);
        throw authFailed(err);
      }
      return plainView(plaintext);
    },
  };
});

/**
 * True when {@link nodeCryptoBackend} can run on this platform (`node:crypto` with
 * chacha20-poly1305 is reachable).
 *
 * @example
 * ```ts
 * import { hasNodeCrypto, nobleBackend, nodeCryptoBackend } from "medledger";
 * const backend = hasNodeCrypto() ? nodeCryptoBackend : nobleBackend;
 * ```
 */
export function hasNodeCrypto(): boolean {
  return loadNodeCrypto() !== null;
}

/**
 * The fastest backend available: {@link nodeCryptoBackend} when `node:crypto` implements
 * chacha20-poly1305, {@link nobleBackend} otherwise (browsers).
 *
 * @example
 * ```ts
 * import { defaultBackend } from "medledger";
 * console.log(defaultBackend().name); // "node:crypto" on Node, "noble" in a browser
 * ```
 */
export function defaultBackend(): CipherBackend {
  return hasNodeCrypto() ? nodeCryptoBackend : nobleBackend;
}
