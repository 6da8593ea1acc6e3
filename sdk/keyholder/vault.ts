/**
 * A keyholder's audit key and what it protects. Each keyholder draws one 32-byte audit key (CSPRNG)
 * when its database is created and keeps it sealed to its own X25519 key (an opening slot of kind
 * "secret", `sdk/sealed/openings.ts`, in the store's metadata). Three sub-keys are derived from it:
 *
 * ```
 * macKey   = HKDF-SHA256(auditKey, salt = ∅, info = "medledger/keyholder/audit/v1/log-mac")    keys the log's hash chain
 * entryKey = HKDF-SHA256(auditKey, salt = ∅, info = "medledger/keyholder/audit/v1/log-entry")  seals log entries at rest
 * vaultKey = HKDF-SHA256(auditKey, salt = ∅, info = "medledger/keyholder/audit/v1/vault")      seals openings at rest
 * sealed   = nonce (12, random) ‖ ChaCha20-Poly1305(key, nonce, AD = label ‖ context)(plaintext)
 * ```
 *
 * An auditor (an active AUDITOR of a REGULATOR organization, or of the keyholder's own
 * organization) receives the audit key sealed to its registered X25519 key with every export, so
 * it can verify the log's chain against the on-chain anchors, read the entries, and open the
 * openings to re-derive every sealed decision. Without the key, the anchored heads (HMACs) let no
 * one test guesses about entries, and a stolen database or backup shows neither entries nor labels.
 *
 * @example
 * ```ts
 * import { deriveAuditKeys, openVault } from "medledger/keyholder";
 * const { vaultKey } = deriveAuditKeys(auditKey);
 * ```
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "ethers";

import { ascii, assertBytes, concat, fromHex, toHex } from "../crypto/bytes.js";
import { DecryptionError } from "../errors.js";
import type { Hex } from "../types.js";

export interface AuditKeys {
  macKey: Uint8Array;
  entryKey: Uint8Array;
  vaultKey: Uint8Array;
}

const derive = (key: Uint8Array, what: string) =>
  hkdf(sha256, key, undefined, ascii(`medledger/keyholder/audit/v1/${what}`), 32);

export function deriveAuditKeys(auditKey: Uint8Array): AuditKeys {
  assertBytes(auditKey, "auditKey", 32);
  return {
    macKey: derive(auditKey, "log-mac"),
    entryKey: derive(auditKey, "log-entry"),
    vaultKey: derive(auditKey, "vault"),
  };
}

function seal(key: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Hex {
  const nonce = randomBytes(12);
  return toHex(concat(nonce, chacha20poly1305(key, nonce, ad).encrypt(plaintext))) as Hex;
}

function open(key: Uint8Array, ad: Uint8Array, sealed: string, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(sealed, what);
    if (bytes.length < 28) throw new Error("too short");
    return chacha20poly1305(key, bytes.subarray(0, 12), ad).decrypt(bytes.subarray(12));
  } catch (cause) {
    throw new DecryptionError(`The sealed ${what} does not open: wrong key, wrong context or tampered`, { cause });
  }
}

const ENTRY_LABEL = ascii("medledger/keyholder/log-entry/v1");
const VAULT_LABEL = ascii("medledger/keyholder/vault/v1");

const seqBytes = (seq: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(seq));
  return b;
};

/** Seals one log entry's canonical JSON (bound to its sequence number). */
export function sealLogEntry(entryKey: Uint8Array, seq: number, json: string): Hex {
  return seal(entryKey, concat(ENTRY_LABEL, seqBytes(seq)), new TextEncoder().encode(json));
}

export function openLogEntry(entryKey: Uint8Array, seq: number, sealed: string): string {
  return new TextDecoder().decode(open(entryKey, concat(ENTRY_LABEL, seqBytes(seq)), sealed, "log entry"));
}

const vaultContext = (kind: number, subject: Hex, id: Hex) =>
  concat(VAULT_LABEL, Uint8Array.of(kind), fromHex(subject, "subject", 32), fromHex(id, "id", 32));

/** Seals an opening's payload at rest (bound to its kind, subject and record or consent id). */
export function sealVault(vaultKey: Uint8Array, kind: number, subject: Hex, id: Hex, payload: Uint8Array): Hex {
  return seal(vaultKey, vaultContext(kind, subject, id), payload);
}

export function openVault(vaultKey: Uint8Array, kind: number, subject: Hex, id: Hex, sealed: string): Uint8Array {
  return open(vaultKey, vaultContext(kind, subject, id), sealed, "opening");
}
