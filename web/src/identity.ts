/**
 * The participant's key, in this page's memory only. The identity keystore file is read with the
 * File API and decrypted HERE with the passphrase (scrypt + XChaCha20-Poly1305, the SDK's keystore
 * code): neither the file, the passphrase nor the key is ever sent. Only signatures leave: the
 * sign-in message (EIP-191) and revocations (EIP-712). The key is dropped on sign-out, and is gone
 * when the page is closed or reloaded.
 */
import { SigningKey } from "ethers/crypto";
import { TypedDataEncoder, hashMessage } from "ethers/hash";
import type { TypedDataDomain, TypedDataField } from "ethers/hash";

import { decryptKeystore } from "../../sdk/crypto/keystore.js";

let key: SigningKey | undefined;
let address: string | undefined;

function hex(bytes: Uint8Array): string {
  let s = "0x";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Decrypts a keystore file's text with its passphrase; keeps the key in memory. */
export async function unlock(text: string, passphrase: string): Promise<string> {
  const identity = await decryptKeystore(text, passphrase);
  key = new SigningKey(hex(identity.signingKey));
  identity.signingKey.fill(0);
  identity.x25519.privateKey.fill(0);
  address = identity.address.toLowerCase();
  return address;
}

export function unlockedAddress(): string | undefined {
  return address;
}

export function forget(): void {
  key = undefined;
  address = undefined;
}

function need(): SigningKey {
  if (key === undefined) throw new Error("Unlock your identity first");
  return key;
}

/** An EIP-191 personal-message signature (the sign-in). */
export function signMessage(message: string): string {
  return need().sign(hashMessage(message)).serialized;
}

/** An EIP-712 signature. */
export function signTypedData(
  domain: TypedDataDomain,
  types: Record<string, TypedDataField[]>,
  message: Record<string, unknown>,
): string {
  return need().sign(TypedDataEncoder.hash(domain, types, message)).serialized;
}
